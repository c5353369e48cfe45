"""The benchmark of issue #3: the API against PostGraphile v4 and a hand-written-SQL ceiling, same data, same run.

    python bench/run.py [--scales 1,10,100] [--duration 10] [--connections 10] [--workers 2] [--keep]

For each scale it grows a PostgreSQL database of its own (bench/datasets.py: the bundled dataset plus synthetic
initiatives and involvements), starts three servers on it with the same number of worker processes

    ours          python -m app serve --workers N (production settings, rate limits out of the way), with the
                  response cache off: every request runs its query
    ours-cached   the same with the response cache on (the default): a repeated request is a cache hit
    PostGraphile  postgraphile@4 --cluster-workers N (installed with npm under bench/.cache)
    ceiling       bench/ceiling.py --workers N: one hand-written SQL statement per request

checks each server's answer to each query shape once (bench/queries/), then loads each server in turn with
wrk (installed with apt-get when missing), shape by shape: a warm-up, then a measured run with --latency.
Five shapes repeat one request (bench/wrk/graphql.lua); six change their variables on every request
(bench/wrk/varied.lua: every municipality code, hundreds of slugs, 26 search words, 200 node ids), among
them the predecessor walk and the provenance page. Then a mixed run: all shapes at once, one wrk per shape,
with the response cache's hit rate (ours, from /metrics). It prints one table per scale and one of the
mixed run, the 10x -> 100x slowdown, and the goals of issues #3 and #15, and writes everything to
bench/results/latest.json.
SQL statements per operation are counted in-process (the app with a cursor listener, as tests/conftest.py
does); RSS is sampled from /proc during the load. The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))

import datasets  # noqa: E402  (bench/datasets.py)

QUERIES = BENCH / "queries"
LUA = BENCH / "wrk" / "graphql.lua"
LUA_VARIED = BENCH / "wrk" / "varied.lua"
CACHE = BENCH / ".cache"
POSTGRAPHILE_DIR = CACHE / "postgraphile"
POSTGRAPHILE_PACKAGES = ["postgraphile@4", "postgraphile-plugin-connection-filter@2"]
RESULTS = BENCH / "results" / "latest.json"

SHAPES = [
    "page", "list", "nested", "search", "node",
    "municipality", "predecessors", "initiative", "provenance", "search-words", "node-ids",
]  # fmt: skip
PAGED = {"page", "nested", "search", "search-words"}
"""Shapes whose top-level page is `first: 50` (the issue's "paged queries")."""
VARIED = {"municipality", "predecessors", "initiative", "provenance", "search-words", "node-ids"}
"""Shapes whose variables change on every request (bench/wrk/varied.lua): every municipality code, hundreds
of slugs, many search words, hundreds of node ids. The others repeat one request (bench/wrk/graphql.lua)."""
QUERY_OF = {"search-words": "search", "node-ids": "node"}
"""Varied shapes that send the query document of a fixed one (bench/queries/<that>.graphql)."""
PLAIN = "municipality"
"""The plain municipality page: the yardstick of issue #15's "no shape slower than 0.5x" goal."""
GOAL_VS_PLAIN = 0.5
SEARCH_WORDS = [
    "zorg", "energie", "wonen", "armoede", "jeugd", "werk", "dementie", "eenzaamheid", "mobiliteit",
    "buitengebied", "veerkracht", "inkoop", "schulden", "gezondheid", "klimaat", "water",
    "pilot", "proeftuin", "methode", "netwerk", "fonds", "tilburg", "breda", "eindhoven", "oss", "altena",
]  # fmt: skip
"""search-words: the synthetic names' topics and sorts (1 in 16 and 1 in 7 of the initiatives), places (from
a few to hundreds of matches) and words of the bundled initiatives: 26 words of very different reach."""
MAX_SLUGS = 300
MAX_NODE_IDS = 200
NODE_SLUG = "pilot-altena"
SERVERS = ["ours", "ours-cached", "postgraphile", "ceiling"]
"""ours: the API with its response cache off, so that every request runs the query (what PostGraphile and the
ceiling do); ours-cached: as configured by default, where a repeated request is answered from the cache."""
CODE = ["app", "schema", "migrations"]
"""What is measured: a fingerprint of these is recorded per scale (the tree may change under a long run)."""

# The goals.
GOAL_VS_POSTGRAPHILE = 1.0
GOAL_VS_CEILING = 0.5
GOAL_SLOWDOWN = 1.5
GOAL_P99_OVER_P50 = 3.0
GOAL_RSS_MB = 200.0


# --------------------------------------------------------------------------------------------- processes


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The second field (comm) may hold spaces; the parent pid is the second field after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _ticks_by_pid(pids: list[int]) -> dict[int, int]:
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    return found


def _cpu_ticks(pids: list[int]) -> int:
    return sum(_ticks_by_pid(pids).values())


def _ticks_spent(before: dict[int, int], pids: list[int]) -> int:
    """CPU ticks the processes of ``before`` spent since, counting only those still there (a process that
    exited, such as an idle database session closed by its pool, would otherwise subtract its whole life)."""
    after = _ticks_by_pid(pids)
    return sum(after[pid] - ticks for pid, ticks in before.items() if pid in after)


def _busy_ticks() -> int:
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def workers(self) -> list[int]:
        """The processes that serve requests: the worker children (uvicorn's spawned workers, Node's
        cluster workers), or the process itself when it has none."""
        children = [
            pid
            for pid in _children(self.process.pid)
            if "resource_tracker" not in _cmdline(pid) and "semaphore_tracker" not in _cmdline(pid)
        ]
        return children or [self.process.pid]

    def tree(self) -> list[int]:
        return [self.process.pid, *_children(self.process.pid)]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the server and its workers
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(name: str, command: list[str], env: dict[str, str], cwd: Path, logs: Path, port: int) -> Server:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, port, process, log)


def post(url: str, body: bytes, timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ready(server: Server, body: bytes, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.process.returncode}); see {server.log}")
        try:
            status, _ = post(server.url, body, timeout=5)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{server.name} did not answer within {timeout:.0f} s; see {server.log}")


# --------------------------------------------------------------------------------------------- tools


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing; installing it with apt-get", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    install = [*prefix, "apt-get", "install", "-y", "wrk"]
    if subprocess.run(install, stdout=subprocess.DEVNULL, check=False).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update"], stdout=subprocess.DEVNULL, check=False)
        subprocess.run(install, stdout=subprocess.DEVNULL, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed")
    return found


def ensure_postgraphile() -> Path | None:
    """PostGraphile v4 and its connection-filter plugin under bench/.cache (npm install once)."""
    binary = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "postgraphile"
    plugin = POSTGRAPHILE_DIR / "node_modules" / "postgraphile-plugin-connection-filter"
    if binary.exists() and plugin.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        print("WARNING: npm is missing; running without PostGraphile", flush=True)
        return None
    POSTGRAPHILE_DIR.mkdir(parents=True, exist_ok=True)
    print(f"installing {', '.join(POSTGRAPHILE_PACKAGES)} into {POSTGRAPHILE_DIR}", flush=True)
    result = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(POSTGRAPHILE_DIR),
            *POSTGRAPHILE_PACKAGES,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not binary.exists():
        print(
            f"WARNING: npm install failed; running without PostGraphile:\n{result.stderr[-2000:]}", flush=True
        )
        return None
    return binary


# --------------------------------------------------------------------------------------------- queries


def query_text(shape: str, server: str) -> str:
    suffix = ".postgraphile.graphql" if server == "postgraphile" else ".graphql"
    return (QUERIES / f"{QUERY_OF.get(shape, shape)}{suffix}").read_text()


def request_body(shape: str, server: str, variables: dict[str, Any]) -> bytes:
    used = {name: value for name, value in variables.items() if f"${name}" in query_text(shape, server)}
    return json.dumps({"query": query_text(shape, server), "variables": used}).encode()


def leaves(value: Any) -> int:
    """How many scalar values an answer holds (the same for equivalent answers, whatever the nesting)."""
    if isinstance(value, dict):
        return sum(leaves(item) for item in value.values())
    if isinstance(value, list):
        return sum(leaves(item) for item in value)
    return 1


def check_answer(server: str, shape: str, status: int, raw: bytes) -> tuple[int, int]:
    """(bytes, scalar values) of a verified answer; raises when it is not a successful, non-empty one."""
    if status != 200:
        raise RuntimeError(f"{server} {shape}: HTTP {status}: {raw[:500]!r}")
    answer = json.loads(raw)
    if answer.get("errors"):
        raise RuntimeError(f"{server} {shape}: errors {answer['errors']}")
    data = answer.get("data")
    if not data or not any(data.values()):
        raise RuntimeError(f"{server} {shape}: empty data {raw[:500]!r}")
    return len(raw), leaves(data)


def _spread(items: list[Any], most: int) -> list[Any]:
    """At most ``most`` of ``items``, evenly spread over them (first, last and between)."""
    if len(items) <= most:
        return list(items)
    return [items[round(k * (len(items) - 1) / (most - 1))] for k in range(most)]


async def _dataset_keys(dsn: str) -> dict[str, list[str]]:
    connection = await asyncpg.connect(dsn)
    try:
        codes = [row["code"] for row in await connection.fetch("SELECT code FROM municipality ORDER BY code")]
        with_predecessors = [
            row["code"]
            for row in await connection.fetch(
                "SELECT m.code FROM municipality m WHERE EXISTS (SELECT 1 FROM fusion_municipality f"
                " WHERE f.municipality_id = m.id AND f.side = 'resulting') ORDER BY m.code"
            )
        ]
        current = [
            row["code"]
            for row in await connection.fetch(
                "SELECT code FROM municipality WHERE dissolved_on IS NULL ORDER BY code"
            )
        ]
        slugs = [row["slug"] for row in await connection.fetch("SELECT slug FROM initiative ORDER BY id")]
        programmes = [
            row["slug"]
            for row in await connection.fetch(
                "SELECT i.slug FROM initiative i WHERE (SELECT count(*) FROM involvement v"
                " WHERE v.initiative_id = i.id) >= 20 ORDER BY i.id"
            )
        ]
    finally:
        await connection.close()
    return {
        "codes": codes,
        "with_predecessors": with_predecessors,
        "without_predecessors": [code for code in current if code not in with_predecessors],
        "slugs": slugs,
        "programmes": programmes,
    }


def variable_lists(
    keys: dict[str, list[str]], servers: dict[str, str]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """shape -> server -> the variables of its requests, in the order they are sent (round robin). Fixed
    shapes have one; the others one per code, slug, word or id, shuffled (fixed seed) so that consecutive
    requests differ. A node id is each server's own (the ceiling answers ours)."""
    import random

    def shuffled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        random.Random(0).shuffle(items)
        return items

    node_slugs = _spread(keys["slugs"], MAX_NODE_IDS)
    # Half the predecessor pages are of a municipality formed from others (Altena, Maashorst, Land van
    # Cuijk, Meierijstad, and those that took part of a split one), half of one that was not.
    half = max(1, len(keys["without_predecessors"]) // max(1, len(keys["with_predecessors"])))
    predecessor_codes = keys["with_predecessors"] * half + keys["without_predecessors"]
    common: dict[str, list[dict[str, Any]]] = {
        "page": [{}],
        "list": [{}],
        "nested": [{}],
        "search": [{"search": datasets.SEARCH_TERM}],
        "municipality": shuffled([{"code": code} for code in keys["codes"]]),
        "predecessors": shuffled([{"code": code} for code in predecessor_codes]),
        "initiative": shuffled([{"slug": slug} for slug in _spread(keys["slugs"], MAX_SLUGS)]),
        "provenance": shuffled([{"slug": slug} for slug in _spread(keys["programmes"], MAX_SLUGS)]),
        "search-words": shuffled([{"search": word} for word in SEARCH_WORDS]),
    }
    found: dict[str, dict[str, list[dict[str, Any]]]] = {shape: {} for shape in [*common, "node", "node-ids"]}
    for server, url in servers.items():
        ids = node_ids(server, url, [NODE_SLUG, *node_slugs])
        for shape, lists in common.items():
            found[shape][server] = lists
        found["node"][server] = [{"id": ids[NODE_SLUG]}]
        found["node-ids"][server] = shuffled([{"id": ids[slug]} for slug in node_slugs])
    return found


def node_ids(server: str, url: str, slugs: list[str]) -> dict[str, str]:
    """slug -> the global id of that initiative on this server (ours are derived from the slug; the ceiling
    answers ours; PostGraphile's nodeId is asked for)."""
    if server != "postgraphile":
        return {slug: base64.b64encode(f"Initiative:{slug}".encode()).decode() for slug in slugs}
    query = (
        "query ($slugs: [String!]) { allInitiatives(filter: {slug: {in: $slugs}}) { nodes { nodeId slug } } }"
    )
    _status, raw = post(url, json.dumps({"query": query, "variables": {"slugs": slugs}}).encode())
    return {node["slug"]: node["nodeId"] for node in json.loads(raw)["data"]["allInitiatives"]["nodes"]}


POSTGRAPHILE_PREDECESSORS = """
CREATE OR REPLACE FUNCTION municipality_involvements_with_predecessors(m municipality)
RETURNS SETOF involvement LANGUAGE sql STABLE AS $$
  WITH RECURSIVE walk(id) AS (
    SELECT m.id
    UNION
    SELECT gone.municipality_id
    FROM walk
    JOIN fusion_municipality AS formed ON formed.municipality_id = walk.id AND formed.side = 'resulting'
    JOIN fusion_municipality AS gone ON gone.fusion_id = formed.fusion_id AND gone.side = 'dissolved'
  )
  SELECT * FROM involvement WHERE participant_id IN (SELECT id FROM walk) ORDER BY id
$$
"""
"""PostGraphile's own way to add a field that is not a foreign key: a computed column (a function taking the
row), which it exposes as `Municipality.involvementsWithPredecessors` (a connection). Only in the benchmark's
database, created after the migrations; the API does not see it."""


async def postgraphile_extras(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(POSTGRAPHILE_PREDECESSORS)
    finally:
        await connection.close()


def has_response_cache() -> bool:
    from app.settings import Settings

    return "response_cache" in Settings.model_fields


async def count_statements(dsn: str, bodies: dict[str, bytes], *, response_cache: bool) -> dict[str, int]:
    """SQL statements per operation of our API: the app in-process with a cursor listener (as the tests do),
    each shape posted twice and the second counted (with the response cache on, that one is a hit)."""
    import httpx
    from asgi_lifespan import LifespanManager

    from app.observability import listen_to_statements
    from app.settings import Settings
    from app.web import create_app

    options: dict[str, Any] = {
        "database_url": datasets.sqlalchemy_url(dsn),
        "environment": "production",
        "rate_limit_per_minute": 10**9,
        "anonymous_rate_limit_per_minute": 10**9,
        "log_level": "WARNING",
    }
    if has_response_cache():
        options["response_cache"] = response_cache
    settings = Settings(**options)
    app = create_app(settings)
    statements: list[str] = []
    counts = {}
    async with LifespanManager(app):
        listen_to_statements(app, statements.append)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for shape, body in bodies.items():
                headers = {"Content-Type": "application/json"}
                for _ in range(2):
                    statements.clear()
                    response = await client.post("/graphql", content=body, headers=headers)
                    response.raise_for_status()
                counts[shape] = len(statements)
    return counts


def code_fingerprint() -> str:
    """SHA-256 (shortened) of the measured code as it is on disk now, committed or not."""
    digest = hashlib.sha256()
    for top in CODE:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def git_state() -> dict[str, Any]:
    def git(*command: str) -> str:
        result = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True, check=False)
        return result.stdout.strip()

    changed = git("status", "--porcelain", "--", *CODE).splitlines()
    return {"commit": git("rev-parse", "HEAD"), "uncommitted_files_in_measured_code": len(changed)}


# --------------------------------------------------------------------------------------------- load


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: dict[str, int]
    rss_worker_max_mb: float = 0.0
    rss_total_max_mb: float = 0.0
    workers: int = 0
    other_cpu_percent: float | None = None
    load_average: str = ""
    cache_hit_rate: float | None = None
    """Of the response cache's lookups during the measured run (ours only; from /metrics)."""
    cache_lookups: int | None = None


class Sampler:
    """Samples the RSS of a server's workers every 0.25 s while the load runs."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.worker_max = 0.0
        self.total_max = 0.0
        self.workers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = [_rss_mb(pid) for pid in self.server.workers()]
            self.workers = max(self.workers, len(sizes))
            self.worker_max = max(self.worker_max, *sizes)
            self.total_max = max(self.total_max, sum(sizes))
            self._stop.wait(0.25)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def database_backends(dsn: str) -> list[int]:
    """The benchmark database's sessions (their CPU is the benchmark's). The servers' pools may hold most
    of PostgreSQL's connections (four servers of two workers each): a refused connection is tried again a
    few times, then the run goes on without (its "other CPU" then counts the sessions as other work)."""

    async def fetch() -> list[int]:
        connection = await asyncpg.connect(dsn)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [int(row["pid"]) for row in rows]
        finally:
            await connection.close()

    for attempt in range(5):
        try:
            return asyncio.run(fetch())
        except asyncpg.exceptions.TooManyConnectionsError:
            time.sleep(0.5 * (attempt + 1))
    print("WARNING: no connection for pg_stat_activity (too many clients); database CPU not attributed")
    return []


def wrk_start(
    binary: str, url: str, body_file: Path, seconds: float, threads: int, connections: int
) -> subprocess.Popen[str]:
    """wrk on one body (graphql.lua) or, for a .jsonl file, on its bodies round robin (varied.lua)."""
    lua = LUA_VARIED if body_file.suffix == ".jsonl" else LUA
    command = [
        binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "30s",
        "-s", str(lua), url, "--", str(body_file), str(threads),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wrk_result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate()
    for line in out.splitlines():
        if line.startswith("WRK_JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
            return result
    raise RuntimeError(f"wrk gave no result: {out}\n{err}")


def wrk(
    binary: str, args: argparse.Namespace, url: str, body_file: Path, seconds: float
) -> tuple[dict[str, Any], int]:
    process = wrk_start(binary, url, body_file, seconds, args.threads, args.connections)
    return wrk_result(process), process.pid


def cache_lookups(server: Server) -> dict[str, float] | None:
    """The response cache's hits and misses so far, summed over the workers (GET /metrics; None for a
    server that is not ours or has no metrics)."""
    if not server.name.startswith("ours"):
        return None
    try:
        with urllib.request.urlopen(server.url.rsplit("/", 1)[0] + "/metrics", timeout=10) as response:
            text = response.read().decode()
    except (OSError, urllib.error.HTTPError):
        return None
    found = {"hit": 0.0, "miss": 0.0}
    for line in text.splitlines():
        if line.startswith("veerkracht_cache_lookups_total{") and 'cache="response"' in line:
            labels, _, value = line.rpartition(" ")
            for result in found:
                if f'result="{result}"' in labels:
                    found[result] += float(value)
    return found


def _hit_rate(
    before: dict[str, float] | None, after: dict[str, float] | None
) -> tuple[float | None, int | None]:
    if before is None or after is None:
        return None, None
    hits, misses = after["hit"] - before["hit"], after["miss"] - before["miss"]
    total = hits + misses
    return (hits / total if total else None), int(total)


def settle(server: Server, timeout: float = 60) -> None:
    """Wait until the server has finished the requests wrk left in flight (its CPU use stops), so that they
    do not slow the next run down."""
    deadline = time.monotonic() + timeout
    ticks = _cpu_ticks(server.tree())
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _cpu_ticks(server.tree())
        if now - ticks <= 0.05 * 0.5 * os.sysconf("SC_CLK_TCK"):  # under 5 % of one core
            return
        ticks = now


def _own_ticks() -> float:
    """CPU seconds of this process and its reaped children (wrk), in clock ticks."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return seconds * os.sysconf("SC_CLK_TCK")


def measure(binary: str, args: argparse.Namespace, server: Server, body_file: Path, dsn: str) -> Run:
    if args.warmup > 0:
        wrk(binary, args, server.url, body_file, args.warmup)
        settle(server)
    ours = server.tree() + database_backends(dsn)
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    busy_before, ours_before, own_before = _busy_ticks(), _ticks_by_pid(ours), _own_ticks()
    lookups_before = cache_lookups(server)
    started = time.monotonic()
    with Sampler(server) as sampler:
        result, _ = wrk(binary, args, server.url, body_file, args.duration)
    elapsed = time.monotonic() - started
    hit_rate, lookups = _hit_rate(lookups_before, cache_lookups(server))
    # CPU the machine spent outside this benchmark while it ran (other test suites, ...): all busy CPU but
    # the server's processes, its database sessions, wrk and this script.
    busy = _busy_ticks() - busy_before
    mine = _ticks_spent(ours_before, ours) + _own_ticks() - own_before
    capacity = elapsed * ticks_per_second * (os.cpu_count() or 1)
    run = Run(
        rps=result["rps"],
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        requests=result["requests"],
        errors={kind: count for kind, count in result["errors"].items() if count},
        rss_worker_max_mb=round(sampler.worker_max, 1),
        rss_total_max_mb=round(sampler.total_max, 1),
        workers=sampler.workers,
        other_cpu_percent=round(max(0.0, busy - mine) / capacity * 100, 1),
        load_average=load_average(),
        cache_hit_rate=hit_rate,
        cache_lookups=lookups,
    )
    settle(server)
    return run


@dataclass
class MixedRun:
    runs: dict[str, Run] = field(default_factory=dict)
    """shape -> its wrk's numbers (its own connections; the server serves all shapes at once)."""
    cache_hit_rate: float | None = None
    cache_lookups: int | None = None
    rss_worker_max_mb: float = 0.0
    other_cpu_percent: float | None = None


def measure_mixed(
    binary: str, args: argparse.Namespace, server: Server, body_files: dict[str, Path], dsn: str
) -> MixedRun:
    """All shapes at once: one wrk per shape (1 thread, connections/shapes connections each, at least 1),
    started together, so that the server answers a mix while each shape's latency is measured on its own
    (wrk's latency statistics are per process). Closed loop: a slow shape sends fewer requests."""
    connections = max(1, args.connections // len(body_files))

    def start_all(seconds: float) -> dict[str, subprocess.Popen[str]]:
        return {
            shape: wrk_start(binary, server.url, path, seconds, 1, connections)
            for shape, path in body_files.items()
        }

    if args.warmup > 0:
        for process in start_all(args.warmup).values():
            wrk_result(process)
        settle(server)
    ours = server.tree() + database_backends(dsn)
    busy_before, ours_before, own_before = _busy_ticks(), _ticks_by_pid(ours), _own_ticks()
    lookups_before = cache_lookups(server)
    started = time.monotonic()
    with Sampler(server) as sampler:
        results = {shape: wrk_result(process) for shape, process in start_all(args.duration).items()}
    elapsed = time.monotonic() - started
    hit_rate, lookups = _hit_rate(lookups_before, cache_lookups(server))
    busy = _busy_ticks() - busy_before
    mine = _ticks_spent(ours_before, ours) + _own_ticks() - own_before
    capacity = elapsed * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
    mixed = MixedRun(
        runs={
            shape: Run(
                rps=result["rps"],
                p50_ms=result["p50_us"] / 1000,
                p99_ms=result["p99_us"] / 1000,
                requests=result["requests"],
                errors={kind: count for kind, count in result["errors"].items() if count},
            )
            for shape, result in results.items()
        },
        cache_hit_rate=hit_rate,
        cache_lookups=lookups,
        rss_worker_max_mb=round(sampler.worker_max, 1),
        other_cpu_percent=round(max(0.0, busy - mine) / capacity * 100, 1),
    )
    settle(server)
    return mixed


# --------------------------------------------------------------------------------------------- one scale


@dataclass
class ShapeResult:
    shape: str
    runs: dict[str, Run] = field(default_factory=dict)
    statements: int | None = None
    """Per operation, with the response cache off (every statement the operation runs)."""
    statements_cache_hit: int | None = None
    """Per operation answered from the response cache (None: the API has no response cache)."""
    variants: int = 1
    """Different requests sent round robin (1: one request repeated)."""
    answer_bytes: dict[str, int] = field(default_factory=dict)
    answer_values: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ScaleResult:
    scale: int
    counts: dict[str, int]
    load_before: str
    code: str = ""
    """code_fingerprint() when the servers of this scale started."""
    load_after: str = ""
    shapes: dict[str, ShapeResult] = field(default_factory=dict)
    mixed: dict[str, MixedRun] = field(default_factory=dict)
    """server -> all shapes loaded at once (one wrk per shape)."""
    notes: list[str] = field(default_factory=list)


def server_commands(
    args: argparse.Namespace, dsn: str, postgraphile: Path | None, ports: dict[str, int]
) -> dict[str, tuple[list[str], dict[str, str], Path]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VEERKRACHT_")}
    ours_env = {
        **env,
        "VEERKRACHT_DATABASE_URL": datasets.sqlalchemy_url(dsn),
        "VEERKRACHT_ENVIRONMENT": "production",
        "VEERKRACHT_LOG_LEVEL": "WARNING",
        "VEERKRACHT_RATE_LIMIT_PER_MINUTE": "1000000000",
        "VEERKRACHT_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "1000000000",
    }

    def serve(name: str) -> list[str]:
        return [sys.executable, "-m", "app", "serve", "--workers", str(args.workers), "--no-bootstrap",
                "--host", "127.0.0.1", "--port", str(ports[name])]  # fmt: skip

    commands = {
        "ours": (serve("ours"), {**ours_env, "VEERKRACHT_RESPONSE_CACHE": "false"}, ROOT),
        "ceiling": (
            [sys.executable, str(BENCH / "ceiling.py"), "--dsn", dsn, "--workers", str(args.workers),
             "--port", str(ports["ceiling"])],
            env,
            ROOT,
        ),
    }  # fmt: skip
    if has_response_cache():
        commands["ours-cached"] = (
            serve("ours-cached"),
            {**ours_env, "VEERKRACHT_RESPONSE_CACHE": "true"},
            ROOT,
        )
    if postgraphile is not None:
        commands["postgraphile"] = (
            [str(postgraphile), "-c", dsn, "-s", "public", "--host", "127.0.0.1", "--port",
             str(ports["postgraphile"]), "--disable-graphiql", "--disable-query-log",
             "--append-plugins", "postgraphile-plugin-connection-filter",
             "--cluster-workers", str(args.workers)],
            {**env, "NODE_ENV": "production"},
            POSTGRAPHILE_DIR,
        )  # fmt: skip
    return commands


def run_scale(
    args: argparse.Namespace, wrk_binary: str, postgraphile: Path | None, dsn: str, scale: int, work: Path
) -> ScaleResult:
    print(f"\n== scale {scale}x: growing the dataset", flush=True)
    counts = asyncio.run(datasets.grow(dsn, scale))
    result = ScaleResult(scale, asdict(counts), load_before=load_average(), code=code_fingerprint())
    print(
        f"   {counts.initiatives:,} initiatives, {counts.involvements:,} involvements, "
        f"{counts.municipalities} municipalities, {counts.organizations} organisations; load {result.load_before}",
        flush=True,
    )
    ports = {name: free_port() for name in SERVERS}
    servers: dict[str, Server] = {}
    try:
        for name, (command, env, cwd) in server_commands(args, dsn, postgraphile, ports).items():
            servers[name] = start(name, command, env, cwd, work, ports[name])
        for name, server in list(servers.items()):
            probe = request_body("list", name, {})
            try:
                wait_ready(server, probe)
            except RuntimeError as error:
                if name != "postgraphile":
                    raise
                note = f"PostGraphile did not start: {error}: {server.log.read_text()[-1500:]}"
                print("WARNING: " + note, flush=True)
                result.notes.append(note)
                server.stop()
                del servers[name]
        keys = asyncio.run(_dataset_keys(dsn))
        lists = variable_lists(keys, {name: server.url for name, server in servers.items()})
        bodies: dict[str, dict[str, Path]] = {}
        for shape in args.shapes:
            shape_result = result.shapes[shape] = ShapeResult(shape)
            bodies[shape] = {}
            for name, server in servers.items():
                # The ceiling answers our requests, byte for byte the bodies our API gets.
                payloads = [
                    request_body(shape, "postgraphile" if name == "postgraphile" else "ours", variables)
                    for variables in lists[shape][name]
                ]
                if shape in VARIED:
                    path = work / f"{scale}-{shape}-{name}.jsonl"
                    path.write_bytes(b"\n".join(payloads) + b"\n")
                else:
                    path = work / f"{scale}-{shape}-{name}.json"
                    path.write_bytes(payloads[0])
                bodies[shape][name] = path
                shape_result.variants = len(payloads)
                # Every varied request once on the first server of a kind (they must all answer), the
                # first one on every server for the comparison of sizes and values.
                checked = payloads if name in ("ours", "postgraphile") else payloads[:1]
                for number, payload in enumerate(checked):
                    status, raw = post(server.url, payload)
                    if number == 0:
                        size, values = check_answer(name, shape, status, raw)
                        shape_result.answer_bytes[name] = size
                        shape_result.answer_values[name] = values
                    elif status != 200 or json.loads(raw).get("errors"):
                        raise RuntimeError(f"{name} {shape}: {payload[:300]!r}: HTTP {status}: {raw[:500]!r}")
            sizes = shape_result.answer_bytes.values()
            if max(sizes) > 1.5 * min(sizes):
                shape_result.warnings.append(f"answer sizes differ widely: {shape_result.answer_bytes}")
            if len(set(shape_result.answer_values.values())) > 1:
                shape_result.warnings.append(
                    f"answers hold different numbers of values: {shape_result.answer_values}"
                )
            for warning in shape_result.warnings:
                print(f"WARNING: {shape}: {warning}", flush=True)
        requests = {shape: bodies[shape]["ours"].read_bytes().split(b"\n")[0] for shape in args.shapes}
        statements = asyncio.run(count_statements(dsn, requests, response_cache=False))
        hits = (
            asyncio.run(count_statements(dsn, requests, response_cache=True)) if has_response_cache() else {}
        )
        for shape in args.shapes:
            result.shapes[shape].statements = statements[shape]
            result.shapes[shape].statements_cache_hit = hits.get(shape)
        # One server at a time under load: four servers of two workers each, with their pools full (ours
        # has an SQLAlchemy pool for the resolvers and an asyncpg pool for compiled reads), would want more
        # than PostgreSQL's default 100 connections. The checks above open few; now each server is
        # restarted on its own, loaded with every shape and the mixed run, and stopped. The order of the
        # servers rotates with the scale, so that none is always first after a quiet spell.
        commands = server_commands(args, dsn, postgraphile, ports)
        for server in servers.values():
            server.stop()
        names = list(servers)
        turn = args.scales.index(scale) % len(names)
        for name in names[turn:] + names[:turn]:
            command, env, cwd = commands[name]
            server = servers[name] = start(name, command, env, cwd, work, ports[name])
            wait_ready(server, request_body("list", name, {}))
            for shape in args.shapes:
                run = measure(wrk_binary, args, server, bodies[shape][name], dsn)
                result.shapes[shape].runs[name] = run
                flag = f" errors {run.errors}" if run.errors else ""
                print(
                    f"   {shape:<12} {name:<13} {run.rps:>9.1f} req/s  p50 {run.p50_ms:>7.1f} ms  "
                    f"p99 {run.p99_ms:>7.1f} ms  RSS/worker {run.rss_worker_max_mb:>6.1f} MB  "
                    f"other CPU {run.other_cpu_percent:>4.0f}%  load {run.load_average}{flag}"
                    + (f"  cache hits {run.cache_hit_rate:.0%}" if run.cache_hit_rate is not None else ""),
                    flush=True,
                )
            if args.mixed and len(args.shapes) > 1:
                mixed = measure_mixed(
                    wrk_binary, args, server, {shape: bodies[shape][name] for shape in args.shapes}, dsn
                )
                result.mixed[name] = mixed
                total = sum(run.rps for run in mixed.runs.values())
                print(
                    f"   mixed        {name:<13} {total:>9.1f} req/s in all (one wrk per shape at once); "
                    + ", ".join(
                        f"{shape} {run.rps:.0f} (p99 {run.p99_ms:.1f})" for shape, run in mixed.runs.items()
                    )
                    + (
                        f"; cache hits {mixed.cache_hit_rate:.0%}" if mixed.cache_hit_rate is not None else ""
                    ),
                    flush=True,
                )
            server.stop()
    finally:
        for server in servers.values():
            server.stop()
    result.load_after = load_average()
    return result


# --------------------------------------------------------------------------------------------- report


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "–" if value is None else f"{value:{spec}}{suffix}"


def table(result: ScaleResult) -> str:
    header = [
        "shape", "requests", "ours req/s", "PostGraphile req/s", "ceiling req/s", "ours/PostGraphile", "ours/ceiling",
        "ours/municipality page", "ours p50 ms", "ours p99 ms", "p99/p50", "SQL statements", "RSS per worker MB",
        "other CPU: ours/PG/ceiling", "ours cached req/s", "cached p99 ms", "cache hits", "SQL on cache hit",
    ]  # fmt: skip
    plain = result.shapes.get(PLAIN)
    plain_rps = plain.runs["ours"].rps if plain and "ours" in plain.runs else None
    rows = [header, ["---"] + ["---:"] * (len(header) - 1)]
    empty = False
    for shape, shape_result in result.shapes.items():
        runs = shape_result.runs
        ours = runs.get("ours")
        if ours is not None and ours.requests == 0:
            ours = None  # no request finished within the run: no latency to show
            empty = True
        rps = {name: run.rps for name, run in runs.items()}
        cached = runs.get("ours-cached")
        rows.append(
            [
                shape,
                "1" if shape_result.variants == 1 else f"{shape_result.variants} varied",
                _fmt(rps.get("ours"), ",.0f"),
                _fmt(rps.get("postgraphile"), ",.0f"),
                _fmt(rps.get("ceiling"), ",.0f"),
                _fmt(_ratio(rps.get("ours"), rps.get("postgraphile")), ".2f"),
                _fmt(_ratio(rps.get("ours"), rps.get("ceiling")), ".2f"),
                _fmt(_ratio(rps.get("ours"), plain_rps), ".2f"),
                _fmt(ours.p50_ms if ours else None, ".1f"),
                _fmt(ours.p99_ms if ours else None, ".1f"),
                _fmt(_ratio(ours.p99_ms, ours.p50_ms) if ours else None, ".1f"),
                _fmt(shape_result.statements, "d"),
                _fmt(ours.rss_worker_max_mb if ours else None, ".0f"),
                "/".join(
                    _fmt(runs[name].other_cpu_percent if name in runs else None, ".0f")
                    for name in ("ours", "postgraphile", "ceiling")
                )
                + "%",
                _fmt(rps.get("ours-cached"), ",.0f"),
                _fmt(cached.p99_ms if cached else None, ".1f"),
                _fmt(
                    cached.cache_hit_rate * 100 if cached and cached.cache_hit_rate is not None else None,
                    ".0f",
                    "%",
                ),
                _fmt(shape_result.statements_cache_hit, "d"),
            ]
        )
        for name, run in ((n, r) for n, r in runs.items() if r.errors):
            rows[-1][0] += f" ({name} errors: {run.errors})"
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    if empty:
        lines.append("\n0 req/s: not one request finished within the run (each took longer than the run).")
    return "\n".join(lines)


def mixed_table(result: ScaleResult) -> str | None:
    """The mixed run: per shape, each server's req/s and p99 while all shapes ran at once, and ours' ratios
    (with the response cache on, the default: ours cached)."""
    if not result.mixed:
        return None
    header = [
        "shape", "ours cached req/s", "ours req/s", "PostGraphile req/s", "ceiling req/s",
        "cached/PostGraphile", "cached/ceiling", "cached/municipality page",
        "ours cached p99 ms", "ours p99 ms", "PostGraphile p99 ms", "ceiling p99 ms",
    ]  # fmt: skip
    rows = [header, ["---"] + ["---:"] * (len(header) - 1)]
    shapes = next(iter(result.mixed.values())).runs

    def run_of(name: str, shape: str) -> Run | None:
        return result.mixed[name].runs.get(shape) if name in result.mixed else None

    plain = run_of("ours-cached", PLAIN)
    for shape in shapes:
        runs = {name: run_of(name, shape) for name in ("ours-cached", "ours", "postgraphile", "ceiling")}
        rps = {name: run.rps if run else None for name, run in runs.items()}
        rows.append(
            [shape]
            + [_fmt(rps[name], ",.0f") for name in runs]
            + [
                _fmt(_ratio(rps["ours-cached"], rps["postgraphile"]), ".2f"),
                _fmt(_ratio(rps["ours-cached"], rps["ceiling"]), ".2f"),
                _fmt(_ratio(rps["ours-cached"], plain.rps if plain else None), ".2f"),
            ]
            + [_fmt(run.p99_ms if run else None, ".1f") for run in runs.values()]
        )
        for name, run in runs.items():
            if run is not None and run.errors:
                rows[-1][0] += f" ({name} errors: {run.errors})"
    totals = ["all"] + [
        _fmt(
            sum(run.rps for run in result.mixed[name].runs.values()) if name in result.mixed else None, ",.0f"
        )
        for name in ("ours-cached", "ours", "postgraphile", "ceiling")
    ]
    rows.append(totals + [""] * (len(header) - len(totals)))
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    for name, mixed in result.mixed.items():
        if mixed.cache_hit_rate is not None:
            lines.append(
                f"\n{name}: response cache hit rate {mixed.cache_hit_rate:.1%} of {mixed.cache_lookups:,} lookups"
            )
    lines.append(
        "other CPU: "
        + ", ".join(
            f"{name} {_fmt(mixed.other_cpu_percent, '.0f', '%')}" for name, mixed in result.mixed.items()
        )
    )
    return "\n".join(lines)


def slowdown(results: list[ScaleResult]) -> str | None:
    by_scale = {result.scale: result for result in results}
    if 10 not in by_scale or 100 not in by_scale:
        return None
    rows = [
        ["shape", "server", "req/s 10x", "req/s 100x", "slowdown", "p50 ms 10x", "p50 ms 100x"],
        ["---", "---", "---:", "---:", "---:", "---:", "---:"],
    ]
    for shape in by_scale[10].shapes:
        for name in SERVERS:
            small = by_scale[10].shapes[shape].runs.get(name)
            large = by_scale[100].shapes.get(shape, ShapeResult(shape)).runs.get(name)
            if small is None or large is None:
                continue
            label = shape + (" (first: 50)" if shape in PAGED else "")
            rows.append(
                [label, name, f"{small.rps:,.0f}", f"{large.rps:,.0f}", _fmt(_ratio(small.rps, large.rps), ".2f", "x"),
                 f"{small.p50_ms:.1f}", f"{large.p50_ms:.1f}"]
            )  # fmt: skip
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def goals(results: list[ScaleResult]) -> list[str]:
    """The issue's goals, each with the cases that miss it."""
    misses: dict[str, list[str]] = {
        f"ours >= PostGraphile ({GOAL_VS_POSTGRAPHILE:g}x) on every shape": [],
        f"ours >= {GOAL_VS_CEILING:g} x ceiling": [],
        f"p99 <= {GOAL_P99_OVER_P50:g} x p50": [],
        f"RSS per worker < {GOAL_RSS_MB:g} MB": [],
        f"paged shapes slow down < {GOAL_SLOWDOWN:g}x from 10x to 100x": [],
        f"no shape slower than {GOAL_VS_PLAIN:g} x the plain municipality page (ours)": [],
        f"no shape slower than {GOAL_VS_PLAIN:g} x the plain municipality page (mixed, cache on)": [],
    }
    names = list(misses)
    for result in results:
        for shape, shape_result in result.shapes.items():
            runs = shape_result.runs
            ours = runs.get("ours")
            if ours is None:
                continue
            where = f"{shape}@{result.scale}x"
            vs_pg = _ratio(ours.rps, runs["postgraphile"].rps) if "postgraphile" in runs else None
            if vs_pg is not None and vs_pg < GOAL_VS_POSTGRAPHILE:
                misses[names[0]].append(f"{where} {vs_pg:.2f}")
            vs_ceiling = _ratio(ours.rps, runs["ceiling"].rps) if "ceiling" in runs else None
            if vs_ceiling is not None and vs_ceiling < GOAL_VS_CEILING:
                misses[names[1]].append(f"{where} {vs_ceiling:.2f}")
            if ours.requests == 0:
                misses[names[2]].append(f"{where} no request finished")
            elif ours.p99_ms > GOAL_P99_OVER_P50 * ours.p50_ms:
                misses[names[2]].append(f"{where} {ours.p99_ms / ours.p50_ms:.1f}")
            if ours.rss_worker_max_mb >= GOAL_RSS_MB:
                misses[names[3]].append(f"{where} {ours.rss_worker_max_mb:.0f}")
            plain = result.shapes.get(PLAIN)
            vs_plain = _ratio(ours.rps, plain.runs["ours"].rps) if plain and "ours" in plain.runs else None
            if vs_plain is not None and vs_plain < GOAL_VS_PLAIN:
                misses[names[5]].append(f"{where} {vs_plain:.2f}")
        mixed = result.mixed.get("ours-cached")
        if mixed and PLAIN in mixed.runs and mixed.runs[PLAIN].rps:
            for shape, run in mixed.runs.items():
                if run.rps / mixed.runs[PLAIN].rps < GOAL_VS_PLAIN:
                    misses[names[6]].append(f"{shape}@{result.scale}x {run.rps / mixed.runs[PLAIN].rps:.2f}")
    by_scale = {result.scale: result for result in results}
    if 10 in by_scale and 100 in by_scale:
        for shape in PAGED & set(by_scale[10].shapes) & set(by_scale[100].shapes):
            small = by_scale[10].shapes[shape].runs.get("ours")
            large = by_scale[100].shapes[shape].runs.get("ours")
            if small and large and (not large.rps or small.rps / large.rps >= GOAL_SLOWDOWN):
                misses[names[4]].append(f"{shape} {_fmt(_ratio(small.rps, large.rps), '.2f', 'x')}")
    else:
        misses[names[4]].append("not measured (needs scales 10 and 100)")
    return [f"{'MISSED' if missed else 'met   '}  {goal}" + (f": {', '.join(missed)}" if missed else "")
            for goal, missed in misses.items()]  # fmt: skip


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


# --------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scales", default="1,10,100", help="comma-separated dataset scales (default 1,10,100)"
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds of measured load per shape and server"
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load before each run")
    parser.add_argument("--connections", type=int, default=10, help="concurrent clients (wrk -c)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (wrk -t)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each server")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of {','.join(SHAPES)}")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default=f"veerkracht_bench_{os.getpid()}", help="created, then dropped")
    parser.add_argument("--keep", action="store_true", help="keep the database (and print its URL)")
    parser.add_argument("--no-postgraphile", action="store_true", help="compare with the ceiling only")
    parser.add_argument(
        "--no-mixed", dest="mixed", action="store_false", help="skip the mixed run of all shapes at once"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args(argv)
    args.scales = sorted(int(scale) for scale in args.scales.split(","))
    args.shapes = [shape for shape in args.shapes.split(",") if shape]
    unknown = set(args.shapes) - set(SHAPES)
    if unknown:
        parser.error(f"unknown shapes: {', '.join(sorted(unknown))}")
    return args


NEEDED_CONNECTIONS = 50


async def free_connections(admin_dsn: str) -> int:
    """max_connections less the sessions open now (and the superuser reserve)."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        row = await connection.fetchrow(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS free"
        )
        return int(row["free"])
    finally:
        await connection.close()


def _dsn(admin_dsn: str, database: str) -> str:
    return admin_dsn.rsplit("/", 1)[0] + "/" + database


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    info = machine()
    print(
        f"machine: {info['nproc']} x {info['cpu']}, {info['ram_gb']} GB RAM; load before: {load_average()}",
        flush=True,
    )
    wrk_binary = ensure_wrk()
    postgraphile = None if args.no_postgraphile else ensure_postgraphile()
    dsn = _dsn(args.admin_dsn, args.database)
    free = asyncio.run(free_connections(args.admin_dsn))
    if free < NEEDED_CONNECTIONS:
        print(
            f"WARNING: PostgreSQL has {free} free connections; the run wants about {NEEDED_CONNECTIONS} "
            "(one server's full pools, the checks against all four): expect 'too many clients' errors",
            flush=True,
        )
    asyncio.run(datasets.create_database(args.admin_dsn, args.database))
    results: list[ScaleResult] = []
    load_before = load_average()
    try:
        asyncio.run(datasets.migrate_and_seed(dsn))
        asyncio.run(postgraphile_extras(dsn))
        with tempfile.TemporaryDirectory(prefix="veerkracht-bench-") as directory:
            for scale in args.scales:
                try:
                    results.append(run_scale(args, wrk_binary, postgraphile, dsn, scale, Path(directory)))
                except Exception:
                    for log in sorted(Path(directory).glob("*.log")):
                        print(f"--- {log.name} (last lines)\n{log.read_text()[-3000:]}", file=sys.stderr)
                    raise
    finally:
        if args.keep:
            print(f"\nkept the database: {dsn}")
        else:
            asyncio.run(datasets.drop_database(args.admin_dsn, args.database))
    load_after = load_average()
    code_after = code_fingerprint()
    git = git_state()

    print(
        f"\n# Results ({started:%Y-%m-%d %H:%M} UTC; {info['nproc']} x {info['cpu']}, {info['ram_gb']} GB RAM; "
        f"{args.workers} workers per server; wrk {args.threads} threads, {args.connections} connections, "
        f"{args.duration:g} s per run after {args.warmup:g} s warm-up)"
    )
    print(f"load average (1, 5, 15 min): {load_before} before, {load_after} after")
    print(
        f"code: commit {git['commit'][:12]}, {git['uncommitted_files_in_measured_code']} uncommitted files in "
        f"{', '.join(CODE)}; fingerprint {code_after}"
    )
    fingerprints = {result.code for result in results} | {code_after}
    if len(fingerprints) > 1:
        print(
            "WARNING: the measured code changed during the run (fingerprints "
            + ", ".join(f"{r.scale}x {r.code}" for r in results)
            + f", end {code_after}): scales may not be comparable"
        )
    print(
        "ours: response cache off, every request runs its query; ours cached: the default configuration, "
        "where every repeated request after the first in each worker is a cache hit"
    )
    for result in results:
        counts = result.counts
        print(
            f"\n## {result.scale}x: {counts['initiatives']:,} initiatives, {counts['involvements']:,} involvements, "
            f"{counts['municipalities']} municipalities, {counts['organizations']} organisations, "
            f"{counts.get('citations', 0):,} citations "
            f"(load {result.load_before} before, {result.load_after} after)\n"
        )
        print(table(result))
        mixed = mixed_table(result)
        if mixed:
            print(f"\n### {result.scale}x mixed: all shapes at once\n")
            print(mixed)
        for note in result.notes:
            print(f"\nnote: {note}")
        for shape, shape_result in result.shapes.items():
            for warning in shape_result.warnings:
                print(f"\nwarning: {shape}: {warning}")
    slow = slowdown(results)
    if slow:
        print("\n## 10x -> 100x\n")
        print(slow)
    print("\n## Goals of issues #3 and #15\n")
    for line in goals(results):
        print(line)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "started": started.isoformat(timespec="seconds"),
                "machine": info,
                "settings": {
                    "scales": args.scales,
                    "shapes": args.shapes,
                    "duration": args.duration,
                    "warmup": args.warmup,
                    "connections": args.connections,
                    "threads": args.threads,
                    "workers": args.workers,
                },
                "load_average_before": load_before,
                "load_average_after": load_after,
                "git": git,
                "code_fingerprint_end": code_after,
                "results": [asdict(result) for result in results],
                "goals": goals(results),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten: {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")


if __name__ == "__main__":
    main()
