"""The GraphQL endpoint: Strawberry's ASGI view with our context and GraphiQL page.

It follows the GraphQL over HTTP specification (https://graphql.github.io/graphql-over-http/draft/), which
Strawberry's view does only in part; ``tests/test_http_audit.py`` runs the ``graphql-http`` audit suite
against a real server. What this view adds:

- ``Accept`` is negotiated: ``application/graphql-response+json`` when the client names it (preferred, as
  the spec asks, unless the client's q-values prefer ``application/json``), ``application/json`` when only
  that, a wildcard or no ``Accept`` is given, 406 when neither is acceptable. The ``Content-Type`` of the
  response is the negotiated type.
- With ``application/graphql-response+json``, a request that fails before execution (it does not parse or
  validate, its variables do not coerce, ...) is answered 400 (500 for an internal error) without a
  ``data`` entry. With ``application/json`` such a request is answered 200, as before and as the spec asks.
- A mutation over GET is 405 with ``Allow: POST``; any method but GET and POST is 405 with ``Allow``.
- A POST without a JSON ``Content-Type`` is 415; a body that is not a JSON object, or an ``operationName``
  that is not a string, is 400.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import InvalidOperationTypeError

from app.services.nesting import MAX_JSON_DEPTH, nested_deeper_than
from app.web import graphiql
from app.web.pipeline import Exchange, Pipeline
from app.web.pipeline.cost import Meter
from app.web.pipeline.decode import is_json_utf8
from app.web.pipeline.encode import GRAPHQL_RESPONSE_JSON, JSON, MediaType, encode_json
from app.web.pipeline.identify import authenticator
from schema.context import Context
from schema.errors import INTERNAL_SERVER_ERROR

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.types import Receive, Scope, Send
    from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
    from strawberry.types import ExecutionResult

__all__ = ["GRAPHQL_RESPONSE_JSON", "JSON", "GraphQLApp", "HTTPError", "MediaType", "negotiate"]

# How specifically an Accept media range names a type (RFC 9110 §12.5.1: the most specific range wins).
_EXACT, _SUBTYPE_WILDCARD, _WILDCARD, _UNMATCHED = 3, 2, 1, 0


class NestedTooDeep(json.JSONDecodeError):
    """JSON nested deeper than ``MAX_JSON_DEPTH``."""


class HTTPError(HTTPException):
    """An ``HTTPException`` with response headers (Strawberry's cannot carry any, e.g. ``Allow``)."""

    def __init__(self, status_code: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status_code, reason)
        self.headers = dict(headers or {})


def _acceptance(accept: str, media_type: str) -> tuple[float, int]:
    """The q-value ``accept`` gives ``media_type`` and how specific the deciding media range is.

    An unparsable ``q`` makes its range count as absent, not as a preference either way.
    """
    kind = media_type.split("/", 1)[0]
    best: tuple[float, int] = (0.0, _UNMATCHED)
    for media_range in accept.split(","):
        name, *parameters = (part.strip() for part in media_range.split(";"))
        name = name.lower()
        specificity = {media_type: _EXACT, f"{kind}/*": _SUBTYPE_WILDCARD, "*/*": _WILDCARD}.get(name)
        if specificity is None or specificity <= best[1]:
            continue
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        if 0.0 <= quality <= 1.0:
            best = (quality, specificity)
    return best


def negotiate(accept: str | None) -> MediaType | None:
    """The response media type for a request's ``Accept`` header; ``None`` if it accepts neither JSON type.

    ``application/graphql-response+json`` when the client names it and does not prefer ``application/json``
    by q-value. A wildcard alone (``*/*``, ``application/*``) or no ``Accept`` at all gets
    ``application/json``: the spec's default while legacy clients, which send ``*/*`` and may not expect a
    4xx for a GraphQL error, are still common.
    """
    if accept is None or not accept.strip():
        return JSON
    graphql_q, graphql_specificity = _acceptance(accept, GRAPHQL_RESPONSE_JSON)
    json_q, json_specificity = _acceptance(accept, JSON)
    if graphql_q == 0 and json_q == 0:
        return None
    named = graphql_specificity == _EXACT
    if (graphql_q, graphql_specificity, named) > (json_q, json_specificity, False):
        return GRAPHQL_RESPONSE_JSON
    return JSON


def _check_content_type(content_type: str | None, *, multipart: bool) -> str:
    """The media type of a POST's body; 415 unless JSON in UTF-8 (or multipart, when uploads are enabled)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data" and multipart:
        return media_type
    if is_json_utf8(content_type):
        return JSON
    reason = "ontbreekt" if not media_type else f"wordt niet ondersteund: {content_type}"
    raise HTTPError(415, f"Content-Type {reason}. Stuur de operatie als JSON: Content-Type: application/json")


def _failed_before_execution(result: ExecutionResult) -> bool:
    """Whether ``result`` is a request error: no data, and no error from a field (those have a path).

    Parse, validation and variable coercion errors, and operations refused before they run (query cost, rate
    limit), are such errors; a partial response, even with ``data: null``, is not.
    """
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def _is_internal(error: GraphQLError) -> bool:
    """Whether a request error is our fault (500), not the client's (400), by the schema's error code."""
    return (error.extensions or {}).get("code") == INTERNAL_SERVER_ERROR


class _SubResponse(Response):
    """Strawberry's per-request sub-response (resolvers may set its status and headers), plus the request's
    Exchange."""

    exchange: Exchange


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with our typed per-request context, following the GraphQL over HTTP spec.

    An HTTP request goes through the request pipeline (app/web/pipeline/), which runs Strawberry (this
    class's ``run``) for every plan but a prepared document's; what the spec asks of HTTP (the statuses,
    ``Content-Type``, ``Accept``, ``Allow``) is decided here.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipeline = Pipeline(self.schema._schema, self.run)  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The pipeline; an error response carries an ``HTTPError``'s headers."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        media_type = negotiate(request.headers.get("accept"))
        try:
            if media_type is None:  # GraphiQL for a browser, or 406 (parse_http_body)
                response = await self.run(request)
            else:
                exchange = Exchange(media_type, _meter(request, once=True))
                request.state.exchange = exchange
                response = await self.pipeline.handle(request, exchange)
        except HTTPException as error:
            headers = dict(error.headers) if isinstance(error, HTTPError) else {}
            if error.status_code == 405:
                # Strawberry's own 405 (a method other than GET and POST, such as HEAD) has no Allow header,
                # which RFC 9110 requires of a 405.
                headers.setdefault("Allow", "GET, POST")
            response = PlainTextResponse(error.reason, status_code=error.status_code, headers=headers)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """orjson, refusing JSON nested more than ``MAX_JSON_DEPTH`` levels (a clear 400 from
        :meth:`parse_json`, a closed socket over a websocket): Python's json module raised RecursionError
        at about 1,000 levels (a 500), and coercion and the cache key recurse too."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            if "depth" in str(error):
                raise NestedTooDeep(str(error), data if isinstance(data, str) else "", 0) from None
            try:
                # The standard library's: it reads a lone surrogate's escape, which orjson refuses and a
                # client may send (tests/test_fuzz.py).
                value = json.loads(data)
            except RecursionError:
                raise NestedTooDeep("nested too deep", data if isinstance(data, str) else "", 0) from None
        if nested_deeper_than(value):
            raise NestedTooDeep(
                f"nested more than {MAX_JSON_DEPTH} levels deep", data if isinstance(data, str) else "", 0
            )
        return value

    def parse_json(self, data: str | bytes) -> object:
        try:
            return self.decode_json(data)
        except json.JSONDecodeError as error:
            if isinstance(error, NestedTooDeep):
                raise HTTPException(
                    400,
                    f"The request's JSON is nested more than {MAX_JSON_DEPTH} levels deep (arrays or objects "
                    "inside each other); no operation of this API needs that. Send flatter variables.",
                ) from None
            raise HTTPException(400, "Unable to parse request body as JSON") from error

    def encode_json(self, data: object) -> str:
        """The pipeline's encoder (app/web/pipeline/encode.py): orjson, with the database's JSON spliced in."""
        return encode_json(data)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        exchange: Exchange | None = getattr(request.state, "exchange", None)
        context = Context(
            settings=state.settings,
            sessionmaker=state.sessionmaker,
            request=request,
            response=response,
            authorization=request.headers.get("authorization"),
            broker=state.broker,
            compiled=getattr(state, "compiled_runner", None),
            authenticate=authenticator(state.settings),
            # An HTTP request (it has an Exchange: get_sub_response) is one operation, charged once; a
            # websocket carries many, each charged.
            meter=exchange.meter if exchange is not None else _meter(request, once=False),
            on_not_cacheable=exchange.mark_not_cacheable if exchange is not None else None,
        )
        if exchange is not None and exchange.caller is not None:
            context.knows_identity(exchange.caller.identity)
        return context

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Strawberry's (a GET without ``query`` from a browser), except a persisted query's GET, which has
        only ``extensions`` (app/services/persisted.py) and is answered with JSON."""
        return super().should_render_graphql_ide(request) and request.query_params.get("extensions") is None

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page, its assets served from /graphql-assets (Strawberry's own uses a CDN)."""
        return graphiql.graphiql_response()

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Strawberry's sub-response, carrying the negotiated media type to ``create_response``.

        The request's Exchange is also in ``request.state``, the only way from ``process_result`` (which gets
        the request) to ``create_response`` (which gets the sub-response). A request that accepts neither
        JSON type is refused in ``parse_http_body``, not here: a browser's request for GraphiQL accepts only
        HTML. Strawberry calls this before ``get_context`` for every HTTP request, never for a websocket.
        """
        sub_response = _SubResponse()
        sub_response.status_code = None  # type: ignore[assignment]  # as Strawberry's: None is "not set"
        del sub_response.headers["content-length"]
        exchange: Exchange | None = getattr(request.state, "exchange", None)
        if exchange is None:  # a request the pipeline did not see (GraphiQL's page, a 406)
            exchange = Exchange(negotiate(request.headers.get("accept")) or JSON, _meter(request, once=True))
            request.state.exchange = exchange
        sub_response.exchange = exchange
        return sub_response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's, refusing what it lets through: unacceptable ``Accept``, non-JSON POST, bad params.

        The body is decoded once here to check that it is a JSON object (Strawberry's fails with a 500 on
        ``"x"`` or ``null``) and again by Strawberry; a GraphQL request body is small and already limited.
        """
        if negotiate(request.headers.get("accept")) is None:
            raise HTTPError(
                406,
                f"Not Acceptable: dit endpoint antwoordt met {GRAPHQL_RESPONSE_JSON} of {JSON}.",
                {"Accept": f"{GRAPHQL_RESPONSE_JSON}, {JSON}"},
            )
        if request.method == "POST":
            media_type = _check_content_type(request.content_type, multipart=self.multipart_uploads_enabled)
            if media_type == JSON:
                body = self.parse_json(await request.get_body())
                if not isinstance(body, dict | list):  # a list is a batch: Strawberry checks those
                    raise HTTPException(400, "De request body moet een JSON-object zijn.")
        parsed = await super().parse_http_body(request)
        for data in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(data.operation_name, str | None):
                raise HTTPException(
                    400, "The GraphQL operation's `operationName` must be a string or null, if provided."
                )
        return parsed

    async def execute_single(  # Strawberry's signature
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, with 405 and ``Allow: POST`` for a mutation over GET (Strawberry answers 400).

        Strawberry turns the schema's ``InvalidOperationTypeError`` into a plain 400 ``HTTPException``
        raised ``from`` it; only the cause says that the operation's type was refused. Over GET only a
        mutation can be (queries and subscriptions are allowed), and the spec asks for 405 then.
        """
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            if request_adapter.method == "GET" and isinstance(error.__cause__, InvalidOperationTypeError):
                raise HTTPError(
                    405, "Mutaties mogen niet via GET: stuur ze met POST.", {"Allow": "POST"}
                ) from error.__cause__
            raise

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Strawberry's, noting a request error and leaving out its ``data`` for graphql-response+json.

        The spec's ``application/graphql-response+json`` tells a request error (no ``data`` entry, 4xx) from
        a partial response (``data``, 200); ``application/json`` keeps Strawberry's ``data: null``.
        """
        response_data = await super().process_result(request, result)
        exchange: Exchange | None = getattr(request.state, "exchange", None)
        if exchange is not None:
            exchange.has_errors = bool(result.errors)
        if exchange is not None and _failed_before_execution(result):
            exchange.request_error = True
            exchange.internal_error = any(_is_internal(error) for error in result.errors or [])
            if exchange.media_type == GRAPHQL_RESPONSE_JSON:
                response_data.pop("data", None)
        return response_data

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """Strawberry's, with the negotiated ``Content-Type`` and, for graphql-response+json, the status.

        A status that a resolver or extension set on the sub-response (429 for a spent rate limit) stands.
        """
        response = super().create_response(response_data, sub_response)
        if not isinstance(sub_response, _SubResponse):
            return response
        exchange = sub_response.exchange
        response.headers["content-type"] = exchange.media_type
        # A batch has no single status to give; batching is off in this schema anyway.
        single = not isinstance(response_data, list)
        graphql_response = exchange.media_type == GRAPHQL_RESPONSE_JSON
        if single and graphql_response and exchange.request_error and not sub_response.status_code:
            response.status_code = 500 if exchange.internal_error else 400
        return response


def _meter(request: Request | WebSocket, *, once: bool) -> Meter:
    state = request.app.state
    limiter = getattr(state, "rate_limiter", None)
    return Meter(limiter, request, trust_forwarded_for=state.settings.trust_forwarded_for, once=once)
