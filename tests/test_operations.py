"""Hardening of the HTTP layer, through the real ASGI app: body size, time limit, rate limits, masked
errors, suggestions, request ids and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import redis.asyncio as redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import Api, _api, migrated_and_seeded
from tests.databases import in_ci
from tests.sources import SOURCES

QUERY = "query Towns { municipalities(first: 3) { nodes { code name } } }"
CREATE = """mutation Create($input: CreateInitiativeInput!) { createInitiative(input: $input) {
    initiative { slug } errors { field message code } } }"""
NEW = {
    "slug": "wachtrij",
    "name": "Wachtrij",
    "kind": "PILOT",
    "summary": "Waits for a lock.",
    "sources": SOURCES,
}
REDIS_URL = os.environ.get("VEERKRACHT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@contextlib.asynccontextmanager
async def api_with(url: str, **settings: Any) -> AsyncIterator[Api]:
    async for instance in _api(url, **settings):
        yield instance


@contextlib.asynccontextmanager
async def writers_locked_out(url: str) -> AsyncIterator[None]:
    """Holds the change log's write lock from outside the app (as a long transaction elsewhere would), so
    that a mutation waits for it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(str(parsed.database), isolation_level=None, check_same_thread=False)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
    else:
        pg = await asyncpg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                                   database=parsed.database)  # fmt: skip
        transaction = pg.transaction()
        await transaction.start()
        await pg.execute("SELECT last_sequence FROM change_counter WHERE id = 1 FOR UPDATE")
        try:
            yield
        finally:
            await transaction.rollback()
            await pg.close()


# --- body size --------------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_with_413_declared_or_streamed(seeded_url: str) -> None:
    async with api_with(seeded_url, max_body_bytes=2_000) as api:
        small = await api.client.post("/graphql", json={"query": QUERY})
        assert small.status_code == 200
        padding = " " * 3_000
        declared = await api.client.post("/graphql", json={"query": QUERY + padding})
        assert declared.status_code == 413
        error = declared.json()["errors"][0]
        assert error["extensions"]["code"] == "REQUEST_TOO_LARGE"
        assert "2,000 bytes" in error["message"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams in
            yield b'{"query": "' + QUERY.encode()
            for _ in range(10):
                yield b" " * 500
            yield b'"}'

        streamed = await api.client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


# --- time limit -------------------------------------------------------------------------------------------


async def test_a_request_over_the_time_limit_gets_504_and_writes_nothing(fresh_url: str) -> None:
    await migrated_and_seeded(fresh_url)
    async with api_with(fresh_url, request_timeout_seconds=1.0) as api:
        api.token = await api.make_token("editor")
        async with writers_locked_out(fresh_url):
            started = asyncio.get_running_loop().time()
            response = await asyncio.wait_for(
                api.client.post(
                    "/graphql", json={"query": CREATE, "variables": {"input": NEW}}, headers=api.headers
                ),
                timeout=20,
            )
            waited = asyncio.get_running_loop().time() - started
        assert response.status_code == 504, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "REQUEST_TIMEOUT"
        assert "1 s" in error["message"]
        assert waited < 10
        # Nothing was written, and the app still works (no connection left stuck).
        found = await api.data('{ initiatives(filter: {search: "Wachtrij"}) { nodes { slug } } }')
        assert found["initiatives"]["nodes"] == []
        created = await api.data(CREATE, {"input": NEW})
        assert created["createInitiative"]["errors"] == []


# --- rate limits ------------------------------------------------------------------------------------------


def _cost(body: dict[str, Any]) -> int:
    return int(body["extensions"]["cost"]["requested"])


async def test_anonymous_callers_are_limited_by_cost_per_address(seeded_url: str) -> None:
    async with api_with(seeded_url, anonymous_rate_limit_per_minute=10) as api:
        first = await api.client.post("/graphql", json={"query": QUERY})
        assert first.status_code == 200
        cost = _cost(first.json())
        assert cost == 4  # 1 + first: 3
        second = await api.client.post("/graphql", json={"query": QUERY})
        assert second.status_code == 200
        refused = await api.client.post("/graphql", json={"query": QUERY})  # 4 + 4 + 4 > 10
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        body = refused.json()
        assert body["data"] is None
        error = body["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["limitPerMinute"] == 10
        assert "adres" in error["message"]
        assert "kost 4" in error["message"]
        # Another address has a budget of its own (behind a trusted proxy that names it).
        async with api_with(
            seeded_url, anonymous_rate_limit_per_minute=10, trust_forwarded_for=True
        ) as proxied:
            for _ in range(2):
                ok = await proxied.client.post(
                    "/graphql", json={"query": QUERY}, headers={"X-Forwarded-For": "198.51.100.7"}
                )
                assert ok.status_code == 200
            # A client cannot escape its budget by sending its own X-Forwarded-For entries first.
            spoofed = await proxied.client.post(
                "/graphql", json={"query": QUERY}, headers={"X-Forwarded-For": "10.0.0.1, 198.51.100.7"}
            )
            assert spoofed.status_code == 429


async def test_a_token_has_its_own_budget_and_the_cost_is_charged_whole(fresh_url: str) -> None:
    await migrated_and_seeded(fresh_url)
    async with api_with(fresh_url, anonymous_rate_limit_per_minute=5, rate_limit_per_minute=30) as api:
        refused = await api.client.post("/graphql", json={"query": QUERY.replace("3", "9")})
        assert refused.status_code == 200  # cost 10 > 5: charged as the whole budget, so possible once
        assert (await api.client.post("/graphql", json={"query": "{ __typename }"})).status_code == 429
        api.token = await api.make_token("monitor", "read")
        for _ in range(3):  # 10 each: exactly the token's 30
            response = await api.client.post(
                "/graphql", json={"query": QUERY.replace("3", "9")}, headers=api.headers
            )
            assert response.status_code == 200, response.text
        again = await api.client.post("/graphql", json={"query": QUERY}, headers=api.headers)
        assert again.status_code == 429
        assert "dit token mag 30" in again.json()["errors"][0]["message"]


async def _redis_or_skip() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        if in_ci():
            pytest.fail(
                f"Redis at {REDIS_URL} is unreachable (CI=true: the shared rate limit must be tested)"
            )
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    finally:
        await client.aclose()


async def test_instances_share_one_budget_through_redis(seeded_url: str) -> None:
    await _redis_or_skip()
    settings = {
        "anonymous_rate_limit_per_minute": 10,
        "redis_url": REDIS_URL,
        "redis_key_prefix": f"veerkracht-test-{uuid.uuid4().hex}",
    }
    async with api_with(seeded_url, **settings) as one, api_with(seeded_url, **settings) as two:
        assert (await one.client.post("/graphql", json={"query": QUERY})).status_code == 200
        assert (await two.client.post("/graphql", json={"query": QUERY})).status_code == 200
        # The third operation would be allowed by either instance alone; together they have spent 8.
        assert (await one.client.post("/graphql", json={"query": QUERY})).status_code == 429
        assert (await two.client.post("/graphql", json={"query": QUERY})).status_code == 429


async def test_an_unreachable_redis_fails_open_with_a_warning(
    seeded_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with api_with(
        seeded_url, anonymous_rate_limit_per_minute=1, redis_url="redis://127.0.0.1:1/0"
    ) as api:
        with caplog.at_level(logging.WARNING, logger="app.services.ratelimit"):
            for _ in range(3):
                assert (await api.client.post("/graphql", json={"query": QUERY})).status_code == 200
        warnings = [r for r in caplog.records if r.name == "app.services.ratelimit"]
        assert len(warnings) == 1
        assert "rate limiting is off" in warnings[0].getMessage()


async def drop_reported_figures(api: Api) -> None:
    """A real fault: a table the service reads is gone."""
    cascade = "" if api.engine.dialect.name == "sqlite" else " CASCADE"  # citations refer to it
    async with api.engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE reported_figure{cascade}"))


# --- errors -----------------------------------------------------------------------------------------------


async def test_unexpected_errors_are_masked_in_production_with_an_id_in_the_log(
    fresh_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A real fault (a table gone from under the service), not a mocked one."""
    await migrated_and_seeded(fresh_url)
    async with api_with(fresh_url, environment="production") as api:
        await drop_reported_figures(api)
        query = '{ initiative(slug: "pilot-altena") { name reportedFigures { label } } }'
        with caplog.at_level(logging.ERROR, logger="veerkracht.errors"):
            response = await api.client.post("/graphql", json={"query": query})
        assert response.status_code == 200
        text_ = response.text
        for leak in ("reported_figure", "SELECT", "Traceback", "sqlalchemy", "sqlite", "asyncpg"):
            assert leak not in text_, f"{leak!r} leaked: {text_}"
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        error_id = error["extensions"]["errorId"]
        assert error_id in error["message"]
        logged = [r for r in caplog.records if getattr(r, "error_id", None) == error_id]
        assert len(logged) == 1
        assert logged[0].exc_info is not None
        assert "reported_figure" in logged[0].getMessage() + str(logged[0].exc_info[1])


async def test_in_development_the_message_stays_for_the_developer(fresh_url: str) -> None:
    await migrated_and_seeded(fresh_url)
    async with api_with(fresh_url, environment="development") as api:
        await drop_reported_figures(api)
        errors = await api.errors('{ initiative(slug: "pilot-altena") { reportedFigures { label } } }')
        assert errors[0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert "reported_figure" in errors[0]["message"]
        assert errors[0]["extensions"]["errorId"]


ENUM_TYPO = "query($k: [InitiativeKind!]) { initiatives(filter: {kinds: $k}) { nodes { slug } } }"


async def test_suggestions_and_introspection_go_off_together(seeded_url: str) -> None:
    typo = "{ municipalitis(first: 1) { nodes { code } } }"
    async with api_with(seeded_url) as open_api:
        (error,) = await open_api.errors(typo)
        assert "Did you mean" in error["message"]
        assert (await open_api.data("{ __schema { queryType { name } } }"))["__schema"]
        errors = await open_api.errors(ENUM_TYPO, {"k": ["PILOTT"]})
        assert "Did you mean" in errors[0]["message"]
    async with api_with(seeded_url, introspection=False) as closed:
        (error,) = await closed.errors(typo)
        assert "Did you mean" not in error["message"]
        assert "municipalitis" in error["message"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        errors = await closed.errors("{ __schema { queryType { name } } }")
        assert all("introspection has been disabled" in error["message"] for error in errors)
        # Execution-time coercion messages lose their suggestions too.
        errors = await closed.errors(ENUM_TYPO, {"k": ["PILOTT"]})
        assert "PILOTT" in errors[0]["message"]
        assert "Did you mean" not in errors[0]["message"]
        # Ordinary queries are unaffected.
        assert (await closed.data(QUERY))["municipalities"]["nodes"]


# --- request ids, logs and metrics ------------------------------------------------------------------------


async def test_request_ids_are_kept_or_made_and_logged_with_the_operation(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="veerkracht.access"):
        kept = await api.client.post("/graphql", json={"query": QUERY}, headers={"X-Request-ID": "abc-123"})
        made = await api.client.post("/graphql", json={"query": QUERY}, headers={"X-Request-ID": "bad id\n"})
    assert kept.headers["x-request-id"] == "abc-123"
    assert made.headers["x-request-id"] not in {"", "bad id\n"}
    assert len(made.headers["x-request-id"]) == 32
    lines = {r.request_id: r for r in caplog.records if r.name == "veerkracht.access"}  # type: ignore[attr-defined]
    line = lines["abc-123"]
    assert (line.operation, line.operation_type, line.status, line.outcome) == ("Towns", "query", 200, "ok")  # type: ignore[attr-defined]
    assert line.cost == 4  # type: ignore[attr-defined]
    assert line.sql_statements >= 1  # type: ignore[attr-defined]
    assert made.headers["x-request-id"] in lines


async def test_metrics_count_operations_outcomes_statements_and_rejections(seeded_url: str) -> None:
    async with api_with(seeded_url, anonymous_rate_limit_per_minute=8) as api:
        name = f"Metrics{uuid.uuid4().hex[:8]}"
        query = QUERY.replace("Towns", name)
        for _ in range(3):
            await api.client.post("/graphql", json={"query": query})
        await api.client.post("/graphql", json={"query": "{ municipality(code: 12) { name } }"})
        exposition = (await api.client.get("/metrics")).text

    def sample(line_start: str) -> float:
        values = [
            float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith(line_start)
        ]
        assert values, f"no sample {line_start!r}"
        return sum(values)

    assert sample(f'veerkracht_requests_total{{operation="{name}",outcome="ok"}}') == 2
    assert sample(f'veerkracht_requests_total{{operation="{name}",outcome="RATE_LIMITED"}}') == 1
    assert sample('veerkracht_rate_limit_rejections_total{caller="address"}') >= 2
    assert sample("veerkracht_sql_statements_total") >= 2
    assert sample('veerkracht_request_duration_seconds_count{operation_type="query"}') >= 4
    assert sample("veerkracht_db_pool_capacity") >= 1
    assert "veerkracht_db_pool_checked_out" in exposition


async def test_parse_and_validation_caches_are_used_and_counted(seeded_url: str) -> None:
    """With the response cache and compiled reads off: either would answer the repeats before they are
    parsed (a compiled read's repeats skip the pipeline, schema/compiled/prepared.py)."""
    query = f"query Cached{uuid.uuid4().hex[:8]} {{ municipalities(first: 1) {{ nodes {{ code }} }} }}"

    async def lookups(api: Api) -> dict[str, float]:
        exposition = (await api.client.get("/metrics")).text
        found: dict[str, float] = {}
        for line in exposition.splitlines():
            if line.startswith("veerkracht_cache_lookups_total{"):
                labels, value = line.rsplit(" ", 1)
                found[labels] = float(value)
        return found

    async with api_with(seeded_url, response_cache=False, compiled_reads=False) as api:
        before = await lookups(api)
        for _ in range(3):
            await api.data(query)
        after = await lookups(api)

    def grew(cache: str, result: str) -> float:
        key = f'veerkracht_cache_lookups_total{{cache="{cache}",result="{result}"}}'
        return after.get(key, 0) - before.get(key, 0)

    assert (grew("parse", "miss"), grew("parse", "hit")) == (1, 2)
    assert (grew("validation", "miss"), grew("validation", "hit")) == (1, 2)


async def test_bad_variables_are_the_clients_mistake_even_in_production(seeded_url: str) -> None:
    """graphql-core attaches the coercion error to a variable's error; that is not a crash to mask."""
    paged = "query($n: Int) { municipalities(first: $n) { nodes { code } } }"
    async with api_with(seeded_url, environment="production") as api:
        for variables in ({"n": "abc"}, {"n": 1.5}, {"n": True}):
            errors = await api.errors(paged, variables)
            assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], errors
            assert "$n" in errors[0]["message"]
        errors = await api.errors(ENUM_TYPO, {"k": ["PILOTT"]})
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "PILOTT" in errors[0]["message"]
        required = "query($n: Int!) { municipalities(first: $n) { nodes { code } } }"
        errors = await api.errors(required, {})
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_one_operation_per_request_batches_are_refused(api: Api) -> None:
    """The batch limit is one: a JSON array of operations is refused whole, none of it runs."""
    api.statements.clear()
    response = await api.client.post("/graphql", json=[{"query": QUERY}, {"query": QUERY}])
    assert response.status_code == 400
    assert "Batching is not enabled" in response.text
    assert api.statements == []


async def test_the_startup_heap_is_frozen_out_of_the_garbage_collectors_passes(seeded_url: str) -> None:
    """A full collection walked the whole startup heap (schema, SQLAlchemy, graphql-core): about 37 ms on
    the bench machine, a pause in every request in flight; frozen, the same collection takes none of it."""
    import gc
    import time

    async with api_with(seeded_url) as api:
        assert gc.get_freeze_count() > 50_000
        started = time.perf_counter()
        gc.collect()
        assert time.perf_counter() - started < 0.030
        assert (await api.data("{ municipalities(first: 1) { totalCount } }"))["municipalities"]["totalCount"]
