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
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from graphql.execution.values import VariableValues, get_variable_values
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import InvalidOperationTypeError

from app import graphiql
from app.observability import COMPILED_ROOT_FIELDS, PREPARED_READS, current_request
from app.response_cache import Entry, Lookup, ResponseCache, access_level, etag, request_params
from app.response_cache import normalised as normalise
from app.services.ratelimit import RateLimiter
from app.services.tokens import Identity, authenticate_header
from schema.compiled.plan import NotCompilable
from schema.compiled.prepared import PreparedRead, bind_statement, fragment
from schema.compiled.run import CompiledRunner, RunFailed
from schema.context import Context
from schema.errors import INTERNAL_SERVER_ERROR

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.types import Receive, Scope, Send
    from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
    from strawberry.types import ExecutionResult

MediaType = Literal["application/graphql-response+json", "application/json"]
GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
JSON: Final = "application/json"

_log = logging.getLogger("veerkracht.compiled")

# Counters of the prepared read path, bound to their labels once (a labels() lookup per request shows).
_PREPARED_ANSWERED = PREPARED_READS.labels("answered")
_PREPARED_HANDED_ON = PREPARED_READS.labels("handed_on")
_COMPILED = COMPILED_ROOT_FIELDS.labels("compiled")

# How specifically an Accept media range names a type (RFC 9110 §12.5.1: the most specific range wins).
_EXACT, _SUBTYPE_WILDCARD, _WILDCARD, _UNMATCHED = 3, 2, 1, 0


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
    media_type, *parameters = (part.strip().lower() for part in (content_type or "").split(";"))
    if media_type == "multipart/form-data" and multipart:
        return media_type
    charsets = [
        value.strip('"') for key, _, value in (p.partition("=") for p in parameters) if key == "charset"
    ]
    if media_type == JSON and all(charset in {"utf-8", "utf8"} for charset in charsets):
        return media_type
    reason = "missing" if not media_type else f"not supported: {content_type}"
    raise HTTPError(415, f"Content-Type {reason}. Send the operation as JSON: Content-Type: application/json")


def _failed_before_execution(result: ExecutionResult) -> bool:
    """Whether ``result`` is a request error: no data, and no error from a field (those have a path).

    Parse, validation and variable coercion errors, and operations refused before they run (query cost, rate
    limit), are such errors; a partial response, even with ``data: null``, is not.
    """
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def _unfragment(value: object) -> object:
    if isinstance(value, orjson.Fragment):
        return orjson.loads(value.contents)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _is_internal(error: GraphQLError) -> bool:
    """Whether a request error is our fault (500), not the client's (400), by the schema's error code."""
    return (error.extensions or {}).get("code") == INTERNAL_SERVER_ERROR


@dataclass
class _Exchange:
    """What the view decided about one HTTP request, from the parsed request to the response it builds."""

    media_type: MediaType
    has_errors: bool = False
    request_error: bool = False
    internal_error: bool = False


class _SubResponse(Response):
    """Strawberry's per-request sub-response (resolvers may set its status and headers), plus our _Exchange."""

    exchange: _Exchange


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with our typed per-request context, following the GraphQL over HTTP spec."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's, behind the response cache; an error response carries an ``HTTPError``'s headers."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self._run_cached(request)
        except HTTPException as error:
            headers = dict(error.headers) if isinstance(error, HTTPError) else {}
            if error.status_code == 405:
                # Strawberry's own 405 (a method other than GET and POST, such as HEAD) has no Allow header,
                # which RFC 9110 requires of a 405.
                headers.setdefault("Allow", "GET, POST")
            response = PlainTextResponse(error.reason, status_code=error.status_code, headers=headers)
        await response(scope, receive, send)

    async def _run_cached(self, request: Request) -> Response:
        """Strawberry's ``run``, behind the response cache (app/response_cache.py) for reads; a prepared read
        (schema/compiled/prepared.py) without either."""
        cache: ResponseCache | None = getattr(request.app.state, "response_cache", None)
        media_type = negotiate(request.headers.get("accept"))
        runner: CompiledRunner | None = getattr(request.app.state, "compiled_runner", None)
        prepared_reads = runner is not None and request.app.state.settings.compiled_reads
        if media_type is None or not (prepared_reads or cache is not None):
            return await self.run(request)
        params = await request_params(request)  # decoded once, for both
        if runner is not None and prepared_reads and params is not None:
            prepared = await self._run_prepared(request, runner, cache, media_type, params)
            if prepared is not None:
                return prepared
        try:
            lookup = await cache.lookup(request, media_type, params) if cache is not None else None
        except (SQLAlchemyError, OSError):
            # The database is away: the normal path answers with a GraphQL error saying so (the cache
            # cannot tell whether its entries are still current).
            lookup = None
        if lookup is None or cache is None:
            return await self.run(request)
        conditional = request.method == "GET" and request.headers.get("if-none-match") == lookup.etag
        entry = lookup.entry
        if entry is not None or conditional:
            cost = entry.cost if entry is not None and entry.cost is not None else 1
            if await self._within_rate_limit(request, lookup, cost):
                record = current_request.get()
                if record is not None:
                    record.operation, record.operation_type, record.cost = lookup.operation, "query", cost
                if conditional:  # the answer for this document and data version is the one the client has
                    return Response(status_code=304, headers={"ETag": lookup.etag})
                assert entry is not None
                headers = {"ETag": lookup.etag} if request.method == "GET" else {}
                return Response(entry.body, media_type=entry.media_type, headers=headers)
            # Over the limit: the normal path answers (and refuses) it, with the usual 429.
        # The token was checked by the lookup; the resolvers' context takes it from here.
        request.state.veerkracht_identity = lookup.identity
        response = await self.run(request)
        exchange: _Exchange | None = getattr(request.state, "graphql_exchange", None)
        if response.status_code == 200 and exchange is not None and not exchange.has_errors:
            record = current_request.get()
            body = response.body
            cache.store(
                lookup.key,
                lookup.version,
                Entry(
                    body=bytes(body),
                    media_type=exchange.media_type,
                    cost=record.cost if record is not None else None,
                    operation=lookup.operation,
                ),
            )
            if request.method == "GET":
                response.headers["ETag"] = lookup.etag
        return response

    async def _run_prepared(
        self,
        request: Request,
        runner: CompiledRunner,
        cache: ResponseCache | None,
        media_type: MediaType,
        params: tuple[str, str | None, Any],
    ) -> Response | None:
        """The answer to a prepared read (schema/compiled/prepared.py), or None: the normal path answers.

        What the pipeline would do for this document, in its order: the caller's token, variables, cost
        (refused above the limit), the rate limit, then (one connection) the response cache's data version
        and the compiled statements. Anything that would end in an error, or that the statements cannot
        answer, returns None before anything is sent, and the normal path answers it (a rate-limit charge
        already made is not made twice: ``request.state.veerkracht_charged``).
        """
        query, operation_name, raw_variables = params
        prepared = runner.prepared.get(query, operation_name)
        if prepared is None or runner.compiler is None:
            return None
        try:
            response = await self._answer_prepared(
                request, runner, cache, media_type, prepared, (query, operation_name, raw_variables)
            )
        except Exception:
            # Never answer worse than the pipeline would: it answers instead (with its own error, if any).
            _log.exception("a prepared read failed; the GraphQL pipeline answers instead")
            response = None
        (_PREPARED_ANSWERED if response is not None else _PREPARED_HANDED_ON).inc()
        return response

    async def _answer_prepared(
        self,
        request: Request,
        runner: CompiledRunner,
        cache: ResponseCache | None,
        media_type: MediaType,
        prepared: PreparedRead,
        params: tuple[str, str | None, dict[str, Any]],
    ) -> Response | None:
        query, operation_name, raw_variables = params
        assert runner.compiler is not None
        state = request.app.state
        settings = state.settings
        if request.method == "POST":
            try:
                _check_content_type(request.headers.get("content-type"), multipart=False)
            except HTTPException:
                return None
        authorization = request.headers.get("authorization")
        identity: Identity | None = None
        if authorization:
            async with state.sessionmaker() as session:
                identity = await authenticate_header(session, authorization)
            if identity is None:
                return None
        elif settings.require_token_for_reads:
            return None
        schema = self.schema._schema  # type: ignore[attr-defined]
        operation = prepared.operation
        variables = get_variable_values(schema, operation.variable_definitions or (), raw_variables)
        if not isinstance(variables, VariableValues):
            return None  # the normal path reports the variables' errors
        cost = prepared.cost(schema, raw_variables)
        if cost > settings.max_query_cost:
            return None
        try:
            statements = [
                (key, node, *bind_statement(plan, variables, runner.compiler, settings.max_page_size))
                for key, node, plan in prepared.fields
            ]
        except NotCompilable:
            return None
        limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
        if limiter is not None:
            trust = settings.trust_forwarded_for
            if await limiter.charge(request, identity, cost, trust_forwarded_for=trust) is not None:
                return None
            request.state.veerkracht_charged = cost
        record = current_request.get()
        if record is not None:
            record.operation, record.operation_type, record.cost = prepared.name, "query", cost
        request.state.veerkracht_identity = identity
        normal = normalise(query) if cache is not None else None
        key = (
            cache.key(normal[0], operation_name, raw_variables, access_level(identity), media_type)
            if cache is not None and normal is not None
            else None
        )
        version = 0
        headers: dict[str, str] = {}
        data: dict[str, orjson.Fragment] = {}
        try:
            async with runner.connect() as connection:
                if cache is not None and key is not None:
                    version = await connection.version()
                    tag = etag(version, key)
                    if request.method == "GET":
                        headers["ETag"] = tag
                    if request.method == "GET" and request.headers.get("if-none-match") == tag:
                        return Response(status_code=304, headers=headers)
                    entry = cache.get(key, version)
                    if entry is not None:
                        return Response(entry.body, media_type=entry.media_type, headers=headers)
                for key_, node, statement, values in statements:
                    answer = fragment(await connection.fetch(statement, values), node)
                    if answer is None:
                        return None
                    data[key_] = answer
        except RunFailed:
            return None
        _COMPILED.inc(len(data))
        body = orjson.dumps(
            {"data": data, "extensions": {"cost": {"requested": cost, "limit": settings.max_query_cost}}}
        )
        if cache is not None and key is not None:
            cache.store(
                key, version, Entry(body=body, media_type=media_type, cost=cost, operation=prepared.name)
            )
        return Response(body, media_type=media_type, headers=headers)

    @staticmethod
    async def _within_rate_limit(request: Request, lookup: Lookup, cost: int) -> bool:
        """Charge a cached answer's cost as the run it replaces would have been charged."""
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is None:
            return True
        trust = request.app.state.settings.trust_forwarded_for
        return await limiter.charge(request, lookup.identity, cost, trust_forwarded_for=trust) is None

    def encode_json(self, data: object) -> str:
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

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        context = Context(
            settings=state.settings,
            sessionmaker=state.sessionmaker,
            request=request,
            response=response,
            authorization=request.headers.get("authorization"),
            broker=state.broker,
            compiled=getattr(state, "compiled_runner", None),
        )
        if hasattr(request.state, "veerkracht_identity"):
            context.knows_identity(request.state.veerkracht_identity)
        return context

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page, its assets served from /graphql-assets (Strawberry's own uses a CDN)."""
        return graphiql.graphiql_response()

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Strawberry's sub-response, carrying the negotiated media type to ``create_response``.

        It is also kept in ``request.state``, the only way from ``process_result`` (which gets the request)
        to ``create_response`` (which gets the sub-response). A request that accepts neither JSON type is
        refused in ``parse_http_body``, not here: a browser's request for GraphiQL accepts only HTML.
        """
        sub_response = _SubResponse()
        sub_response.status_code = None  # type: ignore[assignment]  # as Strawberry's: None is "not set"
        del sub_response.headers["content-length"]
        sub_response.exchange = _Exchange(negotiate(request.headers.get("accept")) or JSON)
        request.state.graphql_exchange = sub_response.exchange
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
                f"Not Acceptable: this endpoint answers with {GRAPHQL_RESPONSE_JSON} or {JSON}.",
                {"Accept": f"{GRAPHQL_RESPONSE_JSON}, {JSON}"},
            )
        if request.method == "POST":
            media_type = _check_content_type(request.content_type, multipart=self.multipart_uploads_enabled)
            if media_type == JSON:
                body = self.parse_json(await request.get_body())
                if not isinstance(body, dict | list):  # a list is a batch: Strawberry checks those
                    raise HTTPException(400, "The request body must be a JSON object.")
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
                    405, "Mutations are not allowed over GET: send them with POST.", {"Allow": "POST"}
                ) from error.__cause__
            raise

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Strawberry's, noting a request error and leaving out its ``data`` for graphql-response+json.

        The spec's ``application/graphql-response+json`` tells a request error (no ``data`` entry, 4xx) from
        a partial response (``data``, 200); ``application/json`` keeps Strawberry's ``data: null``.
        """
        response_data = await super().process_result(request, result)
        exchange: _Exchange | None = getattr(request.state, "graphql_exchange", None)
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
