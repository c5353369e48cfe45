"""GraphiQL works without internet: a real headless Chromium (Debian's) opens /graphql on a real server,
runs queries through the UI and sees their results, and the page fetches nothing from any other host."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.settings import Settings
from app.web import create_app
from app.web.graphiql import ASSETS_DIRECTORY, EXAMPLES, PAGE
from tests.databases import in_ci
from tests.servers import ROOT, servers

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
README_EXAMPLES = re.findall(
    r"```graphql\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), flags=re.DOTALL
)
ZUNDERT = '{ municipality(code: "GM0879") { name } }'


def test_the_preloaded_examples_are_the_readmes() -> None:
    """app/web/static/graphiql/examples.graphql is the README's ```graphql blocks, in order."""
    assert [example.strip() for example in EXAMPLES] == [example.strip() for example in README_EXAMPLES]


def test_the_page_names_no_other_host() -> None:
    assert not re.search(r"(https?:|wss?:)?//", PAGE.replace("<!doctype html>", ""))
    for asset in re.findall(r'(?:src|href)="([^"]+)"', PAGE):
        assert asset.startswith("graphql-assets/") or asset == "data:,", asset
        if asset.startswith("graphql-assets/"):
            assert (ASSETS_DIRECTORY / asset.removeprefix("graphql-assets/")).is_file(), asset


async def test_the_assets_are_served_and_the_page_forbids_other_hosts(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert "default-src 'none'" in page.headers["content-security-policy"]
        for name in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js", "start.js"):
            response = await client.get(f"/graphql-assets/{name}")
            assert response.status_code == 200, name
            assert response.content == (ASSETS_DIRECTORY / name).read_bytes()


def test_no_graphiql_when_disabled() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", graphiql=False))
    assert not any(getattr(route, "path", "") == "/graphql-assets" for route in app.routes)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, or a skip (a failure in CI, where .ci/install-browser.sh installs it)."""
    problem = None
    if not Path(CHROMIUM).is_file():
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium, or .ci/install-browser.sh)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            problem = "Python Playwright is not installed (pip install -e '.[test]')"
    if problem:
        if in_ci():
            pytest.fail(f"{problem} (CI=true: the browser test must run)", pytrace=False)
        pytest.skip(problem)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str, tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Chromium with a fresh profile (Playwright drives it; no browser download needed)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp_path / "profile",
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_graphiql_runs_queries_without_internet(
    browser: BrowserContext, fresh_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    context = browser
    requests: list[str] = []
    problems: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    context.on("weberror", lambda error: problems.append(f"page error: {error.error}"))

    def on_page(page: Page) -> None:
        page.on("websocket", lambda socket: requests.append(socket.url))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )

    context.on("page", on_page)

    with servers(fresh_url, 1) as (server,):
        page = await context.new_page()
        await page.goto(server.url)
        editor = page.locator(".graphiql-query-editor .CodeMirror")
        await expect(editor).to_be_visible(timeout=30_000)

        # The README's examples are there, one tab each, named after their operations.
        tabs = page.locator(".graphiql-tab-button")
        names = [re.search(r"query (\w+)", example).group(1) for example in README_EXAMPLES]  # type: ignore[union-attr]
        await expect(tabs).to_have_text(names)

        # A preloaded example runs.
        await tabs.filter(has_text="Aalburg").click()
        await expect(editor).to_contain_text('municipality(code: "GM0738")')
        await page.locator(".graphiql-execute-button").click()
        response = page.locator(".graphiql-response")
        await expect(response).to_contain_text('"dissolvedOn"', timeout=30_000)
        await expect(response).to_contain_text('"name": "Aalburg"')

        # A query typed into a new tab runs.
        await page.get_by_role("button", name="Add tab").click()
        await expect(tabs).to_have_count(len(names) + 1)
        await editor.click()
        await page.keyboard.press("ControlOrMeta+A")
        await page.keyboard.insert_text(ZUNDERT)
        await expect(editor).to_contain_text("GM0879")
        await page.locator(".graphiql-execute-button").click()
        await expect(response).to_contain_text('"name": "Zundert"', timeout=30_000)
        await page.screenshot(path=tmp_path / "graphiql.png")

    assert requests, "no request was seen"
    outside = [
        url
        for url in requests
        if urlsplit(url).scheme not in {"data", "blob"} and urlsplit(url).hostname not in LOCAL_HOSTS
    ]
    assert outside == [], f"the page fetched from outside localhost: {outside}"
    assert problems == []
