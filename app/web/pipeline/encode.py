"""Stage 6, encode: the bytes and the HTTP response of an answer.

Strawberry's answers are encoded by the view (its ``encode_json`` is :func:`encode_json`, its status and
``Content-Type`` rules are the GraphQL over HTTP spec's, in app/web/view.py); a prepared read's and a
cached answer's are built here, the same bytes Strawberry would send (tests/test_prepared.py checks).
"""

from __future__ import annotations

import json
from typing import Final, Literal

import orjson
from starlette.responses import Response

MediaType = Literal["application/graphql-response+json", "application/json"]
GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
JSON: Final = "application/json"


def _unfragment(value: object) -> object:
    if isinstance(value, orjson.Fragment):
        return orjson.loads(value.contents)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode_json(data: object) -> str:
    """orjson: several times faster than the standard library on large responses, and it splices
    ``orjson.Fragment`` values (JSON already built, e.g. by the database) in without parsing them.

    Text, not bytes: Strawberry sends bytes over a websocket as binary frames, which the
    graphql-transport-ws protocol does not allow.
    """
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        # A lone surrogate (which Strawberry's ID and Date parsers quote from a client's variable in
        # their messages) is not UTF-8; the standard library writes it as a JSON escape.
        return json.dumps(data, separators=(",", ":"), default=_unfragment)


def prepared_body(data: dict[str, orjson.Fragment], cost: int, limit: int) -> bytes:
    """A prepared read's answer: its root fields' JSON as the database built it, and the cost extension
    that ``QueryCost`` (schema/limits.py) would report."""
    return orjson.dumps({"data": data, "extensions": {"cost": {"requested": cost, "limit": limit}}})


def answer(body: bytes, media_type: str, headers: dict[str, str]) -> Response:
    """A 200 with a complete answer (prepared or cached)."""
    return Response(body, media_type=media_type, headers=headers)


def not_modified(etag: str) -> Response:
    """304: the client's copy (``If-None-Match``) is the answer at the current data version."""
    return Response(status_code=304, headers={"ETag": etag})
