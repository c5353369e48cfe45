"""Prepared reads: a compiled document's repeats skip the GraphQL pipeline and answer the same bytes, and
whatever the pipeline would refuse or answer differently is handed on to it (schema/compiled/prepared.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url

from tests.conftest import Api
from tests.test_operations import api_with

TOWNS = "query Towns{tag}($n: Int) {{ municipalities(first: $n) {{ nodes {{ code name }} }} }}"
BY_MUNICIPALITY = """query ByTown{tag}($code: String) {{
    initiatives(first: 2, filter: {{municipalityCode: $code}}) {{ nodes {{ slug }} }} }}"""


def _document(template: str) -> str:
    """A document no other test has prepared yet (the registry lives as long as the app)."""
    return template.format(tag=uuid.uuid4().hex[:8])


def _count(result: str) -> float:
    return REGISTRY.get_sample_value("veerkracht_prepared_reads_total", {"result": result}) or 0.0


async def _post(api: Api, query: str, variables: dict[str, Any], **headers: str) -> httpx.Response:
    return await api.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={**api.headers, **headers}
    )


async def test_a_repeat_skips_the_pipeline_and_gives_the_same_bytes(seeded_url: str) -> None:
    query = _document(TOWNS)
    async with api_with(seeded_url, response_cache=False) as api:
        for accept in ("application/json", "application/graphql-response+json"):
            first = await _post(api, query, {"n": 3}, accept=accept)
            answered = _count("answered")
            api.statements.clear()
            again = await _post(api, query, {"n": 3}, accept=accept)
            assert _count("answered") == answered + 1
            assert (again.status_code, again.content) == (first.status_code, first.content)
            assert again.headers["content-type"] == first.headers["content-type"] == accept
            assert len(api.statements) == 1, api.statements
            # Other variables are the same prepared document: no second pipeline run.
            other = await _post(api, query, {"n": 1}, accept=accept)
            assert _count("answered") == answered + 2
            assert [m["code"] for m in other.json()["data"]["municipalities"]["nodes"]] == [
                m["code"] for m in first.json()["data"]["municipalities"]["nodes"][:1]
            ]
        # Over GET too, with the operation named or not.
        params = {"query": query, "variables": '{"n": 3}'}
        named = await api.client.get(
            "/graphql", params={**params, "operationName": query.split()[1].split("(")[0]}
        )
        answered = _count("answered")
        unnamed = await api.client.get("/graphql", params=params)
        assert _count("answered") == answered + 1
        assert named.content == unnamed.content == first.content


async def test_what_the_pipeline_would_refuse_is_handed_on(seeded_url: str) -> None:
    towns, by_town = _document(TOWNS), _document(BY_MUNICIPALITY)
    async with api_with(seeded_url, response_cache=False, max_query_cost=60) as api:
        assert (await _post(api, towns, {"n": 2})).status_code == 200
        assert (await _post(api, by_town, {"code": "GM0879"})).status_code == 200
        cases: list[tuple[str, dict[str, Any], str]] = [
            (towns, {"n": "many"}, "BAD_USER_INPUT"),  # a variable that does not coerce
            (towns, {"n": 80}, "QUERY_TOO_COSTLY"),  # cost 81 > 60
            (by_town, {"code": "GM9999"}, "BAD_USER_INPUT"),  # a lookup only the resolvers answer
        ]
        for query, variables, code in cases:
            handed_on = _count("handed_on")
            response = await _post(api, query, variables)
            assert _count("handed_on") == handed_on + 1, variables
            assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code], response.text


async def test_a_handed_on_request_is_charged_once(seeded_url: str) -> None:
    """Budget 10, cost 3 each: prepare (3), two handed on (6): a second charge for either would refuse."""
    query = _document(BY_MUNICIPALITY)
    async with api_with(seeded_url, response_cache=False, anonymous_rate_limit_per_minute=10) as api:
        assert (await _post(api, query, {"code": "GM0879"})).status_code == 200
        for _ in range(2):
            response = await _post(api, query, {"code": "GM9999"})
            assert response.status_code == 200, response.text
            assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        refused = await _post(api, query, {"code": "GM0879"})
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["retry-after"]) >= 1


async def test_tokens_are_checked_as_the_pipeline_checks_them(seeded_url: str) -> None:
    query = _document(TOWNS)
    async with api_with(seeded_url, response_cache=False, require_token_for_reads=True) as api:
        token = await api.make_token(f"prepared-reader-{uuid.uuid4().hex[:8]}", "read")
        anonymous_before = await _post(api, query, {"n": 2})
        bad_before = await _post(api, query, {"n": 2}, authorization="Bearer nonsense")
        api.token = token
        assert (await _post(api, query, {"n": 2})).status_code == 200
        answered = _count("answered")
        api.statements.clear()
        assert (await _post(api, query, {"n": 2})).status_code == 200
        assert _count("answered") == answered + 1
        assert len([s for s in api.statements if "api_token" in s]) == 1, "the token is checked once"
        api.token = None
        handed_on = _count("handed_on")
        anonymous = await _post(api, query, {"n": 2})
        bad = await _post(api, query, {"n": 2}, authorization="Bearer nonsense")
        assert _count("handed_on") == handed_on + 2
        for before, after in ((anonymous_before, anonymous), (bad_before, bad)):
            assert (after.status_code, after.json()) == (before.status_code, before.json())
            assert after.json()["errors"], after.text


async def test_both_pools_have_the_session_settings(seeded_url: str) -> None:
    """Compiled reads run on asyncpg connections of their own (schema/compiled/run.py): they keep the
    statement timeout and the planner's page cost that the engine's connections have."""
    from sqlalchemy import text

    expected = {"statement_timeout": "1500ms", "random_page_cost": "1.1"}
    async with api_with(seeded_url, database_statement_timeout_seconds=1.5) as api:
        runner = api.app.state.compiled_runner
        if make_url(seeded_url).get_backend_name() == "sqlite":
            assert not runner.postgresql  # SQLite has neither setting; its reads go through the engine
            return
        async with runner.connect() as connection:
            for name, value in expected.items():
                assert await connection.connection.fetchval(f"SHOW {name}") == value
        async with api.app.state.engine.connect() as engine_connection:
            for name, value in expected.items():
                assert (await engine_connection.execute(text(f"SHOW {name}"))).scalar() == value
    # Unset: the server's own value.
    async with (
        api_with(seeded_url, database_random_page_cost=None) as api,
        api.app.state.compiled_runner.connect() as connection,
    ):
        assert await connection.connection.fetchval("SHOW random_page_cost") == "4"


def test_a_bad_page_cost_is_refused_with_its_name() -> None:
    import pytest
    from pydantic import ValidationError

    from app.settings import Settings

    for bad in ("-1", "0", "fast"):
        with pytest.raises(ValidationError, match="database_random_page_cost"):
            Settings(database_random_page_cost=bad)
    assert Settings(database_random_page_cost="").database_random_page_cost is None
    assert Settings(database_random_page_cost="2").database_random_page_cost == 2.0


async def test_a_failing_statement_is_handed_on_and_answered_as_the_pipeline_does(fresh_url: str) -> None:
    """A real fault (a table gone from under the service): the prepared read hands the request on, and
    the pipeline answers it with a masked, well-formed error (a restart shows the same in test_faults)."""
    from sqlalchemy import text

    from tests.conftest import migrated_and_seeded

    await migrated_and_seeded(fresh_url)
    query = _document("query Themes{tag} {{ initiatives(first: 3) {{ nodes {{ slug crossOverThemes }} }} }}")
    async with api_with(fresh_url, environment="production", response_cache=False) as api:
        assert "errors" not in (await _post(api, query, {})).json()
        cascade = "" if api.engine.dialect.name == "sqlite" else " CASCADE"
        async with api.engine.begin() as connection:
            await connection.execute(text(f"DROP TABLE initiative_theme{cascade}"))
        handed_on = _count("handed_on")
        response = await _post(api, query, {})
        assert _count("handed_on") == handed_on + 1
        assert response.status_code == 200
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert error["extensions"]["errorId"]
        assert "initiative_theme" not in response.text
