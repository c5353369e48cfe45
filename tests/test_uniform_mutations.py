"""Mutations that are uniform (issue 14, item 2): one `input`, a payload with the object, `errors` and the
echoed `clientMutationId`; `updateInvolvement`; removals by `input` with the old `id:` still working."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

from tests.conftest import Api
from tests.sources import MEMO_ID, SOURCES
from tests.test_mutations import _last_sequence


def gid(type_name: str, key: object) -> str:
    return b64encode(f"{type_name}:{key}".encode()).decode()


INTROSPECTION = """{ __schema { mutationType { fields(includeDeprecated: true) {
  name args(includeDeprecated: true) { name isDeprecated deprecationReason type { kind name ofType { name } } }
  type { ofType { name fields { name } } } } } } }"""


async def _input_fields(api: Api, name: str) -> set[str]:
    data = await api.data(f'{{ __type(name: "{name}") {{ inputFields {{ name }} }} }}')
    return {field["name"] for field in data["__type"]["inputFields"]}


async def test_every_mutation_takes_one_input_and_echoes_its_client_mutation_id(api: Api) -> None:
    fields = (await api.data(INTROSPECTION))["__schema"]["mutationType"]["fields"]
    assert {"updateInvolvement", "deleteInitiative", "removeInvolvement"} <= {f["name"] for f in fields}
    for field in fields:
        current = [arg for arg in field["args"] if not arg["isDeprecated"]]
        assert [arg["name"] for arg in current] == ["input"], field["name"]
        (argument,) = current
        input_type = argument["type"]["name"] or argument["type"]["ofType"]["name"]
        assert "clientMutationId" in await _input_fields(api, input_type), input_type
        payload = {f["name"] for f in field["type"]["ofType"]["fields"]}
        assert {"errors", "clientMutationId"} <= payload, field["name"]
    removals = {
        f["name"]: f["args"] for f in fields if f["name"] in ("deleteInitiative", "removeInvolvement")
    }
    for name, args in removals.items():
        (old,) = [arg for arg in args if arg["name"] == "id"]
        assert old["isDeprecated"], name
        assert "input" in old["deprecationReason"], name


MUTATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "createInitiative": (
        "CreateInitiativeInput",
        {
            "slug": "buurtkracht",
            "name": "Buurtkracht",
            "kind": "PILOT",
            "summary": "Een testpilot.",
            "sources": SOURCES,
        },
    ),
    "updateInitiative": (
        "UpdateInitiativeInput",
        {"id": gid("Initiative", "pilot-altena"), "version": 1, "status": "ACTIVE"},
    ),
    "addInvolvement": (
        "AddInvolvementInput",
        {
            "initiativeId": gid("Initiative", "veerkrachtdialoog"),
            "participantId": gid("Municipality", "GM0794"),
            "role": "PARTNER",
            "sources": SOURCES,
        },
    ),
    "createOrganization": (
        "CreateOrganizationInput",
        {"slug": "buurtteam-oss", "name": "Buurtteam Oss", "kind": "CITIZEN_GROUP", "sources": SOURCES},
    ),
    "recordFusion": (
        "RecordFusionInput",
        {
            "name": "Bernheze-Oss",
            "kind": "MERGER",
            "effectiveOn": "2030-01-01",
            "dissolvedCodes": ["GM1721", "GM0828"],
            "resultingCodes": ["GM9001"],
            "resultingName": "Testgemeente",
            "sources": SOURCES,
        },
    ),
    "deleteInitiative": ("DeleteInitiativeInput", {"id": gid("Initiative", "sterk-brabant")}),
}


async def test_client_mutation_id_is_echoed_on_success_and_refusal(writer: Api) -> None:
    for number, (name, (input_type, given)) in enumerate(MUTATIONS.items()):
        query = f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
            errors {{ code }} clientMutationId }} }}"""
        client_id = f"sync-{number}"
        done = (await writer.data(query, {"input": {**given, "clientMutationId": client_id}}))[name]
        assert done == {"errors": [], "clientMutationId": client_id}, name
        again = (await writer.data(query, {"input": {**given, "clientMutationId": client_id + "b"}}))[name]
        assert again["errors"], name  # a duplicate, a stale version, a deleted id
        assert again["clientMutationId"] == client_id + "b"
        without = (await writer.data(query, {"input": given}))[name]
        assert without["clientMutationId"] is None


UPDATE = """mutation($input: UpdateInvolvementInput!) { updateInvolvement(input: $input) {
  involvement { id role description version sources { quote } participant { name } }
  errors { field message code } clientMutationId } }"""


async def _helmond_host(api: Api) -> dict[str, Any]:
    data = await api.data(
        """{ initiative(slug: "veerkrachtdialoog") { involvements(filter: {municipalityCode: "GM0794"}) {
             nodes { id role description version sources { quote } } } } }"""
    )
    (involvement,) = data["initiative"]["involvements"]["nodes"]
    return dict(involvement)


async def test_update_involvement(writer: Api) -> None:
    read = await _helmond_host(writer)
    assert (read["role"], read["description"], read["version"]) == ("HOST", "3 wijken", 1)
    before = await _last_sequence(writer)
    quote = "De Veerkrachtdialoog is toegepast in en in samenwerking met verschillende gemeenten waaronder Helmond (3 wijken)"  # fmt: skip
    change = {
        "id": read["id"],
        "version": 1,
        "role": "PARTNER",
        "description": "3 wijken, in samenwerking",
        "sources": [{"documentId": MEMO_ID, "quote": quote}],
        "clientMutationId": "u1",
    }
    payload = (await writer.data(UPDATE, {"input": change}))["updateInvolvement"]
    assert payload["errors"] == []
    assert payload["clientMutationId"] == "u1"
    assert payload["involvement"] == {
        "id": read["id"],
        "role": "PARTNER",
        "description": "3 wijken, in samenwerking",
        "version": 2,
        "sources": [{"quote": quote}],
        "participant": {"name": "Helmond"},
    }
    log = await writer.data(
        "query($a: Int) { changes(afterSequence: $a) { nodes { operation entityType entityId before after } } }",
        {"a": before},
    )
    (entry,) = log["changes"]["nodes"]
    assert (entry["operation"], entry["entityType"], entry["entityId"]) == (
        "UPDATED",
        "Involvement",
        read["id"],
    )
    assert (entry["before"]["role"], entry["after"]["role"]) == ("HOST", "PARTNER")

    # Omitted fields stay; description: null removes it; the sources stay unless given.
    cleared = await writer.data(UPDATE, {"input": {"id": read["id"], "version": 2, "description": None}})
    assert cleared["updateInvolvement"]["involvement"]["description"] is None
    assert cleared["updateInvolvement"]["involvement"]["role"] == "PARTNER"
    assert cleared["updateInvolvement"]["involvement"]["sources"] == [{"quote": quote}]
    assert cleared["updateInvolvement"]["involvement"]["version"] == 3


async def test_update_involvement_refusals_write_nothing(writer: Api) -> None:
    read = await _helmond_host(writer)
    tilburg = await writer.data(
        """{ initiative(slug: "veerkrachtdialoog") { involvements(filter: {municipalityCode: "GM0855"}) {
             nodes { id } } } }"""
    )
    tilburg_id = tilburg["initiative"]["involvements"]["nodes"][0]["id"]
    before = await _last_sequence(writer)
    cases = [
        ({"id": read["id"], "version": 7, "role": "PARTNER"}, (["input", "version"], "CONFLICT")),
        ({"id": gid("Involvement", 999999), "version": 1}, (["input", "id"], "NOT_FOUND")),
        ({"id": gid("Initiative", "pilot-altena"), "version": 1}, (["input", "id"], "INVALID")),
        ({"id": read["id"], "version": 1, "sources": []}, (["input", "sources"], "SOURCE_REQUIRED")),
        ({"id": read["id"], "version": 1, "sources": [{"documentId": MEMO_ID, "quote": "Helmond doet mee"}]},
         (["input", "sources", "0", "quote"], "QUOTE_NOT_FOUND")),
        ({"id": read["id"], "version": 1, "description": " "}, (["input", "description"], "INVALID")),
    ]  # fmt: skip
    for change, expected in cases:
        payload = (await writer.data(UPDATE, {"input": change}))["updateInvolvement"]
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [expected], change
        assert payload["involvement"] is None
    # Tilburg is HOST too: Helmond cannot take a role Tilburg has, but Tilburg's own HOST stays unique.
    duplicate = {"id": tilburg_id, "version": 1, "role": "HOST"}
    assert (await writer.data(UPDATE, {"input": duplicate}))["updateInvolvement"]["errors"] == []
    assert await _last_sequence(writer) == before  # the same role is no change: nothing written
    assert await _helmond_host(writer) == read


async def test_update_involvement_to_a_role_it_has_already_is_a_duplicate(writer: Api) -> None:
    add = """mutation($input: AddInvolvementInput!) { addInvolvement(input: $input) { involvement { id } errors { code } } }"""
    added = await writer.data(
        add,
        {"input": {"initiativeId": gid("Initiative", "veerkrachtdialoog"), "participantId": gid("Municipality", "GM0794"),
                   "role": "PARTNER", "sources": SOURCES}},
    )  # fmt: skip
    partner_id = added["addInvolvement"]["involvement"]["id"]
    payload = await writer.data(UPDATE, {"input": {"id": partner_id, "version": 1, "role": "HOST"}})
    assert [(e["field"], e["code"]) for e in payload["updateInvolvement"]["errors"]] == [
        (["input", "role"], "DUPLICATE")
    ]


async def test_removals_take_input_and_the_deprecated_id_still_works(writer: Api) -> None:
    by_input = """mutation($input: DeleteInitiativeInput!) { deleteInitiative(input: $input) {
        deletedId errors { field code } clientMutationId } }"""
    by_id = "mutation($id: ID!) { deleteInitiative(id: $id) { deletedId errors { field code } clientMutationId } }"
    first, second = gid("Initiative", "sterk-brabant"), gid("Initiative", "brabant-outcomes-fund")
    assert (await writer.data(by_input, {"input": {"id": first, "clientMutationId": "d1"}}))[
        "deleteInitiative"
    ] == {"deletedId": first, "errors": [], "clientMutationId": "d1"}
    assert (await writer.data(by_id, {"id": second}))["deleteInitiative"] == {
        "deletedId": second,
        "errors": [],
        "clientMutationId": None,
    }
    gone = (await writer.data(by_input, {"input": {"id": first}}))["deleteInitiative"]
    assert gone["errors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]

    before = await _last_sequence(writer)
    neither = await writer.data("mutation { deleteInitiative { deletedId errors { field code } } }")
    assert neither["deleteInitiative"] == {
        "deletedId": None,
        "errors": [{"field": ["input"], "code": "INVALID"}],
    }
    third = gid("Initiative", "pilot-altena")
    both = await writer.data(
        "mutation($id: ID!) { deleteInitiative(id: $id, input: {id: $id}) { deletedId errors { field code } } }",
        {"id": third},
    )
    assert both["deleteInitiative"]["errors"] == [{"field": ["input"], "code": "INVALID"}]
    assert await _last_sequence(writer) == before

    involvement = await _helmond_host(writer)
    remove_input = """mutation($input: RemoveInvolvementInput!) { removeInvolvement(input: $input) {
        deletedId errors { field code } clientMutationId } }"""
    assert (await writer.data(remove_input, {"input": {"id": involvement["id"], "clientMutationId": "r1"}}))[
        "removeInvolvement"
    ] == {"deletedId": involvement["id"], "errors": [], "clientMutationId": "r1"}
    remove_id = "mutation($id: ID!) { removeInvolvement(id: $id) { deletedId errors { field code } } }"
    assert (await writer.data(remove_id, {"id": involvement["id"]}))["removeInvolvement"]["errors"] == [
        {"field": ["id"], "code": "NOT_FOUND"}
    ]
