"""Stage 1, decode: the GraphQL parameters of a GET or JSON POST, read once for every later stage.

A persisted query (``extensions.persistedQuery``) is decoded to the document it names. Only a request
that the view would accept as it stands is decoded; anything else (another method or
``Content-Type``, a body that is not a JSON object, parameters of the wrong type) gives None, and the view
answers it through Strawberry with the status the GraphQL over HTTP spec asks for (app/web/view.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from app.services.nesting import nested_deeper_than
from app.services.persisted import DocumentRefused, PersistedDocuments
from app.web.pipeline.encode import JSON


@dataclass(frozen=True, slots=True)
class Params:
    """A GraphQL request's parameters."""

    query: str
    operation_name: str | None
    variables: dict[str, Any]
    """``{}`` when none were given."""
    extensions: dict[str, Any] | None


def is_json_utf8(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` is ``application/json``, in UTF-8 if it names a charset."""
    media_type, *parameters = (part.strip().lower() for part in (content_type or "").split(";"))
    if media_type != JSON:
        return False
    charsets = [
        value.strip('"') for key, _, value in (p.partition("=") for p in parameters) if key == "charset"
    ]
    return all(charset in {"utf-8", "utf8"} for charset in charsets)


async def decode(request: Request) -> Params | None:
    """``query``, ``operationName``, ``variables`` and ``extensions`` of a GET or a JSON POST; None when the
    request is anything else or malformed (the view says why)."""
    if request.method == "GET":
        query_params = request.query_params
        query = query_params.get("query")
        operation_name = query_params.get("operationName")
        raw_variables = query_params.get("variables")
        raw_extensions = query_params.get("extensions")
        try:
            variables = orjson.loads(raw_variables) if raw_variables else None
            extensions = orjson.loads(raw_extensions) if raw_extensions else None
        except orjson.JSONDecodeError:
            return None
    elif request.method == "POST":
        if not is_json_utf8(request.headers.get("content-type")):
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
    if not isinstance(query, str | None) or not isinstance(operation_name, str | None):
        return None
    if not isinstance(variables, dict | None) or not isinstance(extensions, dict | None):
        return None
    if nested_deeper_than(variables) or nested_deeper_than(extensions):
        return None  # the view answers it with a 400 saying so (app/web/view.py, parse_json)
    query = persisted_document(request, query, extensions)
    if query is None:
        return None
    return Params(query, operation_name, variables or {}, extensions)


def persisted_document(request: Request, query: str | None, extensions: dict[str, Any] | None) -> str | None:
    """The document a request names: its ``query``, or the persisted query its ``extensions`` name
    (app/services/persisted.py: registered on the way, refused when the allow-list does not hold it).

    Every later stage sees the document's text: the plan (prepared or not) and the response cache are
    found by it, so a persisted query gets the same answer and the same fast paths as the full text. None
    when there is no document to run, or it is refused: Strawberry's pipeline answers then (its
    TrustedDocuments extension, schema/persisted.py, with the refusal).
    """
    store: PersistedDocuments | None = getattr(request.app.state, "persisted_documents", None)
    if store is None:
        return query
    try:
        return store.resolve(query, extensions)
    except DocumentRefused:
        return None
