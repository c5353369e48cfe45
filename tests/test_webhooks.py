"""Webhooks: registered through the API, delivered by real server processes to a real receiver process."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import itertools
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.settings import Settings
from tests.conftest import Api, _api, migrated_and_seeded
from tests.servers import ROOT, Server, servers
from tests.sources import SOURCES
from tests.test_mutations import ADD_INVOLVEMENT, gid
from tests.test_subscriptions import CREATE, _graphql, _prepare

KEY = "a-test-key-for-webhook-secrets"
WEBHOOK_ENV = {
    "VEERKRACHT_WEBHOOK_KEY": KEY,
    "VEERKRACHT_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
    "VEERKRACHT_WEBHOOK_BACKOFF_SECONDS": "0.5",
    "VEERKRACHT_WEBHOOK_BACKOFF_MAX_SECONDS": "2",
    "VEERKRACHT_CHANGE_POLL_SECONDS": "1",
}
CREATE_WEBHOOK = """mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
    webhook { id url entityTypes active lastDeliveredSequence } secret clientMutationId
    errors { field message code } } }"""
ENTRY = "sequence at operation entityType entityId naturalKey actor beforeValues afterValues"
FEED_AFTER = f"""query($after: Int!) {{ changes(afterSequence: $after, first: 1000) {{ head nodes {{ {ENTRY} }} }} }}"""
DELIVERIES = """{ webhooks { id failedAttempts lastDeliveredSequence
    deliveries(first: 100) { sequence attempt at succeeded statusCode error } } }"""


@dataclass
class Sink:
    url: str
    record: Path

    def received(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text("utf-8").splitlines() if line]

    def accepted(self) -> list[int]:
        return [json.loads(r["body"])["sequence"] for r in self.received() if r["status"] == 204]


@contextmanager
def sink(tmp_path: Path, *, fail_first: int = 0, delay: float = 0.0) -> Iterator[Sink]:
    record = tmp_path / "received.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "webhook_sink.py"), "--record", str(record),
         "--fail-first", str(fail_first), "--delay", str(delay)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split()[1])
        yield Sink(f"http://127.0.0.1:{port}/hooks/veerkracht", record)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def signed_correctly(secret: str, headers: dict[str, str], body: str) -> bool:
    """The receiver's check (docs/webhooks.md): HMAC-SHA256 over "<t>.<body>", and a recent t."""
    parts = dict(item.split("=", 1) for item in headers["Veerkracht-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


async def _until(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def _create_organization(server: Server, token: str, slug: str) -> None:
    data = await _graphql(server, CREATE, {"slug": slug}, token)
    assert data["createOrganization"]["errors"] == []


async def test_every_change_reaches_a_failing_receiver_in_order_across_a_restart(
    backend: str, fresh_url: str, tmp_path: Path
) -> None:
    token = await _prepare(fresh_url)
    with sink(tmp_path, fail_first=3) as receiver:
        with servers(fresh_url, 1, env=WEBHOOK_ENV) as (server,):
            wanted = {
                "url": receiver.url,
                "entityTypes": ["Organization", "Initiative"],
                "clientMutationId": "r1",
            }
            created = (await _graphql(server, CREATE_WEBHOOK, {"input": wanted}, token))["createWebhook"]
            assert (created["errors"], created["clientMutationId"]) == ([], "r1")
            secret = created["secret"]
            start = created["webhook"]["lastDeliveredSequence"]
            await _create_organization(server, token, "hook-a")
            involvement = {"initiativeId": gid("Initiative", "veerkrachtdialoog"),
                           "participantId": gid("Municipality", "GM0794"), "role": "PARTNER", "sources": SOURCES}  # fmt: skip
            added = await _graphql(server, ADD_INVOLVEMENT, {"input": involvement}, token)
            assert added["addInvolvement"]["errors"] == []  # an Involvement: not of the webhook's types
            await _create_organization(server, token, "hook-b")
            # Stopped once the first failed attempt is logged (stopping between the receiver's answer and
            # that record would leave the attempt unlogged, at least once, and the log assertions below off).
            deadline = time.monotonic() + 60
            while not (await _graphql(server, DELIVERIES, {}, token))["webhooks"][0]["deliveries"]:
                assert time.monotonic() < deadline, "no delivery attempt logged"
                await asyncio.sleep(0.1)
        # The service stops with the receiver still failing: what is left must come after the restart.
        assert receiver.accepted() == []
        with servers(fresh_url, 1, env=WEBHOOK_ENV) as (server,):
            await _create_organization(server, token, "hook-c")
            feed = (await _graphql(server, FEED_AFTER, {"after": start}, token))["changes"]["nodes"]
            expected = [e for e in feed if e["entityType"] in ("Organization", "Initiative")]
            assert len(expected) == 3
            assert len(feed) == 4
            await _until(lambda: set(receiver.accepted()) >= {e["sequence"] for e in expected})
            (webhook,) = (await _graphql(server, DELIVERIES, {}, token))["webhooks"]

    received = receiver.received()
    assert [r["status"] for r in received[:3]] == [503, 503, 503]
    accepted = receiver.accepted()
    assert accepted == sorted(accepted), "in sequence order"
    assert sorted(set(accepted)) == [e["sequence"] for e in expected], "every change, none of other types"
    by_sequence = {e["sequence"]: e for e in expected}
    for record in received:
        assert signed_correctly(secret, record["headers"], record["body"])
        assert not signed_correctly("whsec_not-the-secret", record["headers"], record["body"])
        assert json.loads(record["body"]) == by_sequence[json.loads(record["body"])["sequence"]]
        assert record["headers"]["Veerkracht-Webhook-Id"] == created["webhook"]["id"]
        assert record["headers"]["Content-Type"] == "application/json"

    # The delivery log: three failed attempts at the first change, backing off, then each accepted once.
    log = list(reversed(webhook["deliveries"]))
    failed = [d for d in log if not d["succeeded"]]
    first = expected[0]["sequence"]
    assert [(d["sequence"], d["attempt"], d["statusCode"]) for d in failed] == [
        (first, n, 503) for n in (1, 2, 3)
    ]
    moments = [dt.datetime.fromisoformat(d["at"]) for d in failed]
    for attempt, (earlier, later) in enumerate(itertools.pairwise(moments), start=1):
        assert (later - earlier).total_seconds() >= min(0.5 * 2 ** (attempt - 1), 2) * 0.9, (
            "exponential backoff"
        )
    assert [d["sequence"] for d in log if d["succeeded"]] == accepted
    assert (webhook["failedAttempts"], webhook["lastDeliveredSequence"]) == (0, expected[-1]["sequence"])


async def test_several_processes_deliver_each_change_once_in_order(
    backend: str, fresh_url: str, tmp_path: Path
) -> None:
    """PostgreSQL: three instances, each with its delivery loop; SQLite: one server with three workers."""
    token = await _prepare(fresh_url)
    count, workers = (3, [1, 1, 1]) if backend == "postgresql" else (1, [3])
    with (
        sink(tmp_path, delay=0.05) as receiver,
        servers(fresh_url, count, workers=workers, env=WEBHOOK_ENV) as running,
    ):
        created = await _graphql(running[0], CREATE_WEBHOOK, {"input": {"url": receiver.url}}, token)
        start = created["createWebhook"]["webhook"]["lastDeliveredSequence"]
        for index in range(12):
            await _create_organization(running[index % count], token, f"many-{index}")
        await _until(lambda: len(receiver.accepted()) >= 12)
        await asyncio.sleep(1.5)  # time for a duplicate to show, if there were one
    assert receiver.accepted() == list(range(start + 1, start + 13))


@pytest.fixture
async def hooks(fresh_url: str) -> AsyncIterator[Api]:
    """The app (no delivery loop) with a webhook key, private addresses refused, and a write token."""
    await migrated_and_seeded(fresh_url)
    async for api in _api(fresh_url, webhook_key=KEY, webhook_deliveries=False):
        api.token = await api.make_token("integrator", "write")
        yield api


def _codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def test_a_webhook_url_must_be_public_and_its_types_known(hooks: Api) -> None:
    refused = {
        "http://127.0.0.1:8080/hook": ["input", "url"],
        "https://10.1.2.3/hook": ["input", "url"],
        "http://[::1]/hook": ["input", "url"],
        "http://169.254.169.254/latest/meta-data": ["input", "url"],
        "ftp://example.org/hook": ["input", "url"],
        "https://user:pw@example.org/hook": ["input", "url"],
        "not a url": ["input", "url"],
        "https://example.org/a\x00b": ["input", "url"],
        "https://example.org/" + "a" * 2000: ["input", "url"],
    }
    for url, field in refused.items():
        payload = (await hooks.data(CREATE_WEBHOOK, {"input": {"url": url}}))["createWebhook"]
        assert _codes(payload) == [(field, "INVALID")], url
        assert payload["webhook"] is None
        assert payload["secret"] is None
    payload = (await hooks.data(CREATE_WEBHOOK, {"input": {"url": "https://example.org/h", "entityTypes": ["Initiative", "Gemeente"]}}))["createWebhook"]  # fmt: skip
    assert _codes(payload) == [(["input", "entityTypes", "1"], "INVALID")]
    assert "Municipality" in payload["errors"][0]["message"]
    assert (await hooks.data("{ webhooks { id } }"))["webhooks"] == []


async def test_create_list_fetch_redeliver_and_delete(hooks: Api) -> None:
    head = (await hooks.data("{ changes(first: 0) { head } }"))["changes"]["head"]
    payload = (await hooks.data(CREATE_WEBHOOK, {"input": {"url": "https://example.org/h", "clientMutationId": "c"}}))["createWebhook"]  # fmt: skip
    assert payload["errors"] == []
    assert payload["clientMutationId"] == "c"
    webhook = payload["webhook"]
    assert payload["secret"].startswith("whsec_")
    assert len(payload["secret"]) > 40
    assert (webhook["url"], webhook["entityTypes"], webhook["active"], webhook["lastDeliveredSequence"]) == (
        "https://example.org/h", None, True, head,
    )  # fmt: skip
    assert (await hooks.data("{ webhooks { id url } }"))["webhooks"] == [
        {"id": webhook["id"], "url": "https://example.org/h"}
    ]
    fetched = await hooks.data(
        "query($id: ID!) { node(id: $id) { ... on Webhook { url } } }", {"id": webhook["id"]}
    )
    assert fetched == {"node": {"url": "https://example.org/h"}}
    # The secret is shown once: nothing else returns it, and the database does not hold it.
    async with hooks.app.state.sessionmaker() as session:
        from sqlalchemy import text

        stored = (await session.execute(text("SELECT * FROM webhook"))).one()
    assert payload["secret"] not in json.dumps([str(value) for value in stored])

    redeliver = """mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) {
        webhook { lastDeliveredSequence } clientMutationId errors { field code message } } }"""
    too_far = (await hooks.data(redeliver, {"input": {"id": webhook["id"], "fromSequence": head + 2}}))[
        "redeliverWebhook"
    ]
    assert _codes(too_far) == [(["input", "fromSequence"], "INVALID")]
    again = (await hooks.data(redeliver, {"input": {"id": webhook["id"], "fromSequence": 5, "clientMutationId": "x"}}))["redeliverWebhook"]  # fmt: skip
    assert again == {"webhook": {"lastDeliveredSequence": 4}, "clientMutationId": "x", "errors": []}

    delete = """mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) {
        deletedId clientMutationId errors { field code } } }"""
    deleted = (await hooks.data(delete, {"input": {"id": webhook["id"], "clientMutationId": "d"}}))[
        "deleteWebhook"
    ]
    assert deleted == {"deletedId": webhook["id"], "clientMutationId": "d", "errors": []}
    gone = (await hooks.data(delete, {"input": {"id": webhook["id"]}}))["deleteWebhook"]
    assert gone["errors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]
    assert (await hooks.data("{ webhooks { id } }"))["webhooks"] == []


async def test_webhooks_need_the_write_scope_and_a_key(hooks: Api, fresh_url: str) -> None:
    hooks.token = await hooks.make_token("reader", "read")
    for query in (
        "{ webhooks { id } }",
        'mutation { createWebhook(input: {url: "https://example.org/h"}) { secret } }',
    ):
        (error,) = await hooks.errors(query)
        assert error["extensions"]["code"] == "FORBIDDEN"
    hooks.token = None
    (error,) = await hooks.errors("{ webhooks { id } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    async for keyless in _api(fresh_url, webhook_deliveries=False):
        keyless.token = await keyless.make_token("keyless", "write")
        payload = (await keyless.data(CREATE_WEBHOOK, {"input": {"url": "https://example.org/h"}}))[
            "createWebhook"
        ]
        assert _codes(payload) == [(["input"], "INVALID")]
        assert "VEERKRACHT_WEBHOOK_KEY" in payload["errors"][0]["message"]


async def test_webhook_answers_are_never_stale_nor_shown_without_the_write_scope(hooks: Api) -> None:
    listing = "{ webhooks { url lastDeliveredSequence } }"
    assert (await hooks.data(listing))["webhooks"] == []
    created = (await hooks.data(CREATE_WEBHOOK, {"input": {"url": "https://example.org/a"}}))["createWebhook"]
    # No change-log entry marks a registration; the response cache must not answer with the list before it.
    assert [w["url"] for w in (await hooks.data(listing))["webhooks"]] == ["https://example.org/a"]
    redeliver = (
        """mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { errors { code } } }"""
    )
    await hooks.data(redeliver, {"input": {"id": created["webhook"]["id"], "fromSequence": 3}})
    assert (await hooks.data(listing))["webhooks"][0]["lastDeliveredSequence"] == 2
    node = "query($id: ID!) { node(id: $id) { id ... on Webhook { url } } }"
    assert (await hooks.data(node, {"id": created["webhook"]["id"]}))["node"][
        "url"
    ] == "https://example.org/a"
    for token in (None, await hooks.make_token("just-reading", "read")):
        hooks.token = token
        (error,) = await hooks.errors(node, {"id": created["webhook"]["id"]})
        assert error["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")
        assert "example.org" not in json.dumps(error)


async def test_a_name_that_resolves_to_a_private_address_is_not_posted_to(
    backend: str, fresh_url: str, tmp_path: Path
) -> None:
    """Registered by name, "localhost" passes the URL check; every delivery resolves it, finds a loopback
    address, and refuses: the receiver, listening there, gets nothing."""
    if backend != "sqlite":
        pytest.skip("the address check does not depend on the database")
    await migrated_and_seeded(fresh_url)
    with sink(tmp_path) as receiver:
        async for api in _api(
            fresh_url, webhook_key=KEY, change_poll_seconds=0.2, webhook_backoff_seconds=60
        ):
            api.token = await api.make_token("integrator", "write")
            url = receiver.url.replace("127.0.0.1", "localhost")
            created = (await api.data(CREATE_WEBHOOK, {"input": {"url": url}}))["createWebhook"]
            assert created["errors"] == []
            await api.data(CREATE, {"slug": "naar-binnen"})
            deadline = time.monotonic() + 30
            while not (logged := (await api.data(DELIVERIES))["webhooks"][0]["deliveries"]):
                assert time.monotonic() < deadline, "no delivery attempt"
                await asyncio.sleep(0.1)
            (attempt,) = logged
            assert (attempt["succeeded"], attempt["statusCode"]) == (False, None)
            assert "non-public address" in attempt["error"]
    assert receiver.received() == []


async def test_delivery_logs_cost_one_statement_per_level(hooks: Api) -> None:
    query = "{ webhooks { url deliveries(first: 5) { sequence } latest: deliveries(first: 1) { sequence } } }"
    await hooks.data(CREATE_WEBHOOK, {"input": {"url": "https://example.org/1"}})
    one = await hooks.count_statements(query)
    for n in (2, 3, 4):
        await hooks.data(CREATE_WEBHOOK, {"input": {"url": f"https://example.org/{n}"}})
    assert await hooks.count_statements(query) == one


def test_webhook_timings_must_be_positive() -> None:
    for name in ("webhook_timeout_seconds", "webhook_backoff_seconds", "webhook_backoff_max_seconds"):
        with pytest.raises(ValidationError, match=name):
            Settings(**{name: 0})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(webhook_key="short")
    assert Settings(webhook_key="").webhook_key is None
