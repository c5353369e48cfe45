"""examples/impact_monitor_sync.py against a live server while another client writes."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.servers import ROOT, servers
from tests.test_subscriptions import CREATE, _prepare

EXAMPLE = ROOT / "examples" / "impact_monitor_sync.py"


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
        events, written = await _run_example(server.url, state, ["sync-a", "sync-b", "sync-c"], token)
        snapshot = next(e for e in events if e["event"] == "snapshot")
        assert (snapshot["municipalities"], snapshot["initiatives"], snapshot["involvements"]) == (71, 9, 53)
        live = [e for e in events if e["event"] == "change"]
        assert [e["entityId"] for e in live] == written
        assert [e["actor"] for e in live] == ["monitor"] * 3
        last = live[-1]["sequence"]

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
