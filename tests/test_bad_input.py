"""Bad input gets a clear error that names the argument; the service keeps serving."""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.mark.parametrize(
    ("query", "argument", "words"),
    [
        ('{ municipality(code: "GM9999") { name } }', "code", "GM9999"),
        ('{ municipality(code: "Zundert") { name } }', "code", "CBS municipality code"),
        ('{ municipality(code: "GM0879", name: "Zundert") { name } }', "code", "exactly one"),
        ("{ municipality { name } }", "code", "exactly one"),
        ('{ municipality(name: "Atlantis") { name } }', "name", "Atlantis"),
        ("{ municipalities(first: 1000) { totalCount } }", "first", "between 0 and 100"),
        ("{ municipalities(first: -1) { totalCount } }", "first", "between 0 and 100"),
        ('{ municipalities(after: "not-a-cursor") { totalCount } }', "after", "not a cursor"),
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
        ('{ initiatives(filter: {search: "!!"}) { totalCount } }', "filter.search", "word"),
        ('{ initiative(slug: "nope") { name } }', "slug", "nope"),
        (
            '{ municipality(code: "GM0879") { involvements(first: 101) { totalCount } } }',
            "first",
            "between 0 and 100",
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


@pytest.mark.parametrize("bad_id", ["not-base64!!", "", "Tm9wZTox"])
async def test_malformed_global_id(api: Api, bad_id: str) -> None:
    errors = await api.errors("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id})
    assert errors[0]["message"]
    assert "Traceback" not in errors[0]["message"]


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
