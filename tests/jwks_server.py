"""A JWKS endpoint as a real process, for the OIDC tests: ``python tests/jwks_server.py KEYS_FILE PORT_FILE``.

Serves the JSON in KEYS_FILE at ``/jwks.json``, read again on every request (a test rotates the provider's
keys by rewriting the file), and ``/fetches``: how many times ``/jwks.json`` was fetched. Listens on a free
port of 127.0.0.1 and writes it to PORT_FILE once it listens.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_lock = threading.Lock()
_fetches = 0


class Handler(BaseHTTPRequestHandler):
    keys_file: Path

    def do_GET(self) -> None:
        global _fetches
        if self.path == "/jwks.json":
            with _lock:
                _fetches += 1
            body = self.keys_file.read_bytes()
        elif self.path == "/fetches":
            with _lock:
                body = str(_fetches).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    keys_file, port_file = Path(sys.argv[1]), Path(sys.argv[2])
    Handler.keys_file = keys_file
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    temporary = port_file.with_suffix(".tmp")
    temporary.write_text(str(server.server_address[1]))
    temporary.rename(port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
