"""Websockets (issue 11): every operation checks the token, subscriptions only, capped per client, and a
flood of subscriptions costs the database one read per commit. Real server processes (tests/servers.py)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.db import create_engine
from app.services.tokens import revoke_token
from tests.conftest import migrated_and_seeded, write_token
from tests.servers import Server, servers
from tests.test_subscriptions import CREATE, NO_POLLING, SUBSCRIPTION, _graphql

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@asynccontextmanager
async def socket(server: Server, token: str | None = None) -> AsyncIterator[ClientConnection]:
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as websocket:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await websocket.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await websocket.recv())["type"] == "connection_ack"
        yield websocket


async def subscribe(websocket: ClientConnection, id_: str, query: str = SUBSCRIPTION) -> None:
    message = {"id": id_, "type": "subscribe", "payload": {"query": query, "variables": {}}}
    await websocket.send(json.dumps(message))


async def receive(websocket: ClientConnection, seconds: float = 15) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(websocket.recv(), seconds))
    return message


async def _revoke(url: str, name: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            from sqlalchemy.ext.asyncio import AsyncSession

            await revoke_token(AsyncSession(bind=connection), name=name)
    finally:
        await engine.dispose()


async def test_a_revoked_token_stops_its_subscription(backend: str, fresh_url: str) -> None:
    await migrated_and_seeded(fresh_url)
    reader = await write_token(fresh_url, "watcher")
    writer = await write_token(fresh_url, "writer")
    env = {**NO_POLLING, "VEERKRACHT_REQUIRE_TOKEN_FOR_READS": "true"}
    with servers(fresh_url, env=env) as (server,):
        async with socket(server, reader) as websocket:
            await subscribe(websocket, "1")
            await asyncio.sleep(0.5)
            await _graphql(server, CREATE, {"slug": "before-revoking"}, writer)
            assert (await receive(websocket))["type"] == "next"
            await _revoke(fresh_url, "watcher")
            await asyncio.sleep(1.5)  # the token check a delivery may reuse is at most 1 s old
            # A new operation on the open socket is checked again (before: the socket's first check stood).
            await subscribe(websocket, "2")
            message = await receive(websocket)
            assert message["id"] == "2"
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
            # The running subscription delivers nothing more: an error, then complete.
            await _graphql(server, CREATE, {"slug": "after-revoking"}, writer)
            message = await receive(websocket)
            while message["id"] != "1":
                message = await receive(websocket)
            assert message["type"] == "next"
            assert message["payload"]["data"] is None
            assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert "revoked" in message["payload"]["errors"][0]["message"]
            assert (await receive(websocket))["type"] == "complete"


async def test_over_a_websocket_only_subscriptions_are_answered(backend: str, seeded_url: str) -> None:
    token = await write_token(seeded_url, f"ws-{backend}-{time.monotonic_ns()}")
    with servers(seeded_url) as (server,):
        async with socket(server, token) as websocket:
            await subscribe(websocket, "q", "{ municipalities(first: 1) { totalCount } }")
            mutation = 'mutation { createOrganization(input: {slug: "ws-mutation", name: "x", kind: OTHER}) { errors { code } } }'
            await subscribe(websocket, "m", mutation)
            answers = {}
            for _ in range(2):
                message = await receive(websocket)
                answers[message["id"]] = message
            for message in answers.values():
                assert message["type"] == "error", message
                assert message["payload"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
                assert "HTTP POST" in message["payload"][0]["message"]
        async with httpx.AsyncClient(timeout=15) as client:
            body = (
                await client.post(server.url, json={"query": '{ organization(slug: "ws-mutation") { id } }'})
            ).json()
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", (
            "the mutation sent over the websocket did not run"
        )


async def test_sockets_and_subscriptions_per_client_are_capped(backend: str, seeded_url: str) -> None:
    env = {"VEERKRACHT_MAX_WEBSOCKETS_PER_CLIENT": "2", "VEERKRACHT_MAX_SUBSCRIPTIONS_PER_CLIENT": "3"}
    with servers(seeded_url, env=env) as (server,):
        async with socket(server) as first, socket(server):
            async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as third:  # type: ignore[list-item]
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(third.recv(), 10)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1008
                assert "Too many websockets" in closed.value.rcvd.reason
            for number in range(4):
                await subscribe(first, str(number))
            message = await receive(first)
            assert message["id"] == "3"
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        # Closing the sockets frees their places (once the server has seen them close).
        await asyncio.sleep(1)
        async with socket(server), socket(server):
            pass


async def _metric(client: httpx.AsyncClient, server: Server, name: str) -> float:
    text = (await client.get(f"http://127.0.0.1:{server.port}/metrics")).text
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, name
    return float(match.group(1))


async def test_a_flood_of_subscriptions_costs_one_read_per_commit(backend: str, fresh_url: str) -> None:
    """Before: each subscriber read the log itself on every wake; 3,000 of them emptied the pool."""
    await migrated_and_seeded(fresh_url)
    token = await write_token(fresh_url, "flood")
    sockets, per_socket = 8, 40
    env = {
        **NO_POLLING,
        "VEERKRACHT_MAX_WEBSOCKETS_PER_CLIENT": str(sockets),
        "VEERKRACHT_MAX_SUBSCRIPTIONS_PER_CLIENT": str(sockets * per_socket),
    }
    with servers(fresh_url, env=env) as (server,):
        async with AsyncExitStack() as stack, httpx.AsyncClient(timeout=30) as client:
            opened = [await stack.enter_async_context(socket(server)) for _ in range(sockets)]
            for websocket in opened:
                for number in range(per_socket):
                    await subscribe(websocket, str(number))
            await asyncio.sleep(2)  # every subscription has started and waits
            before = await _metric(client, server, "veerkracht_sql_statements_total")
            await _graphql(server, CREATE, {"slug": "flood"}, token)
            started = time.monotonic()
            health = await client.get(f"http://127.0.0.1:{server.port}/healthz")
            assert health.status_code == 200
            for websocket in opened:
                for _ in range(per_socket):
                    assert (await receive(websocket, 30))["type"] == "next"
            ordinary = time.monotonic()
            await _graphql(server, "{ municipalities(first: 5) { totalCount } }", {})
            assert time.monotonic() - ordinary < 5
            assert time.monotonic() - started < 30
            after = await _metric(client, server, "veerkracht_sql_statements_total")
        # The write and the metric reads took a few statements; the fan-out one read, not one per subscriber.
        assert after - before < 40, after - before
        assert "QueuePool" not in server.log()
