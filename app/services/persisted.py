"""Trusted documents: automatic persisted queries (APQ) and an optional allow-list of documents.

**Automatic persisted queries** (Apollo's protocol, version 1). A client sends only the SHA-256 of its
document, ``extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}``, over POST or over GET
(``?extensions=...&variables=...``: a URL that a CDN or proxy can cache). A hash the service does not know is
answered with the error ``PersistedQueryNotFound`` (code ``PERSISTED_QUERY_NOT_FOUND``, HTTP 200, as Apollo
Server answers it, so Apollo's and urql's links recognise it); the client then sends the document with its
hash once, the service checks that the hash is the document's, keeps it, and runs it. The store is a
bounded cache per process (``persisted_queries_max_entries`` documents and ``persisted_queries_max_bytes``
of them, the least recently used going first): a forgotten document costs the client one round trip more.

**Trusted documents** (``VEERKRACHT_TRUSTED_DOCUMENTS=path``): production mode, where only the documents of
an allow-list file run. The file is a JSON object of id -> document text, as GraphQL Code Generator's client
preset writes ``persisted-documents.json`` and the Relay compiler its ``persistConfig`` file; an id may be
written ``sha256:<hex>``. A client names its document by id (``extensions.persistedQuery.sha256Hash``); a
document sent as text runs only when it is, character for character, one of the list's. Anything else is
refused with a message that says so. No document is registered then: the list is the whole of what runs.

The resolved document text then goes on like any other: the response cache, the prepared reads and the
parser caches are keyed by its text, so a persisted query gets the same answer, and the same fast paths,
as the same document sent in full.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, parse

APQ_VERSION = 1
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
PERSISTED_QUERY_BAD_REQUEST = "BAD_REQUEST"
DOCUMENT_NOT_TRUSTED = "DOCUMENT_NOT_TRUSTED"
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


class DocumentRefused(GraphQLError):
    """A request's document cannot be run: unknown hash, not on the allow-list, a hash that does not match."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})
        self.code = code


class TrustedDocumentsError(ValueError):
    """The allow-list file cannot be used; the message says where and why."""


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def _id(value: str) -> str:
    return value.removeprefix("sha256:").lower() if _SHA256.match(value.removeprefix("sha256:")) else value


def load_trusted_documents(path: Path) -> dict[str, str]:
    """The allow-list: id -> document. Every document must parse; the whole file is checked at start."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise TrustedDocumentsError(f"trusted documents {path}: cannot be read: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrustedDocumentsError(f"trusted documents {path}: is not a JSON file: {exc}") from None
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise TrustedDocumentsError(
            f"trusted documents {path}: must be a JSON object of id -> document text "
            '({"<sha256>": "query Name { ... }"}), as GraphQL Code Generator and Relay write it'
        )
    documents: dict[str, str] = {}
    for key, document in raw.items():
        try:
            parse(document)
        except GraphQLSyntaxError as exc:
            raise TrustedDocumentsError(
                f"trusted documents {path}: {key!r} does not parse: {exc.message}"
            ) from None
        documents[_id(key)] = document
    return documents


class PersistedDocuments:
    """The APQ store of one app (a bounded LRU), and its allow-list when trusted documents are on."""

    def __init__(
        self, *, max_entries: int, max_bytes: int, trusted: dict[str, str] | None = None, apq: bool = True
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.apq = apq
        self.trusted = trusted
        self._trusted_texts = {document for document in (trusted or {}).values()}
        self._store: OrderedDict[str, str] = OrderedDict()
        self.bytes = 0

    @classmethod
    def from_settings(cls, settings: Any) -> PersistedDocuments | None:
        trusted = (
            load_trusted_documents(Path(settings.trusted_documents)) if settings.trusted_documents else None
        )
        if trusted is None and not settings.persisted_queries:
            return None
        return cls(
            max_entries=settings.persisted_queries_max_entries,
            max_bytes=settings.persisted_queries_max_bytes,
            trusted=trusted,
            apq=settings.persisted_queries,
        )

    def __len__(self) -> int:
        return len(self._store)

    def _remember(self, digest: str, document: str) -> None:
        size = len(document.encode())
        if size > self.max_bytes:
            return  # runs, but is not kept: it alone would fill the store
        old = self._store.pop(digest, None)
        if old is not None:
            self.bytes -= len(old.encode())
        self._store[digest] = document
        self.bytes += size
        while len(self._store) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self._store.popitem(last=False)
            self.bytes -= len(evicted.encode())

    def _recall(self, digest: str) -> str | None:
        document = self._store.get(digest)
        if document is not None:
            self._store.move_to_end(digest)
        return document

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document to run for a request's ``query`` and ``extensions``; :class:`DocumentRefused` if none.

        None only when the request has neither (the usual "no query" error follows).
        """
        query = query or None  # "" (a websocket payload must hold a query) is no document
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is not None and self.trusted is not None and query not in self._trusted_texts:
                raise DocumentRefused(
                    "This service runs trusted documents only, and this document is not one of them: send "
                    "the id of a document from its allow-list (extensions.persistedQuery.sha256Hash).",
                    DOCUMENT_NOT_TRUSTED,
                )
            return query
        if not isinstance(persisted, dict) or persisted.get("version") != APQ_VERSION:
            raise DocumentRefused(
                "Unsupported persisted query version: extensions.persistedQuery must be "
                '{"version": 1, "sha256Hash": "<SHA-256 of the document, hex>"}.',
                PERSISTED_QUERY_BAD_REQUEST,
            )
        given = persisted.get("sha256Hash")
        if not isinstance(given, str) or not given:
            raise DocumentRefused(
                "extensions.persistedQuery.sha256Hash must be the document's SHA-256, as 64 hexadecimal digits.",
                PERSISTED_QUERY_BAD_REQUEST,
            )
        if self.trusted is not None:
            document = self.trusted.get(_id(given))
            if document is None:
                raise DocumentRefused(
                    f"No trusted document has the id {given[:80]!r}: this service runs only the documents of "
                    "its allow-list. Regenerate the client's persisted documents and deploy them with it.",
                    PERSISTED_QUERY_NOT_IN_LIST,
                )
            if query is not None and query != document:
                raise DocumentRefused(
                    f"The document sent is not the trusted document {given[:80]!r}.",
                    PERSISTED_QUERY_HASH_MISMATCH,
                )
            return document
        if not _SHA256.match(given):
            raise DocumentRefused(
                "extensions.persistedQuery.sha256Hash must be the document's SHA-256, as 64 hexadecimal digits.",
                PERSISTED_QUERY_BAD_REQUEST,
            )
        digest = given.lower()
        if query is None:
            document = self._recall(digest) if self.apq else None
            if document is None:
                # Apollo's exact message and code: clients send the document next.
                raise DocumentRefused("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND)
            return document
        if sha256(query) != digest:
            raise DocumentRefused(
                "provided sha does not match query: extensions.persistedQuery.sha256Hash must be the SHA-256 "
                "of the query text exactly as sent (UTF-8, hex).",
                PERSISTED_QUERY_HASH_MISMATCH,
            )
        if self.apq:
            self._remember(digest, query)
        return query
