"""Memory from garbage (issue 11, item 5): every cache is bounded in bytes, the token limit applies before
any parse, and nothing that failed is kept. The real ASGI app over HTTP."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from app.caches import BoundedLru
from app.web.cache import normalised
from tests.conftest import _api


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_distinct_big_documents_are_not_kept(backend: str, seeded_url: str) -> None:
    """Before: 1,100 distinct ~1 MB bodies took a worker from 105 MB to 1.1 GB (the response cache's parse
    cache and the compiled plans' cache kept every text). The real app over HTTP, what Python keeps measured
    with tracemalloc (a server's resident size also moves with the allocator's arenas): 20 of ~900 kB were
    about 36 MB kept; now at most the 16 MB of the response cache's parse memo."""
    async for app in _api(seeded_url):
        await app.client.post("/graphql", json={"query": "{ __typename }"})
        padding = "#" + "x" * 900_000 + "\n"
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for number in range(20):
                # A comment is not a token: the document parses within the token limit and is answered.
                response = await app.client.post(
                    "/graphql", json={"query": f"{padding}query Q{number} {{ __typename }}"}
                )
                assert response.json()["data"] == {"__typename": "Query"}
            for _ in range(5):  # and ones that fail: above the token limit
                response = await app.client.post(
                    "/graphql", json={"query": padding + "{" + " __typename" * 6000 + " }"}
                )
                assert response.json()["errors"]
            gc.collect()
            kept = (tracemalloc.get_traced_memory()[0] - before) / 1024 / 1024
        finally:
            tracemalloc.stop()
        assert kept < 25, f"{kept:.0f} MB kept"


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
