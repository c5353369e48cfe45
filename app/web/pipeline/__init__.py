"""The request pipeline: one GraphQL request over HTTP, from its bytes to its answer, in six stages.

    decode ──▶ identify ──▶ find the plan ──▶ charge the cost ──▶ cache or execute ──▶ encode
    decode.py  identify.py   plan.py           cost.py             answer.py           encode.py

Each stage is a module and is written once; :meth:`Pipeline.handle` calls them in this order for every
request the view (app/web/view.py) hands it, whether a prepared document or Strawberry answers it.
docs/architecture.md draws the whole path. What the stages share about one request is its
:class:`~app.web.pipeline.exchange.Exchange`.

A prepared plan that cannot answer after all (variables that do not coerce, a cost above the limit, a
spent budget, a lookup that finds nothing, a failed statement, anything unexpected) is *handed on*: the
same request continues with Strawberry's plan, which answers it as it always would, with its own error
where one is due. Nothing it did is done again: the caller stays identified, a charge stays charged.

Why a prepared read skips Strawberry (bench/README.md, "The prepared read path"): the pipeline costs about
1.7 ms of Python per request on the bench machine, several times the database's work for a page or a node
lookup. The stages add no work to that path: measured in docs/architecture.md, "Performance".
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.observability import PREPARED_READS
from app.web.pipeline.answer import Execute, answer_or_execute, answer_prepared, note
from app.web.pipeline.decode import Params, decode
from app.web.pipeline.exchange import Exchange
from app.web.pipeline.identify import identify
from app.web.pipeline.plan import Plan, bind, find_plan

if TYPE_CHECKING:
    from graphql import GraphQLSchema
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["Exchange", "Pipeline"]

_log = logging.getLogger("veerkracht.compiled")

# Bound to their labels once (a labels() lookup per request shows on the prepared path).
_PREPARED_ANSWERED = PREPARED_READS.labels("answered")
_PREPARED_HANDED_ON = PREPARED_READS.labels("handed_on")


class Pipeline:
    """The stages, in order, for the app's GraphQL view."""

    def __init__(self, schema: GraphQLSchema, execute: Execute) -> None:
        self.schema = schema
        self.execute = execute
        """Strawberry's pipeline for one request: the view's ``run``."""

    async def handle(self, request: Request, exchange: Exchange) -> Response:
        state = request.app.state
        params = await decode(request)  # 1
        if params is None:  # not a well-formed GET or JSON POST: the view says what is wrong
            return await self.execute(request)
        exchange.caller = await identify(
            state.sessionmaker, request.headers.get("authorization"), state.settings
        )  # 2
        runner = state.compiled_runner
        cache = state.response_cache
        plan = find_plan(params, state.settings, runner, cache)  # 3
        if plan.prepared is not None:
            response = await self._prepared(request, exchange, params, plan)  # 3 (bind), 4, 5, 6
            if response is not None:
                _PREPARED_ANSWERED.inc()
                return response
            _PREPARED_HANDED_ON.inc()
        # Strawberry's plan; 4 happens in answer_or_execute (a cached answer's cost) or in Strawberry
        # (QueryCost, through the context's meter); 6 is the view's.
        return await answer_or_execute(
            request, exchange, params, plan, self.execute, runner=runner, cache=cache
        )

    async def _prepared(
        self, request: Request, exchange: Exchange, params: Params, plan: Plan
    ) -> Response | None:
        """A prepared plan's answer, or None: handed on to Strawberry's."""
        try:
            return await self._answer_prepared(request, exchange, params, plan)
        except Exception:
            # Never answer worse than Strawberry would: it answers instead (with its own error, if any).
            _log.exception("a prepared read failed; the GraphQL pipeline answers instead")
            return None

    async def _answer_prepared(
        self, request: Request, exchange: Exchange, params: Params, plan: Plan
    ) -> Response | None:
        state = request.app.state
        settings = state.settings
        caller = exchange.caller
        prepared = plan.prepared
        assert prepared is not None
        assert caller is not None
        if caller.refused or (settings.require_token_for_reads and caller.identity is None):
            return None  # the resolvers' permission error
        statements = bind(prepared, params, self.schema, state.compiled_runner, settings)  # 3
        if statements is None:
            return None
        cost = prepared.cost(self.schema, params.variables)  # 4
        if cost > settings.max_query_cost:
            return None  # QueryCost's error
        if await exchange.meter.charge(caller.identity, cost) is not None:
            return None  # QueryCost's 429, with the same refusal
        note(plan.operation, cost)
        return await answer_prepared(  # 5, 6
            request,
            exchange,
            params,
            plan,
            statements,
            cost,
            runner=state.compiled_runner,
            cache=state.response_cache,
            settings=settings,
        )
