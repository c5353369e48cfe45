"""Every door checks the same lock (issue 11, item 3): with ``require_token_for_reads``, POST, GET, the
prepared path, the response cache and its 304, ``_entities``, ``_service`` and /metrics all want a token.
The real ASGI app over HTTP (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from app.models.access import ChangeCounter
from app.web.cache import etag, normalised
from tests.conftest import Api, _api

QUERY = "{ municipalities(first: 2) { nodes { name } } }"
ENTITIES = 'query { _entities(representations: [{__typename: "Municipality", code: "GM0879"}]) { ... on Municipality { name } } }'


@pytest.fixture
async def strict(seeded_url: str) -> AsyncIterator[Api]:
    """The app on the shared seeded database, requiring a token for reads."""
    async for instance in _api(seeded_url, require_token_for_reads=True):
        yield instance


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_every_http_door_wants_a_token(strict: Api) -> None:
    token = await strict.make_token(f"door-{id(strict)}", "read")
    bearer = {"Authorization": f"Bearer {token}"}
    for _ in range(2):  # the second time the prepared path and the cache could answer
        assert (
            _code((await strict.client.post("/graphql", json={"query": QUERY})).json()) == "UNAUTHENTICATED"
        )
        assert (
            _code((await strict.client.get("/graphql", params={"query": QUERY})).json()) == "UNAUTHENTICATED"
        )
        answered = await strict.client.get("/graphql", params={"query": QUERY}, headers=bearer)
        assert answered.json()["data"]["municipalities"]["nodes"]
    for query in (ENTITIES, "{ _service { sdl } }"):
        body = (await strict.client.post("/graphql", json={"query": query})).json()
        assert _code(body) == "UNAUTHENTICATED", body
        assert body.get("data") is None
        body = (await strict.client.post("/graphql", json={"query": query}, headers=bearer)).json()
        assert "errors" not in body, body
    # Through a fragment too.
    hidden = "{ ...S } fragment S on Query { ... on Query { _service { sdl } } }"
    assert _code((await strict.client.post("/graphql", json={"query": hidden})).json()) == "UNAUTHENTICATED"


async def test_no_304_without_a_token(strict: Api) -> None:
    """The ETag of an anonymous answer can be computed for each data version; a 304 would tell which."""
    cache = strict.app.state.response_cache
    async with strict.app.state.sessionmaker() as session:
        version = int(await session.scalar(select(ChangeCounter.last_sequence)) or 0)
    document = normalised(QUERY)
    assert document is not None
    key = cache.key(document[0], None, {}, "anonymous", "application/json")
    response = await strict.client.get(
        "/graphql", params={"query": QUERY}, headers={"If-None-Match": etag(version, key)}
    )
    assert response.status_code != 304
    assert _code(response.json()) == "UNAUTHENTICATED"


async def test_the_subgraph_sdl_needs_a_token_when_introspection_is_off(seeded_url: str) -> None:
    async for app in _api(seeded_url, introspection=False):
        body = (await app.client.post("/graphql", json={"query": "{ _service { sdl } }"})).json()
        assert _code(body) == "UNAUTHENTICATED"
        token = await app.make_token(f"gateway-{id(app)}", "read")
        body = (
            await app.client.post(
                "/graphql",
                json={"query": "{ _service { sdl } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
        assert "type Mutation" in body["data"]["_service"]["sdl"]
        # _entities reads public data: answered without a token when reads are public.
        body = (await app.client.post("/graphql", json={"query": ENTITIES})).json()
        assert body["data"]["_entities"] == [{"name": "Zundert"}]


async def test_metrics_have_their_own_lock(strict: Api, seeded_url: str) -> None:
    assert (await strict.client.get("/metrics")).status_code == 401
    token = await strict.make_token(f"scraper-{id(strict)}", "read")
    scraped = await strict.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200
    assert "veerkracht_requests" in scraped.text
    async for app in _api(seeded_url, metrics_token="s3cret-scrape"):
        assert (await app.client.get("/metrics")).status_code == 401
        assert (
            await app.client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        ).status_code == 401
        answered = await app.client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
        assert answered.status_code == 200
    async for app in _api(seeded_url):
        assert (await app.client.get("/metrics")).status_code == 200, "public by default, as before"


async def test_public_reads_are_unchanged(api: Api) -> None:
    assert (await api.data(QUERY))["municipalities"]["nodes"]
    body = await api.post(ENTITIES)
    assert body["data"]["_entities"] == [{"name": "Zundert"}]
    assert "type Query" in (await api.data("{ _service { sdl } }"))["_service"]["sdl"]
