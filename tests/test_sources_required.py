"""Facts need sources, also when written (issue 12, item 5): every mutation that adds a fact refuses to
write without a citation, checks a quote against the text of the document it cites, and writes nothing
(no row, no change-log entry) when it refuses."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import pytest

from tests.conftest import Api
from tests.sources import MEMO_ID, MEMO_QUOTE, SOURCES
from tests.test_mutations import _last_sequence


def gid(type_name: str, key: object) -> str:
    return b64encode(f"{type_name}:{key}".encode()).decode()


CITED = "sources { quote document { id title url date } }"
MUTATIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "createInitiative": (
        f"""mutation($input: CreateInitiativeInput!) {{ createInitiative(input: $input) {{
            initiative {{ slug {CITED} }} errors {{ field message code }} }} }}""",
        {"slug": "buurtkracht", "name": "Buurtkracht", "kind": "PILOT", "summary": "Een testpilot."},
        '{ initiatives(filter: {search: "buurtkracht"}) { totalCount } }',
    ),
    "addInvolvement": (
        f"""mutation($input: AddInvolvementInput!) {{ addInvolvement(input: $input) {{
            involvement {{ role {CITED} }} errors {{ field message code }} }} }}""",
        {
            "initiativeId": gid("Initiative", "veerkrachtdialoog"),
            "participantId": gid("Municipality", "GM0794"),
            "role": "PARTNER",
        },
        '{ initiative(slug: "veerkrachtdialoog") { involvements(filter: {roles: [PARTNER]}) { totalCount } } }',
    ),
    "createOrganization": (
        f"""mutation($input: CreateOrganizationInput!) {{ createOrganization(input: $input) {{
            organization {{ slug {CITED} }} errors {{ field message code }} }} }}""",
        {"slug": "buurtteam-oss", "name": "Buurtteam Oss", "kind": "CITIZEN_GROUP"},
        "{ organizations(first: 100) { totalCount } }",
    ),
    "recordFusion": (
        """mutation($input: RecordFusionInput!) { recordFusion(input: $input) {
            fusion { name sources { quote document { id title url date } }
              resultingMunicipalities { code sources { quote } } } errors { field message code } } }""",
        {
            "name": "Bernheze-Oss",
            "kind": "MERGER",
            "effectiveOn": "2030-01-01",
            "dissolvedCodes": ["GM1721", "GM0828"],
            "resultingCodes": ["GM9001"],
            "resultingName": "Testgemeente",
        },
        '{ fusions { totalCount } municipality(code: "GM1721") { dissolvedOn } }',
    ),
}


def _object(payload: dict[str, Any]) -> Any:
    (value,) = (value for key, value in payload.items() if key != "errors")
    return value


@pytest.mark.parametrize("mutation", list(MUTATIONS))
async def test_a_fact_without_a_source_is_refused_and_nothing_written(writer: Api, mutation: str) -> None:
    query, given, check = MUTATIONS[mutation]
    before_sequence, before_state = await _last_sequence(writer), await writer.data(check)
    no_sources: tuple[list[Any] | None, ...] = (None, [])
    for sources in no_sources:
        payload = (await writer.data(query, {"input": {**given, "sources": sources}}))[mutation]
        assert _object(payload) is None
        ((error),) = payload["errors"]
        assert (error["field"], error["code"]) == (["input", "sources"], "SOURCE_REQUIRED")
        assert "sources" in error["message"]
    omitted = (await writer.data(query, {"input": given}))[mutation]
    assert [error["code"] for error in omitted["errors"]] == ["SOURCE_REQUIRED"]
    assert await _last_sequence(writer) == before_sequence, "no change-log entry"
    assert await writer.data(check) == before_state, "no row"

    written = (await writer.data(query, {"input": {**given, "sources": SOURCES}}))[mutation]
    assert written["errors"] == []
    assert _object(written)["sources"] == [
        {
            "quote": MEMO_QUOTE,
            "document": {
                "id": MEMO_ID,
                "title": _object(written)["sources"][0]["document"]["title"],
                "url": _object(written)["sources"][0]["document"]["url"],
                "date": "2019-04-04",
            },
        }
    ]
    assert await writer.data(check) != before_state


async def test_the_new_municipality_of_a_merger_cites_the_fusions_sources(writer: Api) -> None:
    query, given, _ = MUTATIONS["recordFusion"]
    payload = (await writer.data(query, {"input": {**given, "sources": SOURCES}}))["recordFusion"]
    assert payload["fusion"]["resultingMunicipalities"] == [
        {"code": "GM9001", "sources": [{"quote": MEMO_QUOTE}]}
    ]


async def test_a_quote_must_be_the_documents_own_words(writer: Api) -> None:
    query, given, check = MUTATIONS["createInitiative"]
    before_sequence, before_state = await _last_sequence(writer), await writer.data(check)
    wrong = [
        {"documentId": MEMO_ID, "quote": MEMO_QUOTE},
        {"documentId": MEMO_ID, "quote": "Helmond is partner in de Veerkrachtdialoog"},
    ]
    payload = (await writer.data(query, {"input": {**given, "sources": wrong}}))["createInitiative"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        (["input", "sources", "1", "quote"], "QUOTE_NOT_FOUND")
    ]
    assert "letterlijk" in payload["errors"][0]["message"]  # Dutch (issue 12)
    assert await _last_sequence(writer) == before_sequence
    assert await writer.data(check) == before_state

    # Whitespace is normalised as the dataset loader does: a quote copied across a line break matches.
    spread = "De  Veerkrachtdialoog\nis toegepast   in en in\tsamenwerking"
    payload = (
        await writer.data(query, {"input": {**given, "sources": [{"documentId": MEMO_ID, "quote": spread}]}})
    )["createInitiative"]
    assert payload["errors"] == []
    assert payload["initiative"]["sources"][0]["quote"] == (
        "De Veerkrachtdialoog is toegepast in en in samenwerking"
    )


async def test_citation_problems_name_their_place(writer: Api) -> None:
    query, given, _ = MUTATIONS["addInvolvement"]
    before_sequence = await _last_sequence(writer)
    new_document = {"title": "Raadsinformatiebrief", "url": "https://example.org/rib", "date": "2024-05-01"}
    cases = [
        ([{"documentId": gid("SourceDocument", "nope"), "quote": "x"}], ["input", "sources", "0", "documentId"], "NOT_FOUND"),
        ([{"documentId": gid("Initiative", "pilot-altena"), "quote": "x"}], ["input", "sources", "0", "documentId"], "INVALID"),
        ([{"documentId": "junk", "quote": "x"}], ["input", "sources", "0", "documentId"], "INVALID"),
        ([{"quote": "x"}], ["input", "sources", "0"], "INVALID"),
        ([{"documentId": MEMO_ID, "newDocument": new_document, "quote": "x"}], ["input", "sources", "0"], "INVALID"),
        ([{"documentId": MEMO_ID, "quote": "  "}], ["input", "sources", "0", "quote"], "INVALID"),
        ([{"newDocument": {**new_document, "url": "ftp://example.org"}, "quote": "x"}], ["input", "sources", "0", "newDocument", "url"], "INVALID"),
        ([{"newDocument": {**new_document, "title": ""}, "quote": "x"}], ["input", "sources", "0", "newDocument", "title"], "INVALID"),
        ([{"documentId": MEMO_ID, "quote": "x"}] * 101, ["input", "sources"], "INVALID"),
    ]  # fmt: skip
    for sources, field, code in cases:
        payload = (await writer.data(query, {"input": {**given, "sources": sources}}))["addInvolvement"]
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)], sources
        assert payload["involvement"] is None
    assert await _last_sequence(writer) == before_sequence


async def test_a_new_document_with_address_and_date(writer: Api) -> None:
    query, given, _ = MUTATIONS["createOrganization"]
    new_document = {
        "title": "Raadsinformatiebrief buurtteams",
        "url": "https://example.org/rib-2024",
        "date": "2024-05-01",
        "issuer": "Gemeente Oss",
    }
    sources = [{"newDocument": new_document, "quote": "het buurtteam Oss start in september"}]
    before = await _last_sequence(writer)
    payload = (await writer.data(query, {"input": {**given, "sources": sources}}))["createOrganization"]
    assert payload["errors"] == []
    (citation,) = payload["organization"]["sources"]
    assert citation["quote"] == "het buurtteam Oss start in september"
    assert citation["document"]["url"] == "https://example.org/rib-2024"
    assert citation["document"]["date"] == "2024-05-01"
    log = await writer.data(
        "query($a: Int) { changes(afterSequence: $a) { nodes { operation entityType } } }", {"a": before}
    )
    assert sorted((n["operation"], n["entityType"]) for n in log["changes"]["nodes"]) == [
        ("CREATED", "Organization"),
        ("CREATED", "SourceDocument"),
    ]
    # Cited again by its id: the API holds no text of it, so the quote cannot be checked.
    again = {**given, "slug": "buurtteam-oss-2", "sources": [{"documentId": citation["document"]["id"], "quote": "elders"}]}  # fmt: skip
    assert (await writer.data(query, {"input": again}))["createOrganization"]["errors"] == []
    # And given as new again (same address and date): the same document, not a second one.
    third = {**given, "slug": "buurtteam-oss-3", "sources": sources}
    payload = (await writer.data(query, {"input": third}))["createOrganization"]
    assert payload["organization"]["sources"][0]["document"]["id"] == citation["document"]["id"]


async def test_update_initiative_may_replace_its_sources(writer: Api) -> None:
    query = """mutation($input: UpdateInitiativeInput!) { updateInitiative(input: $input) {
        initiative { version sources { quote } } errors { field code } } }"""
    read = await writer.data('{ initiative(slug: "veerkrachtdialoog") { id version sources { quote } } }')
    initiative = read["initiative"]
    base = {"id": initiative["id"], "version": initiative["version"]}
    before = await _last_sequence(writer)
    for sources, code in (([], "SOURCE_REQUIRED"), ([{"documentId": MEMO_ID, "quote": "niet in de memo"}], "QUOTE_NOT_FOUND")):  # fmt: skip
        payload = (await writer.data(query, {"input": {**base, "sources": sources}}))["updateInitiative"]
        assert [error["code"] for error in payload["errors"]] == [code]
    assert await _last_sequence(writer) == before
    unchanged = (await writer.data(query, {"input": {**base, "status": "ACTIVE"}}))["updateInitiative"]
    assert unchanged["initiative"]["sources"] == initiative["sources"], "sources stay unless given"
    replaced = {
        **base,
        "version": unchanged["initiative"]["version"],
        "sources": SOURCES,
        "crossOverThemes": ["x"],
    }
    payload = (await writer.data(query, {"input": replaced}))["updateInitiative"]
    assert payload["errors"] == []
    assert payload["initiative"]["sources"] == [{"quote": MEMO_QUOTE}]
    assert payload["initiative"]["version"] == unchanged["initiative"]["version"] + 1, "one UPDATE"
