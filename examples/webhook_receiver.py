"""A worked webhook receiver: register an endpoint, then take each change as it is POSTed, verified.

    python examples/webhook_receiver.py --api http://127.0.0.1:8000/graphql --token WRITE_TOKEN \\
        --port 8001 --public-url https://monitor.example.org/veerkracht --state receiver-state.json

With --api and --token it registers itself (`createWebhook`, which needs a write token) and keeps the
secret it is given in --state; without them, give --secret (the `secret` createWebhook returned). Then it
serves POSTs on 127.0.0.1:--port and for each one:

1. checks the `Veerkracht-Signature` header (`t=<unix time>,v1=<hex>`): HMAC-SHA256 with the secret over
   "<t>." followed by the raw body, compared in constant time, and t at most five minutes old (a replayed
   delivery is refused). A delivery that fails the check is answered 400 and not used.
2. answers 204 at once, and applies the change unless its sequence was seen already: delivery is at least
   once, so the same change may come twice; it comes in sequence order.

Standard library only. Prints one JSON line per event. A service that refuses to deliver to private
addresses (the default) needs a public --public-url that reaches this port (a reverse proxy, a tunnel).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOLERANCE_SECONDS = 300
REGISTER = """mutation Register($input: CreateWebhookInput!) { createWebhook(input: $input) {
  webhook { id url entityTypes } secret errors { field message } } }"""


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, ensure_ascii=False), flush=True)


def verify(secret: str, header: str | None, body: bytes, now: float | None = None) -> str | None:
    """Why the delivery is not genuine; None when it is."""
    if not header:
        return "no Veerkracht-Signature header"
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return "a malformed Veerkracht-Signature header"
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        return "a signature that does not match"
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        return "a signature older than five minutes"
    return None


def register(api: str, token: str, url: str, entity_types: list[str] | None) -> tuple[str, str]:
    """Register ``url``; its id and secret."""
    payload = {"query": REGISTER, "variables": {"input": {"url": url, "entityTypes": entity_types}}}
    request = urllib.request.Request(
        api,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    if answer.get("errors"):
        raise SystemExit(f"createWebhook failed: {answer['errors'][0]['message']}")
    created = answer["data"]["createWebhook"]
    if created["errors"]:
        raise SystemExit(f"createWebhook refused: {created['errors'][0]['message']}")
    return created["webhook"]["id"], created["secret"]


class Receiver:
    """What has been applied: the last sequence (to drop repeats), kept in the state file if given."""

    def __init__(self, secret: str, state_file: Path | None, max_events: int | None) -> None:
        self.secret = secret
        self.state_file = state_file
        self.max_events = max_events
        self.last_sequence = 0
        self.applied = 0
        self.lock = threading.Lock()
        self.finished = threading.Event()
        if state_file and state_file.exists():
            self.last_sequence = json.loads(state_file.read_text("utf-8")).get("last_sequence", 0)

    def save(self, **extra: Any) -> None:
        if self.state_file:
            saved = json.loads(self.state_file.read_text("utf-8")) if self.state_file.exists() else {}
            saved.update(last_sequence=self.last_sequence, **extra)
            self.state_file.write_text(json.dumps(saved), "utf-8")

    def receive(self, header: str | None, body: bytes) -> int:
        """The HTTP status to answer with."""
        problem = verify(self.secret, header, body)
        if problem:
            emit("rejected", reason=problem)
            return 400
        change = json.loads(body)
        with self.lock:
            if change["sequence"] <= self.last_sequence:
                emit("repeat", sequence=change["sequence"])
                return 204
            self.last_sequence = change["sequence"]
            self.save()
            self.applied += 1
            keys = ("sequence", "operation", "entityType", "entityId", "naturalKey", "actor")
            emit("change", **{key: change[key] for key in keys}, afterValues=change["afterValues"])
            if self.max_events is not None and self.applied >= self.max_events:
                self.finished.set()
        return 204


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 to serve (0: any free one)")
    parser.add_argument("--api", help="the API's GraphQL URL, to register this receiver")
    parser.add_argument("--token", help="a write token, to register this receiver")
    parser.add_argument("--public-url", help="the URL the service posts to (default: this port on 127.0.0.1)")
    parser.add_argument("--types", nargs="*", help="only these entity types (default: all)")
    parser.add_argument("--secret", help="the webhook's secret, when it is registered already")
    parser.add_argument("--state", type=Path, help="file to keep the secret and the last sequence in")
    parser.add_argument("--max-events", type=int, help="stop after this many changes")
    parser.add_argument("--timeout", type=float, help="stop after this many seconds")
    arguments = parser.parse_args()

    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = holder[0].receive(self.headers.get("Veerkracht-Signature"), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", arguments.port), Handler)
    port = server.server_address[1]
    emit("listening", port=port)

    saved = (
        json.loads(arguments.state.read_text("utf-8")) if arguments.state and arguments.state.exists() else {}
    )
    secret = arguments.secret or saved.get("secret")
    if secret is None:
        if not (arguments.api and arguments.token):
            parser.error("give --secret, a --state that holds one, or --api and --token to register")
        url = arguments.public_url or f"http://127.0.0.1:{port}/"
        webhook_id, secret = register(arguments.api, arguments.token, url, arguments.types)
        emit("registered", id=webhook_id, url=url)
    receiver = Receiver(secret, arguments.state, arguments.max_events)
    receiver.save(secret=secret)  # the secret is shown once: keep it (protect this file)
    holder.append(receiver)

    threading.Thread(target=server.serve_forever, daemon=True).start()
    finished = receiver.finished.wait(arguments.timeout)
    server.shutdown()
    emit("done" if finished else "timeout", lastSequence=receiver.last_sequence)
    return 0 if finished or arguments.max_events is None else 1


if __name__ == "__main__":
    sys.exit(main())
