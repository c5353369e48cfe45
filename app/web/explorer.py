"""The explorer at /explorer: a map of Noord-Brabant on a chosen date, in Dutch, served by this service.

The page uses only the public GraphQL API (/graphql) and the GeoJSON endpoint (/geo/municipalities.geojson).
Its scripts are ours (``explorer.js``) and d3-geo with d3-array, vendored at pinned versions into
app/web/static/explorer by scripts/vendor_explorer.sh; its Content-Security-Policy lets the browser load nothing
from any other origin, as GraphiQL's does.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS_DIRECTORY = Path(__file__).parent / "static" / "explorer"
PATH = "/explorer"
ASSETS_PATH = "/explorer-assets"
PAGE = (ASSETS_DIRECTORY / "index.html").read_text("utf-8")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",  # /graphql and /geo/municipalities.geojson on this host
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)


async def explorer(_request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


def routes() -> list[BaseRoute]:
    """The page and its assets, for the app's route list."""
    return [
        Route(PATH, explorer, methods=["GET"]),
        Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIRECTORY), name="explorer-assets"),
    ]
