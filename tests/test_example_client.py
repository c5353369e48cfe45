"""examples/impact_monitor_sync.py against a live server while another client writes."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.servers import ROOT, servers
from tests.test_subscriptions import CREATE, _prepare
from tests.test_webhooks import WEBHOOK_ENV

EXAMPLE = ROOT / "examples" / "impact_monitor_sync.py"
RECEIVER = ROOT / "examples" / "webhook_receiver.py"


async def _write(url: str, token: str, slug: str) -> str:
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.post(
            url,
            json={"query": CREATE, "variables": {"slug": slug}},
            headers={"Authorization": f"Bearer {token}"},
        )
    return str(response.json()["data"]["createOrganization"]["organization"]["id"])


async def _run_example(
    url: str, state: Path, live_writes: list[str], token: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run the example until it has seen len(live_writes) live changes, writing those once it subscribed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--url", url, "--state", str(state),
        "--max-changes", str(len(live_writes)), "--timeout", "60",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    events: list[dict[str, Any]] = []
    written: list[str] = []
    async with asyncio.timeout(90):
        async for line in process.stdout:
            event = json.loads(line)
            events.append(event)
            if event["event"] == "subscribed":
                written = [await _write(url, token, slug) for slug in live_writes]
        code = await process.wait()
    assert process.stderr is not None
    assert code == 0, (await process.stderr.read()).decode()
    return events, written


async def test_the_example_pulls_follows_and_resumes(backend: str, fresh_url: str, tmp_path: Path) -> None:
    token = await _prepare(fresh_url)
    state = tmp_path / "state.json"
    with servers(fresh_url, 1) as (server,):
        async with httpx.AsyncClient(timeout=15) as client:
            answer = await client.post(server.url, json={"query": "{ changes(first: 0) { head } }"})
        head = answer.json()["data"]["changes"]["head"]
        events, written = await _run_example(server.url, state, ["sync-a", "sync-b", "sync-c"], token)
        snapshot = next(e for e in events if e["event"] == "snapshot")
        assert (snapshot["municipalities"], snapshot["initiatives"], snapshot["involvements"]) == (71, 9, 53)
        assert snapshot["lastSequence"] == head, "started from the feed's head, not by paging through it"
        live = [e for e in events if e["event"] == "change"]
        assert [e["entityId"] for e in live] == written
        assert [e["actor"] for e in live] == ["monitor"] * 3
        assert [e["naturalKey"] for e in live] == ["sync-a", "sync-b", "sync-c"]
        last = live[-1]["sequence"]
        saved = json.loads(state.read_text("utf-8"))
        # Each change was resolved with `node`: the replica holds the object as the API returns it.
        assert saved["objects"][written[0]] == {
            "__typename": "Organization", "id": written[0], "slug": "sync-a", "name": "sync-a",
            "kind": "OTHER", "website": None,
        }  # fmt: skip

        # While the monitor is away, two more writes; on its next start it catches up from its saved state.
        missed = [await _write(server.url, token, slug) for slug in ("away-1", "away-2")]
        events, written = await _run_example(server.url, state, ["back-1"], token)
        assert not any(e["event"] == "snapshot" for e in events), "resumed, no second full pull"
        changes = [e for e in events if e["event"] == "change"]
        assert [e["entityId"] for e in changes] == [*missed, *written]
        assert [e["sequence"] for e in changes] == [last + 1, last + 2, last + 3]
        saved = json.loads(state.read_text("utf-8"))
        assert saved["last_sequence"] == last + 3
        assert all(entity in saved["objects"] for entity in [*missed, *written])


async def _events_until(process: asyncio.subprocess.Process, event: str) -> list[dict[str, Any]]:
    assert process.stdout is not None
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(60):
        async for line in process.stdout:
            events.append(json.loads(line))
            if events[-1]["event"] == event:
                return events
    raise AssertionError(f"no {event!r} event: {events}")


async def test_the_webhook_receiver_registers_verifies_and_applies(
    backend: str, fresh_url: str, tmp_path: Path
) -> None:
    token = await _prepare(fresh_url)
    state = tmp_path / "receiver.json"
    with servers(fresh_url, 1, env=WEBHOOK_ENV) as (server,):
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(RECEIVER), "--api", server.url, "--token", token, "--port", "0",
            "--types", "Organization", "--state", str(state), "--max-events", "2", "--timeout", "60",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            events = await _events_until(process, "registered")
            port = events[0]["port"]
            # A forged delivery (no signature, a wrong one) is refused and not applied.
            async with httpx.AsyncClient(timeout=10) as client:
                forged = json.dumps({"sequence": 10**6}).encode()
                unsigned = await client.post(f"http://127.0.0.1:{port}/", content=forged)
                wrong = await client.post(
                    f"http://127.0.0.1:{port}/", content=forged,
                    headers={"Veerkracht-Signature": f"t={int(time.time())},v1={'0' * 64}"},
                )  # fmt: skip
            assert (unsigned.status_code, wrong.status_code) == (400, 400)
            written = [await _write(server.url, token, slug) for slug in ("hook-x", "hook-y")]
            events += await _events_until(process, "done")
            assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    rejected = [e["reason"] for e in events if e["event"] == "rejected"]
    assert rejected == ["no Veerkracht-Signature header", "a signature that does not match"]
    changes = [e for e in events if e["event"] == "change"]
    assert [e["entityId"] for e in changes] == written
    assert [e["naturalKey"] for e in changes] == ["hook-x", "hook-y"]
    assert changes[0]["afterValues"]["slug"] == "hook-x"
    saved = json.loads(state.read_text("utf-8"))
    assert saved["last_sequence"] == changes[-1]["sequence"]
    assert saved["secret"].startswith("whsec_")
