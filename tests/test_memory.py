"""Memory from garbage (issue 11, item 5): every cache is bounded in bytes, the token limit applies before
any parse, and nothing that failed is kept. A real server process, its resident memory measured."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from app.caches import BoundedLru
from app.web.cache import normalised
from tests.servers import servers


def _resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_distinct_big_documents_do_not_grow_a_worker(backend: str, seeded_url: str) -> None:
    """Before: 1,100 distinct ~1 MB bodies took a worker from 105 MB to 1.1 GB (the response cache's parse
    cache kept every text). 60 of ~900 kB: about 100 MB as they were kept (the text in two caches), 16 MB at most now (the response cache's parse cache)."""
    with servers(seeded_url) as (server,):
        async with httpx.AsyncClient(timeout=60) as client:

            async def send(number: int, body: str) -> None:
                response = await client.post(server.url, json={"query": body})
                assert response.status_code == 200
                assert response.json()["data"] == {"__typename": "Query"} or response.json()["errors"]

            await send(0, "{ __typename }")
            before = _resident_mb(server.process.pid)
            padding = "#" + "x" * 900_000 + "\n"
            for number in range(60):
                # A comment is not a token: the document parses within the token limit, answers, and
                # is ~900 kB of text that a cache keyed by text would keep.
                await send(number, f"{padding}query Q{number} {{ __typename }}")
            for number in range(10):  # and ones that fail: above the token limit
                await send(number, padding + "{" + " __typename" * 6000 + " }")
            await asyncio.sleep(0.5)
            grown = _resident_mb(server.process.pid) - before
    assert grown < 40, f"the server grew by {grown:.0f} MB"


def test_the_token_limit_applies_before_the_cache_parses() -> None:
    assert normalised("{" + " __typename" * 6000 + " }", 5000) is None
    assert normalised("{" + " __typename" * 600 + " }", 5000) is not None


def test_a_bounded_cache_keeps_to_its_bytes() -> None:
    cache: BoundedLru[int, bytes] = BoundedLru("test", max_entries=100, max_bytes=1000)
    for key in range(50):
        cache.put(key, b"x" * 100, 100)
    assert cache.bytes <= 1000
    assert len(cache) == 10
    assert cache.get(49) is not None
    assert cache.get(0) is None, "least recently used went first"
    cache.put(99, b"x" * 2000, 2000)
    assert cache.get(99) is None, "larger than the whole bound: not kept"
    assert len(cache) == 10
