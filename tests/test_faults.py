"""Database faults: a PostgreSQL restart under load, a database unreachable at start, a statement timeout.

The restart and start-up tests run a PostgreSQL 15 cluster of their own (initdb in a temporary directory,
on a free port), so that stopping it disturbs nobody else; the server under test is the real
``veerkracht serve`` process. What the service promises (and these tests hold it to):

* while the database is down, requests fail, but promptly and well-formed: HTTP 200 with GraphQL errors
  that carry ``extensions.code``, or 503; never a hang, a reset connection or a bare 500;
* within ``RECOVERY_GRACE_SECONDS`` of the database being back, every request succeeds again (the pool
  throws away its dead connections instead of handing them out one by one), /readyz is 200 again and
  subscriptions are woken by NOTIFY again (the change listener reconnected);
* a database that is unreachable when the service starts does not crash it: /healthz 200, /readyz 503
  saying ``"database": "unreachable"``, and once the database answers the service migrates, loads the
  bundled data and becomes ready by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.db import create_engine, create_sessionmaker
from app.models import DatasetLoad
from app.settings import Settings
from app.web import create_app
from app.web.health import READY_TIMEOUT_SECONDS
from tests.conftest import write_token
from tests.databases import DatabaseFactory, in_ci
from tests.servers import ROOT, free_port, servers
from tests.test_subscriptions import CREATE, NO_POLLING, _graphql, _next, subscribed

PG_BIN = Path(os.environ.get("VEERKRACHT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))

RECOVERY_GRACE_SECONDS = 5.0
"""After the database accepts connections again, requests may go on failing for this long at most. The
issue asks for "full recovery within seconds"; in practice the last failure comes within a fraction of a
second of the restart (the pool's pre-ping replaces the dead connections), so 5 s is room for a slow CI
machine, not for a slow recovery."""
REQUEST_TIMEOUT_SECONDS = 10.0
"""A request that takes longer than this counts as hung, inside the outage or not."""
DOWN_SECONDS = 2.0
"""How long the database stays stopped in the restart test."""
# Far above what the load spends: a rate limit must not be mistaken for a database fault.
NO_RATE_LIMIT = {
    "VEERKRACHT_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "100000000",
    "VEERKRACHT_RATE_LIMIT_PER_MINUTE": "100000000",
}

MUNICIPALITIES = "{ municipalities(first: 5) { edges { node { code name } } } }"
NODE = "query($id: ID!) { node(id: $id) { ... on Municipality { code name } } }"
GILZE_EN_RIJEN = '{ municipality(code: "GM0784") { id code name } }'


# --- a PostgreSQL cluster of the test's own -----------------------------------------------------------


def _cluster_tools_problem() -> str | None:
    """Why this machine cannot run a private cluster, or None when it can."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"no initdb/pg_ctl in {PG_BIN} (set VEERKRACHT_TEST_PG_BIN)"
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        if shutil.which("runuser") is None:
            return "running as root and runuser is not available to run PostgreSQL as user postgres"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no OS user postgres to run PostgreSQL as"
    return None


def require_cluster_tools() -> None:
    """Skip where a private cluster cannot run, except in CI (like ``require_postgres``)."""
    problem = _cluster_tools_problem()
    if problem is None:
        return
    if in_ci():
        pytest.fail(f"{problem} (CI=true: the fault tests must run)", pytrace=False)
    pytest.skip(problem)


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary directory, on a free port, with trust auth."""

    def __init__(self) -> None:
        self.port = free_port()
        # Not pytest's tmp_path: that is private to root, and the cluster runs as user postgres.
        self.directory = Path(tempfile.mkdtemp(prefix="veerkracht-faults-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)

    def _run(self, *command: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run(
            [*prefix, str(PG_BIN / command[0]), *command[1:]],
            cwd=self.directory, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if result.returncode != 0:
            log = self.log.read_text("utf-8", "replace")[-3000:] if self.log.exists() else ""
            raise AssertionError(f"{command[0]} failed: {result.stdout}{result.stderr}\n{log}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        """Start, and return once the server accepts connections (``pg_ctl -w``)."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        """Fast shutdown: open sessions are terminated, as in a restart for an upgrade or failover."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        name = f"faults_{os.urandom(4).hex()}"
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres"
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)

    def remove(self) -> None:
        if self.running:
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    require_cluster_tools()
    instance = Cluster()
    try:
        instance.init()
        instance.start()
        yield instance
    finally:
        instance.remove()


@pytest.fixture
def running_cluster(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster, running at the start and again at the end of the test (whatever the test did)."""
    if not cluster.running:
        cluster.start()
    yield cluster
    if not cluster.running:
        cluster.start()


# --- load: requests with their times and outcomes ----------------------------------------------------


@dataclass
class Outcome:
    started: float
    ended: float
    ok: bool
    well_formed: bool
    """A failure the service meant: GraphQL errors with ``extensions.code``, or 503."""
    detail: str


def _judge(response: httpx.Response, expected: dict[str, Any]) -> tuple[bool, bool, str]:
    """(ok, well-formed, detail) of one GraphQL response."""
    if response.status_code == 503:
        return False, True, "503"
    if response.status_code != 200:
        return False, False, f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return False, False, f"not JSON: {response.text[:200]}"
    errors = body.get("errors")
    if errors:
        codes = [(error.get("extensions") or {}).get("code") for error in errors]
        return False, all(codes), f"errors {codes}: {errors[0].get('message', '')[:120]}"
    if body.get("data") != expected:
        return False, False, f"unexpected data {str(body.get('data'))[:200]}"
    return True, True, "ok"


async def _client(
    url: str,
    requests: list[tuple[str, dict[str, Any], dict[str, Any]]],
    outcomes: list[Outcome],
    stop: asyncio.Event,
) -> None:
    """One client: the requests in turn, each recorded, until ``stop``; a short pause between them."""
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        turn = 0
        while not stop.is_set():
            query, variables, expected = requests[turn % len(requests)]
            turn += 1
            started = time.monotonic()
            try:
                response = await client.post(url, json={"query": query, "variables": variables})
                ok, well_formed, detail = _judge(response, expected)
            except httpx.HTTPError as exc:  # timeouts, resets, refused: none is acceptable
                ok, well_formed, detail = False, False, f"{type(exc).__name__}: {exc}"
            outcomes.append(Outcome(started, time.monotonic(), ok, well_formed, detail))
            await asyncio.sleep(0.02)


async def _ready(base: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        return await client.get(f"{base}/readyz")


# --- the tests ---------------------------------------------------------------------------------------


async def test_a_postgresql_restart_under_load_fails_only_while_it_is_down(running_cluster: Cluster) -> None:
    """Two instances, two clients each, query steadily while the database is stopped a while and restarted.

    The outage window is [stop issued, start completed + RECOVERY_GRACE_SECONDS]. A request that
    overlaps it may fail, well-formed; every other request, before or after, must succeed.
    """
    url = await running_cluster.create_database()
    env = {**NO_POLLING, **NO_RATE_LIMIT}  # subscriptions below can only be woken by NOTIFY
    with (
        servers(url, 2, env=env) as (listener, writer),
    ):
        log = listener.lines
        gilze = (await _graphql(listener, GILZE_EN_RIJEN, {}))["municipality"]
        first_five = await _graphql(listener, MUNICIPALITIES, {})
        requests = [
            (MUNICIPALITIES, {}, first_five),
            (NODE, {"id": gilze["id"]}, {"node": {"code": "GM0784", "name": "Gilze en Rijen"}}),
        ]
        outcomes: list[Outcome] = []
        stop = asyncio.Event()
        clients = [
            asyncio.create_task(_client(server.url, requests, outcomes, stop))
            for server in (listener, writer)
            for _ in range(2)
        ]
        try:
            await asyncio.sleep(3)
            stop_issued = time.monotonic()
            await asyncio.to_thread(running_cluster.stop)
            await asyncio.sleep(DOWN_SECONDS)
            await asyncio.to_thread(running_cluster.start)
            back_up = time.monotonic()
            await asyncio.sleep(RECOVERY_GRACE_SECONDS + 5)
        finally:
            stop.set()
            await asyncio.gather(*clients)
        window_end = back_up + RECOVERY_GRACE_SECONDS

        before = [o for o in outcomes if o.ended < stop_issued]
        inside = [o for o in outcomes if o.ended >= stop_issued and o.started <= window_end]
        after = [o for o in outcomes if o.started > window_end]
        assert len(before) >= 20, f"too few requests before the stop to judge: {len(before)}"
        assert len(after) >= 20, f"too few requests after the window to judge: {len(after)}"
        outside_failures = [o.detail for o in before + after if not o.ok]
        assert outside_failures == [], f"failures outside the outage window: {outside_failures[:10]}"
        # The stop must have been felt (else this test proves nothing), and felt as clean errors.
        inside_failures = [o for o in inside if not o.ok]
        assert inside_failures, "no request failed while the database was down"
        malformed = [o.detail for o in inside_failures if not o.well_formed]
        assert malformed == [], f"failures that are not well-formed: {malformed[:10]}"
        assert all(o.ended - o.started < REQUEST_TIMEOUT_SECONDS for o in outcomes)
        last_failure = max(o.ended for o in inside_failures)
        print(  # shown with -s: how long the service really needed
            f"{len(outcomes)} requests, {len(inside_failures)} failed; last failure "
            f"{last_failure - back_up:+.2f} s after the database was back"
        )

        for server in (listener, writer):
            ready = await _ready(f"http://127.0.0.1:{server.port}")
            assert ready.status_code == 200, ready.text

        # The change listener reconnected: with the poll at ten minutes, a change made on the other
        # instance can reach this subscriber only through PostgreSQL's NOTIFY.
        token = await write_token(url, "faults")
        async with subscribed(listener, {"types": ["Organization"], "after": None}) as websocket:
            await asyncio.sleep(0.5)  # the subscription is waiting
            created = await _graphql(writer, CREATE, {"slug": "after-restart"}, token)
            change = await _next(websocket)
            assert change["entityId"] == created["createOrganization"]["organization"]["id"]
        assert any("change listener" in line for line in log), "the listener's outage was logged"


@contextlib.contextmanager
def _serve(
    database_url: str, log_path: Path, workers: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``veerkracht serve`` without waiting for readiness (``tests.servers`` waits for /readyz 200)."""
    port = free_port()
    environment = {**os.environ, "VEERKRACHT_DATABASE_URL": database_url, **NO_RATE_LIMIT}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--workers", str(workers), "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            yield process, f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _poll(url: str, status: int, deadline: float) -> httpx.Response | None:
    """GET ``url`` until it answers ``status``; None when the deadline passes first."""
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(url)
                if response.status_code == status:
                    return response
            await asyncio.sleep(0.2)
    return None


async def test_a_database_unreachable_at_start_does_not_stop_the_service(
    running_cluster: Cluster, tmp_path: Path
) -> None:
    """Two workers start while the database is down; they serve, say so, and bootstrap once it is up."""
    url = await running_cluster.create_database()
    running_cluster.stop()
    log_path = tmp_path / "serve.log"
    with _serve(url, log_path, workers=2) as (process, base):
        assert await _poll(f"{base}/healthz", 200, time.monotonic() + 60), log_path.read_text()
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            for _ in range(3):  # no crash loop: still up a while later, still saying why it is not ready
                started = time.monotonic()
                ready = await client.get(f"{base}/readyz")
                assert time.monotonic() - started < READY_TIMEOUT_SECONDS + 1
                assert ready.status_code == 503
                assert ready.json()["database"] == "unreachable"
                assert (await client.get(f"{base}/healthz")).status_code == 200
                await asyncio.sleep(1)
        assert process.poll() is None, log_path.read_text()
        startup_log = log_path.read_text()
        assert "database unreachable at start" in startup_log
        assert "Traceback" not in startup_log, startup_log

        running_cluster.start()
        back_up = time.monotonic()
        # Backoff tops out at 5 s; then the migration and the load of the bundled dataset.
        ready_again = await _poll(f"{base}/readyz", 200, back_up + 30)
        assert ready_again is not None, log_path.read_text()
        print(f"ready {time.monotonic() - back_up:.1f} s after the database came up")
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            body = (await client.post(f"{base}/graphql", json={"query": GILZE_EN_RIJEN})).json()
        assert body["data"]["municipality"]["name"] == "Gilze en Rijen", body
        assert process.poll() is None

    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            loads = await session.scalar(select(func.count()).select_from(DatasetLoad))
        assert loads == 1, "two workers bootstrapping at once loaded the dataset exactly once"
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _silent_database() -> AsyncIterator[str]:
    """A port that accepts connections and never answers: a database host that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    listener = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing"
    finally:
        for writer in held:
            writer.close()
        listener.close()
        await listener.wait_closed()


async def test_readyz_answers_promptly_when_the_database_hangs() -> None:
    """A probe must not hang with the database: 503 within READY_TIMEOUT_SECONDS (and a little)."""
    from asgi_lifespan import LifespanManager

    async with _silent_database() as url:
        app = create_app(Settings(database_url=url))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                started = time.monotonic()
                response = await client.get("/readyz")
                elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert elapsed < READY_TIMEOUT_SECONDS + 1, elapsed


async def test_postgresql_cancels_a_statement_over_the_timeout(databases: DatabaseFactory) -> None:
    url = await databases.create("postgresql")
    engine = create_engine(url, statement_timeout_seconds=0.2)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SHOW statement_timeout")) == "200ms"
            await connection.execute(text("SELECT pg_sleep(0.05)"))  # under the limit: fine
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(text("SELECT pg_sleep(1)"))
        assert getattr(raised.value.orig, "sqlstate", None) == "57014"  # query_canceled
        assert "statement timeout" in str(raised.value)
        # The pool is fine afterwards: the next statement on a new checkout runs.
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


async def test_no_statement_timeout_unless_asked(databases: DatabaseFactory) -> None:
    """Migrations and the first-start load use engines without one; SQLite ignores the setting."""
    url = await databases.create("postgresql")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SHOW statement_timeout")) == "0"
    finally:
        await engine.dispose()
    sqlite = create_engine(await databases.create("sqlite"), statement_timeout_seconds=0.2)
    try:
        async with sqlite.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await sqlite.dispose()
