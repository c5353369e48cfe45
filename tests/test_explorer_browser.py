"""The explorer at /explorer, used as a person would: a real headless Chromium (Debian's) on a real server.

One server and one browser for the whole module (the suite's time matters); every page the tests open is
watched, and any request that leaves localhost fails the test that made it. With
``VEERKRACHT_SCREENSHOTS=docs`` the desktop and phone screenshots are written to docs/ (as committed);
otherwise to a temporary directory.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.settings import Settings
from app.web import create_app
from app.web.explorer import ASSETS_DIRECTORY, CONTENT_SECURITY_POLICY, PAGE
from tests.servers import ROOT, Server, servers
from tests.test_graphiql_browser import CHROMIUM_ARGS, LOCAL_HOSTS
from tests.test_graphiql_browser import chromium as chromium  # the fixture: Chromium, or a skip

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, ViewportSize

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


# ------------------------------------------------------------------------------- without a browser


def test_the_page_names_no_other_host_and_its_assets_are_pinned() -> None:
    assert not re.search(r"(https?:|wss?:)?//", PAGE.replace("<!doctype html>", ""))
    for asset in re.findall(r'(?:src|href)="([^"]+)"', PAGE):
        assert asset.startswith("explorer-assets/") or asset in {"data:,", "graphql", "#tabel"}, asset
        if asset.startswith("explorer-assets/"):
            assert (ASSETS_DIRECTORY / asset.removeprefix("explorer-assets/")).is_file(), asset
    assert "<script>" not in PAGE
    assert "style=" not in PAGE
    readme = (ASSETS_DIRECTORY / "README.md").read_text("utf-8")
    pinned = re.findall(r"\| `([^`]+)` \| `[^`]+` .*?\| `([0-9a-f]{64})` \|", readme)
    assert {name for name, _ in pinned} == {
        "d3-geo.min.js",
        "d3-array.min.js",
        "LICENSE.d3-geo",
        "LICENSE.d3-array",
    }
    script = (ROOT / "scripts" / "vendor_explorer.sh").read_text("utf-8")
    for name, digest in pinned:
        assert hashlib.sha256((ASSETS_DIRECTORY / name).read_bytes()).hexdigest() == digest, name
        assert f"{name}|" in script, name
        assert digest in script, name


async def test_the_page_and_assets_are_served_with_a_policy_that_forbids_other_hosts(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        page = await client.get("/explorer")
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "default-src 'none'" in CONTENT_SECURITY_POLICY
        assert "connect-src 'self'" in CONTENT_SECURITY_POLICY
        assert '<html lang="nl">' in page.text
        for name in ("d3-geo.min.js", "d3-array.min.js", "explorer.js", "explorer.css"):
            response = await client.get(f"/explorer-assets/{name}")
            assert response.status_code == 200, name
            assert response.content == (ASSETS_DIRECTORY / name).read_bytes()


def test_no_explorer_when_disabled() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", explorer=False))
    assert not any(getattr(route, "path", "") in {"/explorer", "/explorer-assets"} for route in app.routes)


# ----------------------------------------------------------------------------------- in a browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real `veerkracht serve` on a database of its own (it migrates and seeds it on start)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('explorer') / 'explorer.db'}"
    with servers(url, 1) as (started,):
        yield started


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class Watched:
    """A page whose requests and errors are recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.problems: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda socket: self.requests.append(socket.url))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )

    def check(self) -> None:
        assert self.requests, "no request was seen"
        outside = [
            url
            for url in self.requests
            if urlsplit(url).scheme not in {"data", "blob"} and urlsplit(url).hostname not in LOCAL_HOSTS
        ]
        assert outside == [], f"the page fetched from outside localhost: {outside}"
        assert self.problems == []


@pytest.fixture
async def desktop(browser: Browser, server: Server) -> AsyncIterator[Watched]:
    context = await browser.new_context(viewport=DESKTOP, locale="nl-NL")
    watched = Watched(await context.new_page())
    await open_explorer(watched.page, server)
    try:
        yield watched
        watched.check()
    finally:
        await context.close()


async def open_explorer(page: Page, server: Server) -> None:
    from playwright.async_api import expect

    await page.goto(f"http://127.0.0.1:{server.port}/explorer")
    await expect(page.locator("#kaart path.gemeente").first).to_be_visible(timeout=30_000)
    await expect(page.locator("#initiatief option")).not_to_have_count(1)  # the initiatives have come


async def show_date(page: Page, day: str) -> None:
    """Type a date into the date field, as a person would, and wait for that date's map."""
    from playwright.async_api import expect

    await page.get_by_label("Datum", exact=True).fill(day)
    await page.get_by_label("Datum", exact=True).dispatch_event("change")
    await expect(page.locator("#kaart")).to_have_attribute("data-datum", day, timeout=30_000)


async def highlighted(page: Page, role: str) -> set[str]:
    names = await page.locator(f'#kaart path.gemeente.betrokken[data-rollen~="{role}"]').evaluate_all(
        "paths => paths.map(p => p.dataset.naam)"
    )
    return set(names)


def screenshot_path(tmp_path: Path, name: str) -> Path:
    return (ROOT / "docs" if os.environ.get("VEERKRACHT_SCREENSHOTS") == "docs" else tmp_path) / name


async def test_the_map_has_one_shape_per_municipality_of_the_date(desktop: Watched) -> None:
    from playwright.async_api import expect

    page = desktop.page
    shapes = page.locator("#kaart path.gemeente")
    await show_date(page, "2019-06-01")
    await expect(shapes).to_have_count(62)
    await expect(page.locator("#tabel tbody tr")).to_have_count(62)
    await expect(page.locator("#kaart-status")).to_contain_text("62 gemeenten")
    await show_date(page, "2023-01-01")
    await expect(shapes).to_have_count(56)
    await expect(page.locator("#tabel tbody tr")).to_have_count(56)
    # The fusions' buttons: the day before Altena there were still Aalburg, Werkendam and Woudrichem.
    await page.get_by_role("button", name=re.compile("De dag vóór Altena")).click()
    await expect(page.locator("#kaart")).to_have_attribute("data-datum", "2018-12-31")
    await expect(page.locator('#kaart path[data-code="GM0738"]')).to_have_count(1)
    await expect(page.locator('#kaart path[data-code="GM1959"]')).to_have_count(0)
    await page.get_by_role("button", name="2019: Altena").click()
    await expect(page.locator("#kaart")).to_have_attribute("data-datum", "2019-01-01")
    # The fusion, said and shown: Altena is new (outlined), the three are gone.
    await expect(page.locator("#kaart-status")).to_contain_text(
        "nieuw: Altena; opgeheven: Aalburg, Werkendam, Woudrichem."
    )
    await expect(page.locator('#kaart path[data-code="GM1959"]')).to_have_class(re.compile(r"\bnieuw\b"))
    await expect(page.locator('#kaart path[data-code="GM1959"]')).to_have_count(1)
    await expect(page.locator('#kaart path[data-code="GM0738"]')).to_have_count(0)


async def test_click_tilburg_and_see_the_veerkrachtdialoog(desktop: Watched, tmp_path: Path) -> None:
    from playwright.async_api import expect

    page = desktop.page
    await show_date(page, "2019-06-01")
    await page.locator('#kaart path[data-code="GM0855"]').click()
    details = page.locator("#gemeente-info")
    await expect(details.get_by_role("heading", name="Tilburg")).to_be_visible()
    await expect(details).to_contain_text("GM0855")
    await expect(details).to_contain_text("Veerkrachtdialoog")
    await expect(details.locator("blockquote").first).to_be_visible()  # the memo's words
    await page.screenshot(path=screenshot_path(tmp_path, "explorer-desktop.png"))


async def test_with_the_keyboard_through_the_table(desktop: Watched) -> None:
    from playwright.async_api import expect

    page = desktop.page
    await show_date(page, "2023-01-01")
    await page.locator("#tabel").get_by_role("button", name="Maashorst", exact=True).focus()
    await page.keyboard.press("Enter")
    details = page.locator("#gemeente-info")
    await expect(details.get_by_role("heading", name="Maashorst")).to_be_visible()
    await expect(details).to_contain_text("Landerd")  # formed from
    await expect(details).to_be_focused()
    # Its predecessors' involvements, on request (by keyboard).
    await page.get_by_label(re.compile("Ook de betrokkenheid van voorgangers")).press("Space")
    await expect(details).to_contain_text("(als Uden)")


async def test_pick_pilot_altena(desktop: Watched) -> None:
    from playwright.async_api import expect

    page = desktop.page
    await page.get_by_label("Initiatief", exact=True).select_option(label="Pilot Altena")
    await show_date(page, "2019-06-01")
    await expect(page.locator("#kaart")).to_have_attribute("data-initiatief", "pilot-altena")
    assert await highlighted(page, "PARTNER") == {"Altena"}
    info = page.locator("#initiatief-info")
    await expect(info.get_by_role("heading", name="Pilot Altena")).to_be_visible()
    await expect(info.locator("#organisaties")).to_contain_text("Stichting Zet")
    await show_date(page, "2018-06-01")
    assert await highlighted(page, "PARTNER") == {"Aalburg", "Werkendam", "Woudrichem"}
    await expect(page.locator('#tabel tr[data-code="GM0855"]')).to_contain_text("niet betrokken")


async def test_an_unresolved_mention_is_shown_as_such(desktop: Watched) -> None:
    from playwright.async_api import expect

    page = desktop.page
    await page.get_by_label("Initiatief", exact=True).select_option(label="Veerkrachtdialoog")
    unresolved = page.locator("#niet-herleid")
    await expect(unresolved).to_contain_text("Galderen")
    await expect(unresolved).to_contain_text("niet herleid")
    await expect(page.locator("#kaart")).to_have_attribute("data-initiatief", "veerkrachtdialoog")
    await expect(page.locator('#kaart path[data-code="GM0855"]')).to_have_class(re.compile(r"\bbetrokken\b"))


async def test_on_a_phone(browser: Browser, server: Server, tmp_path: Path) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport=PHONE, locale="nl-NL", is_mobile=True, has_touch=True)
    try:
        watched = Watched(await context.new_page())
        page = watched.page
        await open_explorer(page, server)
        await page.get_by_label("Initiatief", exact=True).select_option(label="Pilot Altena")
        await show_date(page, "2018-06-01")
        await expect(page.locator("#kaart")).to_be_in_viewport()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"
        box = await page.locator("#kaart").bounding_box()
        assert box is not None
        assert box["width"] > 300
        await page.evaluate("document.activeElement.blur()")
        await page.locator("#kaart").scroll_into_view_if_needed()
        await page.screenshot(path=screenshot_path(tmp_path, "explorer-phone.png"), full_page=False)
        await page.locator('#kaart path[data-code="GM0874"]').tap()
        await expect(page.locator("#gemeente-info").get_by_role("heading", name="Woudrichem")).to_be_visible()
        watched.check()
    finally:
        await context.close()
