"""Bad input gets a clear error that names the argument; the service keeps serving."""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.mark.parametrize(
    ("query", "argument", "words"),
    [
        ('{ municipality(code: "GM9999") { name } }', "code", "GM9999"),
        ('{ municipality(code: "Zundert") { name } }', "code", "CBS-gemeentecode"),
        ('{ municipality(code: "GM0879", name: "Zundert") { name } }', "code", "precies één"),
        ("{ municipality { name } }", "code", "precies één"),
        ('{ municipality(name: "Atlantis") { name } }', "name", "Atlantis"),
        ("{ municipalities(first: 1000) { totalCount } }", "first", "tussen 0 en 100"),
        ("{ municipalities(first: -1) { totalCount } }", "first", "tussen 0 en 100"),
        ('{ municipalities(after: "not-a-cursor") { totalCount } }', "after", "geen cursor"),
        (
            '{ involvements(filter: {municipalityCode: "GM9999"}) { totalCount } }',
            "filter.municipalityCode",
            "GM9999",
        ),
        (
            '{ involvements(filter: {initiativeSlug: "nope"}) { totalCount } }',
            "filter.initiativeSlug",
            "nope",
        ),
        (
            '{ initiatives(filter: {organizationSlug: "nope"}) { totalCount } }',
            "filter.organizationSlug",
            "nope",
        ),
        ('{ municipalities(filter: {regionSlug: "pon"}) { totalCount } }', "filter.regionSlug", "pon"),
        ('{ initiatives(filter: {search: "!!"}) { totalCount } }', "filter.search", "woord"),
        ('{ initiative(slug: "nope") { name } }', "slug", "nope"),
        (
            '{ municipality(code: "GM0879") { involvements(first: 101) { totalCount } } }',
            "first",
            "tussen 0 en 100",
        ),
    ],
)
async def test_bad_arguments_name_the_argument(api: Api, query: str, argument: str, words: str) -> None:
    (error,) = await api.errors(query)
    assert error["extensions"]["argument"] == argument
    assert error["extensions"]["code"] in {"BAD_USER_INPUT", "NOT_FOUND"}
    assert words in error["message"]
    assert "Traceback" not in error["message"]
    # and the service is fine afterwards
    assert (await api.data('{ municipality(code: "GM0879") { name } }'))["municipality"]["name"] == "Zundert"


async def test_a_cursor_of_another_list_is_refused(api: Api) -> None:
    page = await api.data("{ municipalities(first: 1) { pageInfo { endCursor } } }")
    cursor = page["municipalities"]["pageInfo"]["endCursor"]
    (error,) = await api.errors("query($c: String) { fusions(after: $c) { totalCount } }", {"c": cursor})
    assert error["extensions"]["argument"] == "after"
    assert "Municipality" in error["message"]


@pytest.mark.parametrize(
    ("query", "argument"),
    [
        ('{ node(id: "not-base64!!") { id } }', "id"),
        ('{ node(id: "") { id } }', "id"),
        ('{ node(id: "Tm9wZTox") { id } }', "id"),  # base64 of "Nope:1": no such type
        ('{ nodes(ids: ["TXVuaWNpcGFsaXR5OkdNMDg3OQ==", "bad"]) { id } }', "ids"),
    ],
)
async def test_malformed_global_id_names_the_argument(api: Api, query: str, argument: str) -> None:
    (error,) = await api.errors(query)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert f"Ongeldig argument `{argument}`" in error["message"]


async def test_every_error_has_a_code(api: Api) -> None:
    (parse,) = await api.errors("{ municipalities { ")
    assert parse["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    (validation,) = await api.errors("{ municipalities { nosuchfield } }")
    assert validation["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_client_mistakes_are_not_logged_as_faults(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR"):
        await api.errors('{ municipality(code: "GM9999") { name } }')
        await api.errors('{ node(id: "bad") { id } }')
        await api.errors("{ municipalities { nosuchfield } }")
    assert [record for record in caplog.records if record.name.startswith("strawberry")] == []


async def test_one_bad_field_does_not_spoil_the_others(api: Api) -> None:
    body = await api.post(
        '{ ok: municipality(code: "GM0879") { name } bad: municipality(code: "GM9999") { name } }'
    )
    assert body["data"] == {"ok": {"name": "Zundert"}, "bad": None}
    assert body["errors"][0]["path"] == ["bad"]


async def test_invalid_enum_and_syntax_are_graphql_validation_errors(api: Api) -> None:
    (error,) = await api.errors("{ organizations(kind: CASTLE) { totalCount } }")
    assert "CASTLE" in error["message"]
    (error,) = await api.errors("{ municipalities { ")
    assert "Syntax Error" in error["message"]


async def test_an_empty_selection_set_is_a_syntax_error_not_a_crash(api: Api) -> None:
    """graphql-core parses `{}`; Strawberry's depth limiter then failed on it with an internal error."""
    for query in ("{}", "{ municipalities { } }", "query Q { __typename } query R {}"):
        errors = await api.errors(query)
        assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_PARSE_FAILED"}, errors
        assert "selection set" in errors[0]["message"]
