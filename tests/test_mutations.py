"""Every mutation: what it writes, each of its failure cases, and that a failure writes nothing."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

from tests.conftest import Api
from tests.sources import SOURCES


def gid(type_name: str, key: object) -> str:
    return b64encode(f"{type_name}:{key}".encode()).decode()


CREATE_INITIATIVE = """mutation($input: CreateInitiativeInput!) { createInitiative(input: $input) {
    initiative { id slug name kind status summary crossOverThemes version updatedAt }
    errors { field message code } } }"""
UPDATE_INITIATIVE = """mutation($input: UpdateInitiativeInput!) { updateInitiative(input: $input) {
    initiative { id name status crossOverThemes version } errors { field message code } } }"""
ADD_INVOLVEMENT = """mutation($input: AddInvolvementInput!) { addInvolvement(input: $input) {
    involvement { id role description version participant { name } initiative { slug } }
    errors { field message code } } }"""
RECORD_FUSION = """mutation($input: RecordFusionInput!) { recordFusion(input: $input) {
    fusion { name kind effectiveOn dissolvedMunicipalities { code } resultingMunicipalities { code name foundedOn } }
    errors { field message code } } }"""


async def _last_sequence(api: Api) -> int:
    page = await api.data(
        "{ changes(afterSequence: 0, first: 1000) { nodes { sequence } pageInfo { hasNextPage } } }"
    )
    sequences = [node["sequence"] for node in page["changes"]["nodes"]]
    after = sequences[-1] if sequences else 0
    while page["changes"]["pageInfo"]["hasNextPage"]:
        page = await api.data(
            "query($a: Int) { changes(afterSequence: $a, first: 1000) { nodes { sequence } pageInfo { hasNextPage } } }",
            {"a": after},
        )
        after = page["changes"]["nodes"][-1]["sequence"]
    return after


def _errors(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def test_create_initiative(writer: Api) -> None:
    new = {"slug": "buurtkracht", "name": "Buurtkracht", "kind": "PILOT", "summary": "A test pilot.",
           "crossOverThemes": ["Wonen", "Zorg"], "sources": SOURCES}  # fmt: skip
    payload = (await writer.data(CREATE_INITIATIVE, {"input": new}))["createInitiative"]
    assert payload["errors"] == []
    initiative = payload["initiative"]
    assert (initiative["slug"], initiative["status"], initiative["version"]) == ("buurtkracht", "ACTIVE", 1)
    assert initiative["crossOverThemes"] == ["Wonen", "Zorg"]
    assert initiative["updatedAt"].endswith("+00:00")
    found = await writer.data('{ initiatives(filter: {theme: "zorg"}) { nodes { slug } } }')
    assert found["initiatives"]["nodes"] == [{"slug": "buurtkracht"}]

    again = (await writer.data(CREATE_INITIATIVE, {"input": new}))["createInitiative"]
    assert again["initiative"] is None
    assert _errors(again) == [(["input", "slug"], "DUPLICATE")]


async def test_create_initiative_reports_every_problem_and_writes_nothing(writer: Api) -> None:
    before = await _last_sequence(writer)
    bad = {"slug": "Not A Slug", "name": "  ", "kind": "PILOT", "summary": ""}
    payload = (await writer.data(CREATE_INITIATIVE, {"input": bad}))["createInitiative"]
    assert sorted(_errors(payload)) == [
        (["input", "name"], "INVALID"),
        (["input", "slug"], "INVALID"),
        (["input", "sources"], "SOURCE_REQUIRED"),
        (["input", "summary"], "INVALID"),
    ]
    assert all(error["message"].endswith(".") for error in payload["errors"])
    assert await _last_sequence(writer) == before


async def test_update_initiative_with_optimistic_concurrency(writer: Api) -> None:
    read = await writer.data('{ initiative(slug: "pilot-altena") { id version status } }')
    initiative = read["initiative"]
    update = {
        "id": initiative["id"],
        "version": initiative["version"],
        "status": "ACTIVE",
        "crossOverThemes": ["Bestuur"],
    }
    payload = (await writer.data(UPDATE_INITIATIVE, {"input": update}))["updateInitiative"]
    assert payload["errors"] == []
    assert payload["initiative"]["version"] == initiative["version"] + 1
    assert payload["initiative"]["crossOverThemes"] == ["Bestuur"]

    stale = (await writer.data(UPDATE_INITIATIVE, {"input": {**update, "status": "COMPLETED"}}))[
        "updateInitiative"
    ]
    assert _errors(stale) == [(["input", "version"], "CONFLICT")]
    now = await writer.data('{ initiative(slug: "pilot-altena") { status version } }')
    assert now["initiative"] == {"status": "ACTIVE", "version": initiative["version"] + 1}


async def test_update_initiative_failures(writer: Api) -> None:
    cases = [
        ({"id": gid("Initiative", "nope"), "version": 1}, (["input", "id"], "NOT_FOUND")),
        ({"id": "garbage", "version": 1}, (["input", "id"], "INVALID")),
        ({"id": gid("Municipality", "GM0879"), "version": 1}, (["input", "id"], "INVALID")),
        ({"id": gid("Initiative", "pilot-altena"), "version": 1, "name": ""}, (["input", "name"], "INVALID")),
    ]
    for update, expected in cases:
        payload = (await writer.data(UPDATE_INITIATIVE, {"input": update}))["updateInitiative"]
        assert _errors(payload) == [expected], update


async def test_delete_initiative_removes_its_involvements(writer: Api) -> None:
    before = await _last_sequence(writer)
    query = "mutation($id: ID!) { deleteInitiative(id: $id) { deletedId errors { code } } }"
    target = gid("Initiative", "sterk-brabant")
    assert (await writer.data(query, {"id": target}))["deleteInitiative"] == {
        "deletedId": target,
        "errors": [],
    }
    assert (await writer.post('{ initiative(slug: "sterk-brabant") { name } }'))["data"]["initiative"] is None
    zet = await writer.data('{ organization(slug: "zorgbelang") { involvements { totalCount } } }')
    assert zet["organization"]["involvements"]["totalCount"] == 0
    log = await writer.data(
        "query($a: Int) { changes(afterSequence: $a) { nodes { operation entityType entityId before } } }",
        {"a": before},
    )
    kinds = [(n["operation"], n["entityType"]) for n in log["changes"]["nodes"]]
    assert kinds == [("DELETED", "Involvement")] * 3 + [("DELETED", "Initiative")]
    assert log["changes"]["nodes"][-1]["entityId"] == target
    assert log["changes"]["nodes"][-1]["before"]["slug"] == "sterk-brabant"
    again = (await writer.data(query, {"id": target}))["deleteInitiative"]
    assert again == {"deletedId": None, "errors": [{"code": "NOT_FOUND"}]}


async def test_add_and_remove_involvement(writer: Api) -> None:
    new = {"initiativeId": gid("Initiative", "veerkrachtdialoog"), "participantId": gid("Municipality", "GM0794"),
           "role": "PARTNER", "description": "evaluatie", "sources": SOURCES}  # fmt: skip
    payload = (await writer.data(ADD_INVOLVEMENT, {"input": new}))["addInvolvement"]
    assert payload["errors"] == []
    involvement = payload["involvement"]
    assert involvement["participant"] == {"name": "Helmond"}
    assert (involvement["role"], involvement["description"], involvement["version"]) == (
        "PARTNER",
        "evaluatie",
        1,
    )
    duplicate = (await writer.data(ADD_INVOLVEMENT, {"input": new}))["addInvolvement"]
    assert _errors(duplicate) == [(["input", "role"], "DUPLICATE")]

    remove = "mutation($id: ID!) { removeInvolvement(id: $id) { deletedId errors { code field } } }"
    assert (await writer.data(remove, {"id": involvement["id"]}))["removeInvolvement"]["errors"] == []
    gone = (await writer.data(remove, {"id": involvement["id"]}))["removeInvolvement"]
    assert gone == {"deletedId": None, "errors": [{"code": "NOT_FOUND", "field": ["id"]}]}


async def test_add_involvement_failures(writer: Api) -> None:
    initiative, zundert = gid("Initiative", "veerkrachtdialoog"), gid("Municipality", "GM0879")
    cases = [
        ({"initiativeId": initiative, "participantId": initiative}, [(["input", "participantId"], "INVALID")]),
        ({"initiativeId": initiative, "participantId": gid("Municipality", "GM9999")}, [(["input", "participantId"], "NOT_FOUND")]),
        ({"initiativeId": gid("Initiative", "nope"), "participantId": "junk"},
         [(["input", "initiativeId"], "NOT_FOUND"), (["input", "participantId"], "INVALID")]),
        ({"initiativeId": initiative, "participantId": zundert, "description": " "}, [(["input", "description"], "INVALID")]),
    ]  # fmt: skip
    for case, expected in cases:
        payload = (
            await writer.data(ADD_INVOLVEMENT, {"input": {"role": "HOST", "sources": SOURCES, **case}})
        )["addInvolvement"]
        assert _errors(payload) == expected, case
        assert payload["involvement"] is None


async def test_create_organization(writer: Api) -> None:
    query = """mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) {
        organization { slug name kind website version } errors { field code } } }"""
    good = {
        "slug": "buurtteam-oss",
        "name": "Buurtteam Oss",
        "kind": "CITIZEN_GROUP",
        "website": "https://example.org/",
    }
    query_input = {**good, "sources": SOURCES}
    payload = (await writer.data(query, {"input": query_input}))["createOrganization"]
    assert payload["organization"] == {**good, "version": 1}
    assert _errors((await writer.data(query, {"input": query_input}))["createOrganization"]) == [
        (["input", "slug"], "DUPLICATE")
    ]
    bad = {"slug": "x-y", "name": "", "kind": "OTHER", "website": "javascript:alert(1)", "sources": SOURCES}
    assert sorted(_errors((await writer.data(query, {"input": bad}))["createOrganization"])) == [
        (["input", "name"], "INVALID"),
        (["input", "website"], "INVALID"),
    ]


async def test_record_a_merger_and_follow_it(writer: Api) -> None:
    merger = {"name": "Bernheze-Oss", "kind": "MERGER", "effectiveOn": "2026-01-01",
              "dissolvedCodes": ["GM1721", "GM0828"], "resultingCodes": ["GM9001"], "resultingName": "Testgemeente", "sources": SOURCES}  # fmt: skip
    payload = (await writer.data(RECORD_FUSION, {"input": merger}))["recordFusion"]
    assert payload["errors"] == []
    fusion = payload["fusion"]
    assert sorted(m["code"] for m in fusion["dissolvedMunicipalities"]) == ["GM0828", "GM1721"]
    assert fusion["resultingMunicipalities"] == [
        {"code": "GM9001", "name": "Testgemeente", "foundedOn": "2026-01-01"}
    ]
    data = await writer.data(
        """{ bernheze: municipality(code: "GM1721") { dissolvedOn active current { code } dissolvedBy { name } }
             new: municipality(code: "GM9001") { formedBy { name } predecessors { code }
               involvements(includePredecessors: true) { nodes { participant { name } initiative { slug } } } } }"""
    )
    assert data["bernheze"] == {"dissolvedOn": "2026-01-01", "active": False, "current": [{"code": "GM9001"}],
                                "dissolvedBy": {"name": "Bernheze-Oss"}}  # fmt: skip
    assert data["new"]["formedBy"] == {"name": "Bernheze-Oss"}
    assert {
        (n["participant"]["name"], n["initiative"]["slug"]) for n in data["new"]["involvements"]["nodes"]
    } == {("Bernheze", "pilot-energietransitie-smalle-beurs")}
    active = await writer.data('{ municipalities(filter: {activeOn: "2026-06-01"}) { totalCount } }')
    assert active["municipalities"]["totalCount"] == 55


async def test_record_fusion_failures_write_nothing(writer: Api) -> None:
    before = await _last_sequence(writer)
    cases = [
        ({"kind": "MERGER", "effectiveOn": "2026-01-01", "dissolvedCodes": ["GM1721", "GM9999"],
          "resultingCodes": ["GM9001"], "resultingName": "X"}, [(["input", "dissolvedCodes", "1"], "NOT_FOUND")]),
        ({"kind": "MERGER", "effectiveOn": "2026-01-01", "dissolvedCodes": ["GM1721", "GM0738"],
          "resultingCodes": ["GM9001"], "resultingName": "X"}, [(["input", "dissolvedCodes", "1"], "INVALID")]),
        ({"kind": "MERGER", "effectiveOn": "2021-06-01", "dissolvedCodes": ["GM1991"],
          "resultingCodes": ["GM9001"], "resultingName": "X"}, [(["input", "dissolvedCodes", "0"], "INVALID")]),
        ({"kind": "MERGER", "effectiveOn": "2026-01-01", "dissolvedCodes": ["GM1721"],
          "resultingCodes": ["GM0828"], "resultingName": "X"}, [(["input", "resultingCodes", "0"], "DUPLICATE")]),
        ({"kind": "MERGER", "effectiveOn": "2026-01-01", "dissolvedCodes": ["GM1721"],
          "resultingCodes": ["GM9001"]}, [(["input", "resultingName"], "INVALID")]),
        ({"kind": "SPLIT", "effectiveOn": "2026-01-01", "dissolvedCodes": ["GM1721"],
          "resultingCodes": ["GM0828", "GM0738"]}, [(["input", "resultingCodes", "1"], "INVALID")]),
        ({"kind": "MERGER", "effectiveOn": "2026-01-01", "dissolvedCodes": ["GM1721"],
          "resultingCodes": ["gm9001"], "resultingName": "X"}, [(["input", "resultingCodes", "0"], "INVALID")]),
    ]  # fmt: skip
    for case, expected in cases:
        payload = (await writer.data(RECORD_FUSION, {"input": {"name": "Test", "sources": SOURCES, **case}}))[
            "recordFusion"
        ]
        assert _errors(payload) == expected, case
        assert payload["fusion"] is None
    assert await _last_sequence(writer) == before
    still = await writer.data('{ municipality(code: "GM1721") { dissolvedOn } fusions { totalCount } }')
    assert still == {"municipality": {"dissolvedOn": None}, "fusions": {"totalCount": 6}}
    assert messages_are_sentences(
        await writer.data(RECORD_FUSION, {"input": {"name": "Test", "sources": SOURCES, **cases[1][0]}})
    )


def messages_are_sentences(data: dict[str, Any]) -> bool:
    return all(
        error["message"][0].isupper() and error["message"].endswith(".")
        for error in data["recordFusion"]["errors"]
    )
