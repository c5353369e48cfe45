"""GraphiQL for browsers, served entirely by this service (no CDN), with the README's examples as tabs.

The page loads React, ReactDOM and GraphiQL from ``/graphql-assets`` (app/static/graphiql, vendored at
pinned versions by scripts/vendor_graphiql.sh); its Content-Security-Policy lets the browser load
nothing from any other origin.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_DIRECTORY = Path(__file__).parent / "static" / "graphiql"
ASSETS_PATH = "/graphql-assets"
EXAMPLES_FILE = ASSETS_DIRECTORY / "examples.graphql"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # GraphiQL sets inline styles
        "font-src 'self' data:",  # GraphiQL's fonts are data: URLs inside its CSS
        "img-src 'self' data: blob:",
        "connect-src 'self'",  # the fetcher: HTTP and WebSocket to this host
        "worker-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)
_ASSET_NAMES = (
    "graphiql.min.css",
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "start.js",
)


def load_examples(path: Path = EXAMPLES_FILE) -> list[str]:
    """The operations of the examples file, one string each (its leading comment lines dropped)."""
    text = path.read_text("utf-8")
    parts = re.split(r"^(?=(?:query|mutation|subscription)\b)", text, flags=re.MULTILINE)
    return [part.strip() + "\n" for part in parts[1:]]


def page(examples: list[str]) -> str:
    """The HTML page; the examples go in as a JSON data block, never as script."""
    data = json.dumps(examples).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # Relative to the page at /graphql, so that the page also works behind a path prefix.
    links = {name: html.escape(f"{ASSETS_PATH.lstrip('/')}/{name}") for name in _ASSET_NAMES}
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Veerkracht API · GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{links["graphiql.min.css"]}">
    <style>
      body {{ height: 100%; margin: 0; width: 100%; overflow: hidden; }}
      #graphiql {{ height: 100vh; }}
    </style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script id="graphiql-examples" type="application/json">{data}</script>
    <script src="{links["react.production.min.js"]}"></script>
    <script src="{links["react-dom.production.min.js"]}"></script>
    <script src="{links["graphiql.min.js"]}"></script>
    <script src="{links["start.js"]}"></script>
  </body>
</html>
"""


EXAMPLES = load_examples()
PAGE = page(EXAMPLES)


def graphiql_response() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


async def graphiql(_request: Request) -> HTMLResponse:
    """The GraphiQL page as a Starlette endpoint."""
    return graphiql_response()


def assets() -> StaticFiles:
    """The vendored files, for a ``Mount(ASSETS_PATH, ...)``."""
    return StaticFiles(directory=ASSETS_DIRECTORY)
