"""The response cache for reads: whole HTTP answers, reused while the data has not changed.

Key: the normalised document (graphql-core's printed AST, so whitespace and comments do not matter), the
operation name, the variables (canonical JSON), the caller's access level (anonymous, read or write), the
response's media type and today's date in the province (``active`` without a date means today).

Freshness: every committed write, whether a mutation, a seed or an import, advances the change log's
counter row (``change_counter.last_sequence``, ``DATA_VERSION`` in app/services/audit.py) in its own
transaction. Each
request reads that row first (one primary-key lookup) and an entry is used only if it was stored under the
same number. Because every instance reads the one row in the one database, no instance serves data older
than a write committed before the request began, whichever instance made it; no notification can be missed
because none is relied upon. An entry's number is read *before* its operation runs, so a write that
commits while it runs makes the entry stale at once rather than hiding the write.

Only ``query`` operations whose answer is a 200 without errors are stored. A GET answer carries an ``ETag``
(the data version and the key), and ``If-None-Match`` with it gets 304 without running anything. A hit is
charged the operation's cost against the caller's rate limit, like the run it replaces.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse, print_ast

from app.caches import BoundedLru
from app.observability import CACHE


@dataclass(frozen=True)
class Entry:
    """A stored answer: its bytes and media type, and what a hit charges and logs."""

    body: bytes
    media_type: str
    cost: int | None
    operation: str | None


def etag(version: int, key: str) -> str:
    """The ``ETag`` of the answer stored under ``key`` at data version ``version``."""
    return f'"{version}-{key[:24]}"'


_NORMALISED: BoundedLru[tuple[str, int], tuple[str, tuple[tuple[str | None, str], ...]]] = BoundedLru(
    "response_parse", max_entries=1024, max_bytes=16 * 1024 * 1024
)
"""query text and token limit -> its printed document and operations (the text and the print are kept,
not the parsed document). A text that does not parse is not kept (issue 11: a functools.lru_cache of
1,024 texts, failures included, parsed without the token limit, took a worker to 1.1 GB)."""


def normalised(query: str, max_tokens: int = 5000) -> tuple[str, tuple[tuple[str | None, str], ...]] | None:
    """The printed document and its operations (name, type); None when it does not parse within
    ``max_tokens`` tokens (the app's ``max_tokens``: the limit applies before any parse, here too)."""
    key = (query, max_tokens)
    known = _NORMALISED.get(key, count=False)
    if known is not None:
        return known
    try:
        document = parse(query, max_tokens=max_tokens)
    except (GraphQLError, RecursionError):
        return None  # not kept: a failure is not worth memory
    operations = tuple(
        (d.name.value if d.name else None, d.operation.value)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )
    value = (print_ast(document), operations)
    _NORMALISED.put(key, value, 2 * len(query) + len(value[0]) + 200)
    return value


def cacheable(
    query: str, operation_name: str | None, max_tokens: int = 5000
) -> tuple[str, str | None] | None:
    """The normalised document and the operation's name when the request is one ``query`` operation
    (only those are cached); None otherwise (it does not parse, names no single operation, or is not a
    query)."""
    normal = normalised(query, max_tokens)
    if normal is None:
        return None
    document, operations = normal
    chosen = [op for op in operations if operation_name is None or op[0] == operation_name]
    if len(chosen) != 1 or chosen[0][1] != "query" or (operation_name is None and len(operations) != 1):
        return None
    return document, chosen[0][0]


class ResponseCache:
    """Whole answers by key, each stored under the data version it was made at (the pipeline reads the
    version, app/web/pipeline/answer.py); at most ``max_entries``, the least recently used dropped first."""

    def __init__(self, *, max_entries: int, today: Any, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.today = today
        self.entries: BoundedLru[str, tuple[int, Entry]] = BoundedLru(
            "response", max_entries=max_entries, max_bytes=max_bytes
        )

    def key(
        self, document: str, operation_name: str | None, variables: Any, access: str, media_type: str
    ) -> str:
        """The key of an answer: ``document`` is the normalised document (:func:`normalised`)."""
        material = orjson.dumps(
            [document, operation_name, variables, access, media_type, self.today().isoformat()],
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(material).hexdigest()

    def get(self, key: str, version: int) -> Entry | None:
        """The answer stored under ``key`` if it was stored at data version ``version``."""
        found = self.entries.get(key, count=False)
        if found is not None and found[0] == version:
            CACHE.labels("response", "hit").inc()
            return found[1]
        CACHE.labels("response", "miss").inc()
        return None

    def store(self, key: str, version: int, entry: Entry) -> None:
        """Keep an answer (only answers without errors are stored: the pipeline decides), counted as its
        body's bytes and the key's; at most ``max_entries`` and ``max_bytes`` (response_cache_bytes)."""
        self.entries.put(key, (version, entry), len(entry.body) + len(key) + 200)
