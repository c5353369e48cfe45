"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1, run as its own process.

Answers the first ``--fail-first`` POSTs with 503 (as a receiver that is down would), the rest with 204,
optionally after ``--delay`` seconds; writes one JSON line per POST (headers, body, its answer) to
``--record`` and prints ``listening <port>`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    arguments = parser.parse_args()
    lock = threading.Lock()
    calls = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                calls[0] += 1
                status = 503 if calls[0] <= arguments.fail_first else 204
            time.sleep(arguments.delay)
            with lock, open(arguments.record, "a", encoding="utf-8") as record:
                record.write(
                    json.dumps({"headers": dict(self.headers), "body": body.decode(), "status": status})
                    + "\n"
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
