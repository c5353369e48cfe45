"""Fixtures: every test that touches data runs on SQLite and on PostgreSQL, against the real ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from app.bootstrap import seed
from app.db import create_engine
from app.migrate import upgrade
from app.observability import listen_to_statements
from app.settings import Settings
from app.web import create_app
from tests.databases import BACKENDS, DatabaseFactory


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    await factory.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def migrated_and_seeded(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        await seed(engine)
    finally:
        await engine.dispose()


async def write_token(url: str, name: str) -> str:
    """A new write token in the database at ``url`` (for tests that drive real server processes)."""
    from app.models.enums import TokenScope
    from app.services.tokens import create_token

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            session = AsyncSession(bind=connection)
            return await create_token(session, name=name, scope=TokenScope.WRITE)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def seeded_url(backend: str, databases: DatabaseFactory) -> str:
    """A database with the bundled dataset, shared by the read-only tests of one backend."""
    url = await databases.create(backend)
    await migrated_and_seeded(url)
    return url


@pytest.fixture
async def fresh_url(backend: str, databases: DatabaseFactory) -> str:
    """An empty database of its own, for tests that write."""
    return await databases.create(backend)


@dataclass
class Api:
    """The real app over HTTP (httpx, ASGI transport), plus a counter of SQL statements."""

    client: httpx.AsyncClient
    app: Starlette
    statements: list[str]

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.app.state.engine
        return engine

    token: str | None = None
    """Sent as ``Authorization: Bearer`` when set."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a query that must succeed."""
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The errors of a query that must fail."""
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        body = response.json()
        assert body.get("errors"), body
        errors: list[dict[str, Any]] = body["errors"]
        return errors

    async def make_token(self, name: str, scope: str = "write") -> str:
        """A new API token in this app's database."""
        from app.models.enums import TokenScope
        from app.services.tokens import create_token

        async with self.app.state.sessionmaker() as session, session.begin():
            return await create_token(session, name=name, scope=TokenScope(scope))

    async def count_statements(self, query: str, variables: dict[str, Any] | None = None) -> int:
        self.statements.clear()
        await self.data(query, variables)
        return len(self.statements)


# The suite sends far more than any one client would in a minute, from one address; rate limits have their
# own tests (tests/test_operations.py), which set these themselves.
UNLIMITED = {"rate_limit_per_minute": 10**9, "anonymous_rate_limit_per_minute": 10**9}


async def _api(url: str, **settings: Any) -> AsyncIterator[Api]:
    app = create_app(Settings(database_url=url, **{**UNLIMITED, **settings}))
    statements: list[str] = []
    async with LifespanManager(app):
        listen_to_statements(app, statements.append)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client=client, app=app, statements=statements)


@pytest.fixture(scope="session")
async def api(seeded_url: str) -> AsyncIterator[Api]:
    """The app on the shared seeded database of this backend."""
    async for instance in _api(seeded_url):
        yield instance


@pytest.fixture
async def fresh_api(fresh_url: str) -> AsyncIterator[Api]:
    """The app on a database of the test's own, migrated and seeded."""
    await migrated_and_seeded(fresh_url)
    async for instance in _api(fresh_url):
        yield instance


@pytest.fixture
async def writer(fresh_url: str) -> AsyncIterator[Api]:
    """The app on a seeded database of the test's own, calling with a write token named "editor"."""
    await migrated_and_seeded(fresh_url)
    async for instance in _api(fresh_url):
        instance.token = await instance.make_token("editor", "write")
        yield instance
