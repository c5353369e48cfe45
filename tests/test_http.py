"""HTTP surface: GraphiQL for browsers, health and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.settings import Settings
from app.web import create_app
from tests.conftest import Api


async def test_graphiql_is_served_to_browsers(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "graphiql" in response.text.lower()


async def test_queries_over_get(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": '{ municipality(code: "GM0879") { name } }'})
    assert response.json()["data"] == {"municipality": {"name": "Zundert"}}


async def test_healthz(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_when_ready(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["migration"] == body["head"]


@pytest.fixture
async def unmigrated_client(fresh_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=fresh_url))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_readyz_when_migrations_are_pending(unmigrated_client: httpx.AsyncClient) -> None:
    response = await unmigrated_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "migrations pending"
    assert (await unmigrated_client.get("/healthz")).status_code == 200


async def test_readyz_when_the_database_is_unreachable() -> None:
    app = create_app(Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["database"] == "unreachable"
            assert (await client.get("/healthz")).status_code == 200
