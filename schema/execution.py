"""Deterministic execution: of several failing sibling fields, the first in document order is the one reported.

graphql-core resolves sibling fields (and list items) concurrently with ``gather_with_cancel``: the first
awaitable to fail *in time* wins, and its siblings are cancelled. When a failure propagates null to a parent
(a non-null root field with a bad argument makes ``data`` null), which error the answer carried depended on
which resolver happened to fail first, and which of the siblings' own errors were listed on whether they
finished before the cancellation: the same document answered with different errors from one request to the
next, and differently on the compiled path (schema/compiled), whose fallback fields run in another order
(issue #15, found by tests/test_differential.py). And cancelling a sibling that waited for a DataLoader
key cancelled the key's future, which every field loading that key shares: a field outside the nulled
subtree then got an ``asyncio.CancelledError``, which no GraphQL error handling catches, an HTTP 500 (20 of
20 requests of tests/differential.py FOUND's "(g)" document before this module, 0 after).

:func:`gather_in_document_order` lets every value finish, then raises the first failure in document order:
the same errors, in the same order, on every run. The cost: a failing document's siblings run to their end
instead of being cancelled; a failure is a client's mistake, and that work is bounded by the query cost
limit like any other. It replaces graphql-core's ``gather_with_cancel`` in its executor module, where that
module looks it up (fields, list items, resolvers' gathered work), once, on import.
"""

from __future__ import annotations

from asyncio import Future, ensure_future, gather
from collections.abc import Awaitable
from typing import Any

from graphql.execution import executor


async def gather_in_document_order(*awaitables: Awaitable[Any]) -> list[Any]:
    """Like ``asyncio.gather``: every value runs to its end, even when one fails; then the exception of the
    first failing value in order is raised. Every sibling's own errors (those caught at a nullable field)
    are then always recorded, not only those that happened to come before the cancellation."""
    futures: list[Future[Any]] = [ensure_future(awaitable) for awaitable in awaitables]
    results = await gather(*futures, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def install() -> None:
    """Use :func:`gather_in_document_order` wherever graphql-core's executor gathers fields and list items."""
    if not hasattr(executor, "gather_with_cancel"):
        raise RuntimeError(
            "graphql-core's executor no longer gathers with gather_with_cancel; see schema/execution.py"
        )
    executor.gather_with_cancel = gather_in_document_order


install()
