"""Websockets per client: at most ``max_websockets_per_client`` open per client address on one process.

A socket above the limit is accepted and closed at once with code 1008 (policy violation) and a reason a
person can read; refusing the upgrade would show the client only a bare 403. Subscriptions per client are
limited where they start (schema/changes.py), and over a websocket this API answers subscriptions only
(schema/operations.py): queries and mutations go over HTTP, where the request time limit, the body limit,
the response cache and the access log apply.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from app.services.ratelimit import client_address

TOO_MANY_SOCKETS = 1008


class WebsocketLimit:
    def __init__(self, app: ASGIApp, *, max_per_client: int, trust_forwarded_for: bool) -> None:
        self.app = app
        self.max_per_client = max_per_client
        self.trust_forwarded_for = trust_forwarded_for
        self.open: dict[str, int] = {}
        """Client address -> its sockets open now (a key goes when its last socket closes)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        client = client_address(WebSocket(scope, receive, send), trust_forwarded_for=self.trust_forwarded_for)
        if self.open.get(client, 0) >= self.max_per_client:
            await receive()  # websocket.connect
            offered = list(scope.get("subprotocols") or [])
            await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
            reason = (
                f"Too many websockets from this address: {self.max_per_client} are open. Close one first."
            )
            await send({"type": "websocket.close", "code": TOO_MANY_SOCKETS, "reason": reason})
            return
        self.open[client] = self.open.get(client, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.open[client] - 1
            if left:
                self.open[client] = left
            else:
                del self.open[client]
