"""Caches bounded by bytes as well as entries (issue 11: 1,100 distinct ~1 MB documents took a worker from
105 MB to 1.1 GB through a cache bounded only by its number of entries).

A cache is told each value's size when it is stored; the least recently used entries go first when either
bound is passed, and a value larger than the whole byte bound is not stored at all. Nothing that failed is
stored: callers put only what they computed successfully.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from app.observability import CACHE

K = TypeVar("K")
V = TypeVar("V")

DOCUMENT_BYTES_PER_CHARACTER = 100
"""What a parsed GraphQL document keeps in memory per character of its text, rounded up from measurement
(tracemalloc, graphql-core 3.3): the GraphiQL introspection query, 1,479 characters, parses into 78 kB
(53 per character); 200 aliased connections, 10,892 characters, into 1.1 MB (104). A document that is
mostly a comment or one long string keeps less; counting it as much keeps it out of the cache."""


def document_bytes(text: str) -> int:
    """The memory a parsed document of ``text`` is counted as (its text included)."""
    return (DOCUMENT_BYTES_PER_CHARACTER + 1) * len(text)


class BoundedLru(Generic[K, V]):
    """A least-recently-used map of at most ``max_entries`` entries and ``max_bytes`` bytes."""

    def __init__(self, name: str, *, max_entries: int, max_bytes: int) -> None:
        self.name = name
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def get(self, key: K, *, count: bool = True) -> V | None:
        found = self._entries.get(key)
        if found is None:
            if count:
                CACHE.labels(self.name, "miss").inc()
            return None
        self._entries.move_to_end(key)
        if count:
            CACHE.labels(self.name, "hit").inc()
        return found[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Store ``value`` counted as ``size`` bytes; evict until both bounds hold again."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        if size > self.max_bytes:
            return  # would evict everything else and still not fit
        self._entries[key] = (value, size)
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _key, (_value, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
