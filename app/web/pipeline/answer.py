"""Stage 5, answer from the cache or execute: the data version, the cache, and the plan's execution.

The response cache (app/web/cache.py) is consulted here and only here: the data version is read (one
primary-key lookup, on the compiled reads' connection), an ``If-None-Match`` that still holds gets 304, a
stored answer is sent as it is; otherwise the plan runs (a prepared document's statements, or Strawberry's
pipeline) and an answer without errors is stored under the version read before it ran.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app.observability import COMPILED_ROOT_FIELDS, current_request
from app.settings import Settings
from app.web.cache import Entry, ResponseCache, etag
from app.web.pipeline import encode
from app.web.pipeline.decode import Params
from app.web.pipeline.exchange import Exchange
from app.web.pipeline.plan import Plan, Statement
from schema.compiled.prepared import fragment
from schema.compiled.run import CompiledRunner, RunFailed

Execute = Callable[[Request], Awaitable[Response]]
"""Strawberry's pipeline for one request (the view's ``run``)."""

_COMPILED = COMPILED_ROOT_FIELDS.labels("compiled")  # bound once: a labels() lookup per request shows


def note(operation: str | None, cost: int) -> None:
    """Put an operation answered without Strawberry into the request's log line and metrics."""
    record = current_request.get()
    if record is not None:
        record.operation, record.operation_type, record.cost = operation, "query", cost


def _key(cache: ResponseCache | None, plan: Plan, params: Params, exchange: Exchange) -> str | None:
    if cache is None or plan.document is None or exchange.caller is None:
        return None
    return cache.key(
        plan.document, params.operation_name, params.variables, exchange.caller.access, exchange.media_type
    )


async def answer_prepared(
    request: Request,
    exchange: Exchange,
    params: Params,
    plan: Plan,
    statements: list[Statement],
    cost: int,
    *,
    runner: CompiledRunner,
    cache: ResponseCache | None,
    settings: Settings,
) -> Response | None:
    """A prepared document's answer (already charged): from the cache, or from its statements, all on one
    connection. None when the statements cannot answer (a lookup that finds nothing, a failed statement):
    Strawberry's pipeline answers instead."""
    key = _key(cache, plan, params, exchange)
    get = request.method == "GET"
    headers: dict[str, str] = {}
    version = 0
    data: dict[str, orjson.Fragment] = {}
    try:
        async with runner.connect() as connection:
            if cache is not None and key is not None:
                version = await connection.version()
                tag = etag(version, key)
                if get:
                    if request.headers.get("if-none-match") == tag:
                        return encode.not_modified(tag)
                    headers["ETag"] = tag
                entry = cache.get(key, version)
                if entry is not None:
                    return encode.answer(entry.body, entry.media_type, headers)
            for response_key, node, statement, values in statements:
                value = fragment(await connection.fetch(statement, values), node)
                if value is None:
                    return None
                data[response_key] = value
    except RunFailed:
        return None
    _COMPILED.inc(len(data))
    body = encode.prepared_body(data, cost, settings.max_query_cost)
    if cache is not None and key is not None:
        cache.store(
            key,
            version,
            Entry(body=body, media_type=exchange.media_type, cost=cost, operation=plan.operation),
        )
    return encode.answer(body, exchange.media_type, headers)


async def answer_or_execute(
    request: Request,
    exchange: Exchange,
    params: Params,
    plan: Plan,
    execute: Execute,
    *,
    runner: CompiledRunner | None,
    cache: ResponseCache | None,
) -> Response:
    """Strawberry's plan: from the cache when it holds the answer (charged as the run it replaces would
    be), else run by Strawberry and, without errors, stored."""
    key = _key(cache, plan, params, exchange)
    if cache is None or key is None or runner is None or exchange.caller is None or exchange.caller.refused:
        return await execute(request)
    if exchange.caller.identity is None and request.app.state.settings.require_token_for_reads:
        # The same lock as Strawberry's: no stored answer and no 304 (whose ETag anyone can compute for each
        # data version: an oracle on it) without a token. Strawberry refuses it.
        return await execute(request)
    try:
        async with runner.connect() as connection:
            version = await connection.version()
    except RunFailed:
        # The database is away: Strawberry answers with a GraphQL error saying so (the cache cannot tell
        # whether its entries are still current).
        return await execute(request)
    tag = etag(version, key)
    get = request.method == "GET"
    conditional = get and request.headers.get("if-none-match") == tag
    entry = cache.get(key, version)
    if entry is not None or conditional:
        cost = entry.cost if entry is not None and entry.cost is not None else 1
        if await exchange.meter.charge(exchange.caller.identity, cost) is None:
            note(plan.operation, cost)
            if conditional:  # the answer for this document and data version is the one the client has
                return encode.not_modified(tag)
            assert entry is not None
            return encode.answer(entry.body, entry.media_type, {"ETag": tag} if get else {})
        # Over the limit: Strawberry answers (and refuses) it, with the usual 429.
    response = await execute(request)
    if response.status_code == 200 and not exchange.has_errors and not exchange.not_cacheable:
        cost_charged = exchange.meter.cost
        cache.store(
            key,
            version,
            Entry(
                body=bytes(response.body),
                media_type=exchange.media_type,
                cost=cost_charged,
                operation=plan.operation,
            ),
        )
        if get:
            response.headers["ETag"] = tag
    return response
