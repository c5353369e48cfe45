"""The outermost layer of every HTTP request: request id, body-size limit, time limit, access log, metrics.

A plain ASGI middleware (not Starlette's BaseHTTPMiddleware) so that the request body is limited while it
streams in, before it is read whole, and so that a timed-out request is cancelled where it stands.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import RequestRecord, current_request, observe_request

access_log = logging.getLogger("veerkracht.access")

REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"

# A client's X-Request-ID is kept when it is a plausible id (so that its logs and ours join up); anything
# else (too long, spaces, control characters that could forge log lines) is replaced by our own.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Probes and scrapes come every few seconds; their lines would drown the requests that matter.
_QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}


class _BodyTooLarge(Exception):
    pass


# Our own ids: 32 hex digits like a UUID's, a random half per process and a counter, which is unique as a
# uuid4 per request is and costs no system call for randomness on every request.
_ids = itertools.count()
_id_prefix = uuid.uuid4().hex[:16]


def _new_prefix() -> None:
    global _id_prefix
    _id_prefix = uuid.uuid4().hex[:16]


os.register_at_fork(after_in_child=_new_prefix)


def request_id_from(headers: Headers) -> str:
    given = headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else f"{_id_prefix}{next(_ids) & 0xFFFFFFFFFFFFFFFF:016x}"


async def _send_error(send: Send, status: int, code: str, message: str, request_id: str | None) -> None:
    """An error answer; ``request_id`` only when ``send`` does not add the header itself (``send_with_id``
    does: the header was sent twice before)."""
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        self._unwinding: set[asyncio.Future[None]] = set()
        """Handlers cancelled by the time limit that are still unwinding (a reference keeps them alive)."""

    def _unwound(self, handler: asyncio.Future[None]) -> None:
        self._unwinding.discard(handler)
        if not handler.cancelled() and handler.exception() is not None:
            access_log.warning("a timed-out request failed while unwinding: %r", handler.exception())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        record = RequestRecord(request_id_from(headers))
        token = current_request.set(record)
        status = 500
        started = False

        answered = False  # the request timed out and was answered; the handler must not send any more

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", record.request_id.encode()),
                ]
            await send(message)

        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        too_large = (
            f"De request body is groter dan de grens van {self.max_body_bytes:,} bytes. "
            "Stuur een korter document, of minder variabelen per request."
        )
        try:
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                record.outcome = REQUEST_TOO_LARGE
                await _send_error(send_with_id, 413, REQUEST_TOO_LARGE, too_large, None)
                return
            # The handler runs in a task of its own, so that a timed-out request is answered at once while
            # the handler unwinds. Waited for through one future, settled by the handler's end or by a
            # timer: what asyncio.wait(timeout=) does, without its per-call sets and closures (this runs on
            # every request; bench/README.md, "The prepared read path").
            loop = asyncio.get_running_loop()
            handler: asyncio.Future[None] = asyncio.ensure_future(
                self.app(scope, receive_limited, send_with_id)
            )
            settled = loop.create_future()

            def settle(_handler: object = None) -> None:
                if not settled.done():
                    settled.set_result(None)

            handler.add_done_callback(settle)
            timer = loop.call_later(self.timeout_seconds, settle)
            try:
                await settled
            except asyncio.CancelledError:  # the client went away or the server is stopping
                handler.cancel()
                raise
            finally:
                timer.cancel()
            if handler.done():
                try:
                    handler.result()
                except _BodyTooLarge:
                    record.outcome = REQUEST_TOO_LARGE
                    if not started:
                        await _send_error(send_with_id, 413, REQUEST_TOO_LARGE, too_large, None)
                return
            # Time is up. Answer now, and let the cancelled handler unwind on its own: its cleanup (rolling
            # back, returning its connection) may have to wait for the database call it was cancelled in,
            # which on SQLite runs on in a thread until it returns.
            handler.cancel()
            self._unwinding.add(handler)
            handler.add_done_callback(self._unwound)
            record.outcome = REQUEST_TIMEOUT
            if not started:
                answered = True
                await _send_error(
                    send,
                    504,
                    REQUEST_TIMEOUT,
                    f"Het request duurde langer dan de grens van {self.timeout_seconds:g} s en is gestopt. "
                    "Een mutatie gebeurt helemaal of niet: lees het object opnieuw om te zien of ze vóór de "
                    "grens is vastgelegd. Vraag minder, of probeer het later opnieuw.",
                    record.request_id,
                )
                status = 504
        finally:
            current_request.reset(token)
            self._log(scope, headers, record, status)

    @staticmethod
    def _log(scope: Scope, headers: Headers, record: RequestRecord, status: int) -> None:
        path = scope.get("path", "")
        if path == "/graphql":
            observe_request(record, status)
        level = logging.DEBUG if path in _QUIET_PATHS and status < 500 else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        fields: dict[str, Any] = {
            "request_id": record.request_id,
            "method": scope.get("method"),
            "path": path,
            "status": status,
            "duration_ms": round(record.elapsed * 1000, 2),
            "operation": record.operation,
            "operation_type": record.operation_type,
            "cost": record.cost,
            "outcome": record.outcome,
            "sql_statements": record.sql_statements,
            "client": (scope.get("client") or ("", 0))[0],
            "user_agent": headers.get("user-agent"),
        }
        if record.error_ids:
            fields["error_ids"] = record.error_ids
        access_log.log(level, "%s %s %s", scope.get("method"), path, status, extra=fields)
