"""The HTTP protocol the server speaks: uvicorn's (httptools), with a time and a size limit on headers.

uvicorn closes a keep-alive connection idle for ``timeout_keep_alive``, but has no limit on how long a
request's headers may take to arrive: a client that sends a header line every few seconds (slowloris), or
connects and sends nothing, holds its connection for ever. Here the headers of every request, the first on
a connection and each next one on a keep-alive connection, must be complete within
``header_timeout_seconds`` (408 and closed otherwise) and within ``max_header_bytes`` (431 and closed).
The body is the app's to limit (app/middleware.py: size and time).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import Settings


@functools.cache
def _limits() -> tuple[float, int]:
    """From the environment, as each worker process builds its settings."""
    settings = Settings()
    return settings.header_timeout_seconds, settings.max_header_bytes


def _refusal(status: bytes, message: str) -> bytes:
    body = message.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class HeaderLimitedProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout, self._max_header_bytes = _limits()
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._tail = b""
        self._in_headers = False

    def _start_headers(self) -> None:
        self._in_headers = True
        self._header_bytes = 0
        self._tail = b""
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def _stop_headers(self) -> None:
        self._in_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            message = f"The request's headers did not arrive within {self._header_timeout:g} s."
            self.transport.write(_refusal(b"408 Request Timeout", message))
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_headers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_headers and (self.cycle is None or self.cycle.response_complete):
            self._start_headers()  # the next request on a keep-alive connection begins
        if self._in_headers:
            # The head ends at the first empty line; a chunk may hold the body's start too.
            window = self._tail + data
            end = window.find(b"\r\n\r\n")
            head = self._header_bytes + (end + 4 - len(self._tail) if end >= 0 else len(data))
            if head > self._max_header_bytes:
                self._stop_headers()
                message = f"The request's headers are larger than {self._max_header_bytes:,} bytes."
                self.transport.write(_refusal(b"431 Request Header Fields Too Large", message))
                self.transport.close()
                return
            self._header_bytes += len(data)
            self._tail = window[-3:]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._stop_headers()
        super().on_headers_complete()
