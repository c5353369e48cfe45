"""Live changes over graphql-transport-ws, from real server processes.

The fallback poll is set to ten minutes here, so an event that arrives within the test's wait can only
have come through the notification path: PostgreSQL LISTEN/NOTIFY across processes, or in-process on SQLite.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import migrated_and_seeded, write_token
from tests.servers import Server, servers
from tests.sources import SOURCES_LITERAL

NO_POLLING = {"VEERKRACHT_CHANGE_POLL_SECONDS": "600"}
SUBSCRIPTION = """subscription($types: [String!], $after: Int) {
    changes(entityTypes: $types, afterSequence: $after) { sequence operation entityType entityId actor } }"""
CREATE = f"""mutation($slug: String!) {{ createOrganization(input: {{slug: $slug, name: $slug, kind: OTHER,
    {SOURCES_LITERAL}}}) {{ organization {{ id }} errors {{ code }} }} }}"""


async def _prepare(url: str) -> str:
    await migrated_and_seeded(url)
    return await write_token(url, "monitor")


@asynccontextmanager
async def subscribed(server: Server, variables: dict[str, Any]) -> AsyncIterator[ClientConnection]:
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as websocket:  # type: ignore[list-item]
        await websocket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await websocket.recv())["type"] == "connection_ack"
        await websocket.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": variables}}
            )
        )
        yield websocket


async def _next(websocket: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(websocket.recv(), 15))
    assert message["type"] == "next", message
    change: dict[str, Any] = message["payload"]["data"]["changes"]
    return change


async def _graphql(
    server: Server, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.post(
            server.url, json={"query": query, "variables": variables}, headers=headers
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def _last_sequence(server: Server) -> int:
    data = await _graphql(server, "{ changes(afterSequence: 0, first: 1000) { nodes { sequence } } }", {})
    sequences = [node["sequence"] for node in data["changes"]["nodes"]]
    return int(sequences[-1]) if sequences else 0


async def test_a_change_reaches_a_subscriber_on_another_instance(backend: str, fresh_url: str) -> None:
    token = await _prepare(fresh_url)
    count = 2 if backend == "postgresql" else 1  # SQLite: one process owns the file
    with servers(fresh_url, count, env=NO_POLLING) as started:
        listener, writer = started[0], started[-1]
        after = await _last_sequence(listener)
        async with subscribed(listener, {"types": ["Organization"], "after": after}) as websocket:
            await asyncio.sleep(0.5)  # the subscription is waiting
            created = await _graphql(writer, CREATE, {"slug": "live-1"}, token)
            change = await _next(websocket)
            assert change["entityId"] == created["createOrganization"]["organization"]["id"]
            assert (change["operation"], change["entityType"], change["actor"]) == (
                "CREATED",
                "Organization",
                "monitor",
            )
            assert change["sequence"] == after + 1

            # Other entity types are filtered out; the next Organization change comes next, in order.
            read = await _graphql(writer, '{ initiative(slug: "pilot-altena") { id version } }', {})
            await _graphql(
                writer,
                "mutation($i: UpdateInitiativeInput!) { updateInitiative(input: $i) { errors { code } } }",
                {"i": {**read["initiative"], "name": "Pilot Altena (bijgewerkt)"}},
                token,
            )
            await _graphql(writer, CREATE, {"slug": "live-2"}, token)
            change = await _next(websocket)
            assert change["sequence"] == after + 3
            assert change["entityType"] == "Organization"


async def test_a_reconnecting_client_resumes_without_missing_anything(backend: str, fresh_url: str) -> None:
    token = await _prepare(fresh_url)
    with servers(fresh_url, 1, env=NO_POLLING) as (server,):
        before = await _last_sequence(server)
        for number in range(3):  # written while the client was away
            await _graphql(server, CREATE, {"slug": f"missed-{number}"}, token)
        async with subscribed(server, {"types": None, "after": before}) as websocket:
            backlog = [await _next(websocket) for _ in range(3)]
            assert [c["sequence"] for c in backlog] == [before + 1, before + 2, before + 3]
            await _graphql(server, CREATE, {"slug": "live-after"}, token)
            assert (await _next(websocket))["sequence"] == before + 4


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_subscriptions_respect_the_read_setting(backend: str, fresh_url: str) -> None:
    await _prepare(fresh_url)
    with servers(fresh_url, 1, env={"VEERKRACHT_REQUIRE_TOKEN_FOR_READS": "true"}) as (server,):
        async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as websocket:  # type: ignore[list-item]
            await websocket.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await websocket.recv())["type"] == "connection_ack"
            await websocket.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
            )
            message = json.loads(await asyncio.wait_for(websocket.recv(), 10))
            assert message["type"] in {"error", "next"}
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
