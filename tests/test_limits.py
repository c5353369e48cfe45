"""Query limits refuse abusive operations before they run; every operation reports its cost."""

from __future__ import annotations

from tests.conftest import Api

NESTED = """{ municipalities(first: 100) { nodes { involvements(first: 100) { nodes {
    initiative { involvements(first: 100) { totalCount } } } } } } }"""


async def test_cost_is_reported_and_multiplies_down_connections(api: Api) -> None:
    body = await api.post("{ municipalities(first: 10) { nodes { involvements(first: 5) { totalCount } } } }")
    assert body["extensions"]["cost"] == {"requested": 1 + 10 + 10 * 5, "limit": 50_000}
    body = await api.post("query($n: Int) { initiatives(first: $n) { totalCount } }", {"n": 7})
    assert body["extensions"]["cost"]["requested"] == 1 + 7
    body = await api.post("{ fusions { totalCount } }")
    assert body["extensions"]["cost"]["requested"] == 1 + 50, (
        "the default page size counts when first is omitted"
    )


async def test_a_too_costly_query_is_refused_before_any_sql(api: Api) -> None:
    api.statements.clear()
    (error,) = await api.errors(NESTED)
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] == 100 + 100 * 100 + 100 * 100 * 100 + 1
    assert "first" in error["message"]
    # Only the response cache's look at the data version (one primary-key read) comes before the refusal.
    assert [s.split()[1] for s in api.statements] == ["change_counter.last_sequence"], "nothing else ran"


async def test_cost_follows_fragments_and_variables(api: Api) -> None:
    query = """query($n: Int!) { municipalities(first: $n) { ...M } }
        fragment M on MunicipalityConnection { nodes { involvements(first: 2) { totalCount } } }"""
    body = await api.post(query, {"n": 3})
    assert body["extensions"]["cost"]["requested"] == 1 + 3 + 3 * 2


async def test_depth_aliases_and_tokens_are_limited(api: Api) -> None:
    deep = '{ municipality(code: "GM1959") { ' + "predecessors { " * 20 + "name" + " }" * 20 + " } }"
    (error,) = await api.errors(deep)
    assert "exceeds maximum operation depth" in error["message"]
    aliases = "{ " + " ".join(f'a{n}: municipality(code: "GM0879") {{ name }}' for n in range(40)) + " }"
    (error,) = await api.errors(aliases)
    assert "aliases" in error["message"].lower()
    tokens = "{ " + " ".join("__typename" for _ in range(6000)) + " }"
    (error,) = await api.errors(tokens)
    assert "token" in error["message"].lower()
    for error in [(await api.errors(q))[0] for q in (deep, aliases, tokens)]:
        assert error["extensions"]["code"] in {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}


async def test_graphiql_introspection_fits_the_limits(api: Api) -> None:
    from graphql import get_introspection_query

    body = await api.post(get_introspection_query(descriptions=True, input_value_deprecation=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
