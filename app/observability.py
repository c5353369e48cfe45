"""What operators see: JSON logs with a request id, Prometheus metrics, and the per-request record both use.

Every HTTP request gets a :class:`RequestRecord` (in a context variable, so that the GraphQL layer and the
SQL event hook below can fill it in without passing it around): its id, operation name, cost, outcome and
SQL statement count. The request middleware logs it as one JSON line and counts it in the metrics.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

# --- the request record --------------------------------------------------------------------------------


@dataclass
class RequestRecord:
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    operation: str | None = None
    """The operation's name as the client gave it (``operationName`` or the document's only operation)."""
    operation_type: str | None = None
    cost: int | None = None
    outcome: str = "ok"
    """``ok``, or the ``extensions.code`` of the first error (``BAD_USER_INPUT``, ``RATE_LIMITED``, ...)."""
    error_ids: list[str] = field(default_factory=list)
    sql_statements: int = 0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


current_request: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "veerkracht_request", default=None
)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every log record made while serving it."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = current_request.get()
        if current is not None and not hasattr(record, "request_id"):
            record.request_id = current.request_id
        return True


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    """One handler on the root logger, JSON by default (uvicorn's and SQLAlchemy's loggers included).

    uvicorn's own access log is switched off by ``serve``: the middleware writes a richer line per request.
    """
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                # uvicorn adds a copy of its message with terminal colour codes: not for a log file.
                reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s: %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # alembic announces its context on every /readyz probe; only warnings are news.
    logging.getLogger("alembic").setLevel(logging.WARNING)


# --- metrics -------------------------------------------------------------------------------------------
# With several worker processes (``serve --workers N``) prometheus_client's multiprocess mode is used: each
# process writes its samples to PROMETHEUS_MULTIPROC_DIR (set by ``serve``) and /metrics, whichever worker
# answers, sums them. Gauges say how they combine across processes.

REQUESTS = Counter(
    "veerkracht_requests",
    "HTTP requests to /graphql, by operation name and outcome (ok, or the first error's code).",
    ["operation", "outcome"],
)
LATENCY = Histogram(
    "veerkracht_request_duration_seconds",
    "Time from receiving a /graphql request to the end of its response.",
    ["operation_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SQL_STATEMENTS = Counter("veerkracht_sql_statements", "SQL statements sent to the database.")
SQL_PER_REQUEST = Histogram(
    "veerkracht_sql_statements_per_request",
    "SQL statements one /graphql request needed.",
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 50, 100),
)
POOL_CHECKED_OUT = Gauge(
    "veerkracht_db_pool_checked_out",
    "Database connections in use by requests right now.",
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "veerkracht_db_pool_capacity",
    "Connections the pool may open (size plus overflow), summed over live worker processes.",
    multiprocess_mode="livesum",
)
CACHE = Counter(
    "veerkracht_cache_lookups",
    "Lookups in the service's caches, by cache and result (hit or miss).",
    ["cache", "result"],
)
RATE_LIMITED = Counter(
    "veerkracht_rate_limit_rejections",
    "Operations refused with 429, by kind of caller (token or address).",
    ["caller"],
)

_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
_MAX_OPERATION_LABELS = 200
_operation_labels: set[str] = set()


def operation_label(name: str | None) -> str:
    """Operation names come from clients: bound the label values a scrape can hold (cardinality)."""
    if not name:
        return "anonymous"
    if not _OPERATION_NAME.match(name):
        return "invalid"
    if name not in _operation_labels:
        if len(_operation_labels) >= _MAX_OPERATION_LABELS:
            return "other"
        _operation_labels.add(name)
    return name


def observe_request(record: RequestRecord, status: int) -> None:
    outcome = record.outcome if status < 500 or record.outcome != "ok" else f"http_{status}"
    REQUESTS.labels(operation_label(record.operation), outcome).inc()
    LATENCY.labels(record.operation_type or "none").observe(record.elapsed)
    SQL_PER_REQUEST.observe(record.sql_statements)


def count_statement(*_args: Any) -> None:
    """One SQL statement sent, in total and for the current request."""
    SQL_STATEMENTS.inc()
    current = current_request.get()
    if current is not None:
        current.sql_statements += 1


def instrument_engine(engine: AsyncEngine) -> None:
    """Count SQL statements (in total and for the current request) and pool use.

    Compiled reads on PostgreSQL bypass the engine (schema/compiled/run.py) and count their own."""
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count_statement)
    event.listen(sync_engine.pool, "checkout", lambda *_args: POOL_CHECKED_OUT.inc())
    event.listen(sync_engine.pool, "checkin", lambda *_args: POOL_CHECKED_OUT.dec())
    size = getattr(sync_engine.pool, "size", None)
    overflow = getattr(sync_engine.pool, "_max_overflow", 0)
    if callable(size):
        POOL_CAPACITY.inc(size() + max(int(overflow), 0))


def listen_to_statements(app: Any, callback: Callable[[str], None]) -> None:
    """Call ``callback`` with the SQL of every statement the (started) ``app`` sends: through its engine,
    and compiled reads on PostgreSQL, which go to asyncpg directly (schema/compiled/run.py). The tests and
    the benchmark count statements with it."""
    event.listen(
        app.state.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: callback(statement),
    )
    app.state.compiled_runner.statement_listeners.append(callback)


def release_engine(engine: AsyncEngine) -> None:
    size = getattr(engine.sync_engine.pool, "size", None)
    overflow = getattr(engine.sync_engine.pool, "_max_overflow", 0)
    if callable(size):
        POOL_CAPACITY.dec(size() + max(int(overflow), 0))


async def metrics(_request: Request) -> Response:
    """Prometheus text exposition of this process's metrics (all workers' under multiprocess mode)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


PREPARED_READS = Counter(
    "veerkracht_prepared_reads",
    "Requests for a prepared read (a query document whose root fields all compiled before): answered "
    "without the GraphQL pipeline (answered), or handed on to it (handed_on: variables that do not coerce, "
    "cost over the limit, a spent rate limit, arguments or lookups only the resolvers answer, a failed "
    "statement).",
    ["result"],
)
COMPILED_ROOT_FIELDS = Counter(
    "veerkracht_compiled_root_fields",
    "Query root fields answered by one compiled SQL statement (compiled) or by the resolvers (fallback).",
    ["result"],
)
COMPILED_FALLBACKS = Counter(
    "veerkracht_compiled_fallbacks",
    "Query root fields the resolvers answered instead of a compiled statement, by reason: unmapped (a field "
    "or argument documented in schema/compiled/__init__.py as not compiled), resolver_error (arguments or "
    "lookups the resolvers answer with their error), statement_failed (the database refused or failed a "
    "compiled statement: a bug or an outage, logged with the error; expected to stay at zero).",
    ["reason"],
)
