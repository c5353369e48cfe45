"""The response cache for reads: whole HTTP answers, reused while the data has not changed.

Key: the normalised document (graphql-core's printed AST, so whitespace and comments do not matter), the
operation name, the variables (canonical JSON), the caller's access level (anonymous, read or write), the
response's media type and today's date in the province (``active`` without a date means today).

Freshness: every committed write, whether a mutation, a seed or an import, advances the change log's
counter row (``change_counter.last_sequence``, see app/services/audit.py) in its own transaction. Each
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

import functools
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse, print_ast
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from app.models.access import ChangeCounter
from app.observability import CACHE
from app.services.tokens import Identity, authenticate_header

DATA_VERSION = select(ChangeCounter.last_sequence).where(ChangeCounter.id == 1)
"""The data version an answer is stored under: every committed write advances it."""


@dataclass(frozen=True)
class Entry:
    body: bytes
    media_type: str
    cost: int | None
    operation: str | None


@dataclass
class Lookup:
    """What the cache decided about one request."""

    key: str
    version: int
    access: str
    identity: Identity | None
    """The caller's token; None without one."""
    operation: str | None
    entry: Entry | None = None

    @property
    def etag(self) -> str:
        return etag(self.version, self.key)


def etag(version: int, key: str) -> str:
    """The ``ETag`` of the answer stored under ``key`` at data version ``version``."""
    return f'"{version}-{key[:24]}"'


def access_level(identity: Identity | None) -> str:
    return identity.scope.value if identity is not None else "anonymous"


@functools.lru_cache(maxsize=1024)
def normalised(query: str) -> tuple[str, tuple[tuple[str | None, str], ...]] | None:
    """The printed document and its operations (name, type); None when it does not parse."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = tuple(
        (d.name.value if d.name else None, d.operation.value)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )
    return print_ast(document), operations


class ResponseCache:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, max_entries: int, today: Any
    ) -> None:
        self.sessionmaker = sessionmaker
        self.max_entries = max_entries
        self.today = today
        self.entries: OrderedDict[str, tuple[int, Entry]] = OrderedDict()

    async def lookup(
        self, request: Request, media_type: str, params: tuple[str, str | None, Any] | None
    ) -> Lookup | None:
        """The cache's view of ``request`` (its :func:`request_params`); None when it is not a cacheable read
        (the view runs it as usual)."""
        if params is None:
            return None
        query, operation_name, variables = params
        normalised_query = normalised(query)
        if normalised_query is None:
            return None
        document, operations = normalised_query
        chosen = [op for op in operations if operation_name is None or op[0] == operation_name]
        if len(chosen) != 1 or chosen[0][1] != "query" or (operation_name is None and len(operations) != 1):
            return None
        async with self.sessionmaker() as session:
            version = int(await session.scalar(DATA_VERSION) or 0)
            authorization = request.headers.get("authorization")
            identity = await authenticate_header(session, authorization) if authorization else None
        if authorization and identity is None:
            return None  # a token that does not authenticate: let the normal path answer that
        access = access_level(identity)
        key = self.key(document, operation_name, variables, access, media_type)
        lookup = Lookup(key=key, version=version, access=access, identity=identity, operation=chosen[0][0])
        lookup.entry = self.get(key, version)
        return lookup

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
        found = self.entries.get(key)
        if found is not None and found[0] == version:
            self.entries.move_to_end(key)
            CACHE.labels("response", "hit").inc()
            return found[1]
        CACHE.labels("response", "miss").inc()
        return None

    def store(self, key: str, version: int, entry: Entry) -> None:
        self.entries[key] = (version, entry)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


async def request_params(request: Request) -> tuple[str, str | None, Any] | None:
    """query, operationName and variables of a GET or JSON POST; None when malformed (the view says why)."""
    if request.method == "GET":
        query = request.query_params.get("query")
        operation_name = request.query_params.get("operationName")
        raw_variables = request.query_params.get("variables")
        raw_extensions = request.query_params.get("extensions")
        try:
            variables = orjson.loads(raw_variables) if raw_variables else None
            extensions = orjson.loads(raw_extensions) if raw_extensions else None
        except orjson.JSONDecodeError:
            return None
    elif request.method == "POST":
        if not request.headers.get("content-type", "").lower().startswith("application/json"):
            return None
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
        query, operation_name, variables = body.get("query"), body.get("operationName"), body.get("variables")
        extensions = body.get("extensions")
    else:
        return None
    if not isinstance(query, str) or not isinstance(operation_name, str | None):
        return None
    if not isinstance(variables, dict | None) or not isinstance(extensions, dict | None):
        return None  # malformed: the normal path answers it with 400
    return query, operation_name, variables or {}
