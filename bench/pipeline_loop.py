"""A quick in-process check of the request pipeline's own cost: two versions of the code, side by side.

    python bench/pipeline_loop.py --before /tmp/main-code --after . [--requests 2000] [--rounds 2]

Each version runs in its own process (``PYTHONPATH`` = its directory), alternately, ``--rounds`` times, on
one PostgreSQL database made for the run (migrated, seeded with the bundled dataset, dropped afterwards).
A process starts the app (``app.main.create_app``, as both versions have it) with its lifespan and sends
``--requests`` requests per shape straight to the ASGI app (no HTTP client or socket in between, so the
per-request Python work shows), one after another, with varied variables:

- ``municipality``: ``municipality(code:)`` with 20 involvements, every code in turn (a prepared read);
- ``node``: ``node(id:)`` of every bundled initiative in turn (a prepared read);
- ``page``: the bench's page shape, the same request every time (a prepared read; with the response cache
  on, a cache hit after the first);
- ``sources``: ``municipality(code:)`` with its citations, every code in turn (``sources`` does not
  compile: Strawberry's pipeline and the resolvers; with the response cache on, a cache hit).

It prints, per version, shape and cache setting: microseconds per request, wall time and this process's
CPU time (the app's Python work; the database runs in its own processes), the best of the rounds (on a
shared machine the other processes only ever add time); and function calls per request (Python and C,
counted with ``sys.setprofile`` over 100 more requests), which the machine's load does not change. This is a quick check for changes to app/web/, not the
benchmark (bench/run.py, bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("VEERKRACHT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

MUNICIPALITY = """query Town($code: String!) { municipality(code: $code) { code name
  involvements(first: 20) { nodes { role initiative { slug name } } } } }"""
NODE = """query Node($id: ID!) { node(id: $id) { id ... on Initiative { slug name kind status summary } } }"""
SOURCES = """query Sources($code: String!) { municipality(code: $code) { code name
  sources { quote document { title } } } }"""
PAGE = """query Page { initiatives(first: 50) { pageInfo { hasNextPage endCursor }
  edges { cursor node { id slug name kind status } } } }"""


async def _call(app: Any, body: bytes) -> tuple[int, bytes]:
    """One POST /graphql straight into the ASGI app."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _calls_per_request(app: Any, bodies: list[bytes], requests: int = 100) -> float:
    """Python and C function calls per request (``sys.setprofile``): the app's work, counted rather than
    timed, so that other processes on the machine do not change it."""
    calls = 0

    def count(_frame: Any, event: str, _arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        for i in range(requests):
            await _call(app, bodies[i % len(bodies)])
    finally:
        sys.setprofile(None)
    return calls / requests


async def _worker(database_url: str, response_cache: bool, requests: int) -> dict[str, float]:
    from asgi_lifespan import LifespanManager

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        database_url=database_url,
        environment="production",
        rate_limit_per_minute=10**9,
        anonymous_rate_limit_per_minute=10**9,
        log_level="WARNING",
        response_cache=response_cache,
    )
    app = create_app(settings)
    results: dict[str, float] = {}
    async with LifespanManager(app):
        _, raw = await _call(
            app, json.dumps({"query": "{ municipalities(first: 100) { nodes { code } } }"}).encode()
        )
        codes = [m["code"] for m in json.loads(raw)["data"]["municipalities"]["nodes"]]
        _, raw = await _call(
            app, json.dumps({"query": "{ initiatives(first: 100) { nodes { slug } } }"}).encode()
        )
        ids = [
            base64.b64encode(f"Initiative:{i['slug']}".encode()).decode()
            for i in json.loads(raw)["data"]["initiatives"]["nodes"]
        ]
        shapes = {
            "municipality": [
                json.dumps({"query": MUNICIPALITY, "variables": {"code": c}}).encode() for c in codes
            ],
            "node": [json.dumps({"query": NODE, "variables": {"id": i}}).encode() for i in ids],
            "page": [json.dumps({"query": PAGE}).encode()],
            "sources": [json.dumps({"query": SOURCES, "variables": {"code": c}}).encode() for c in codes],
        }
        for name, bodies in shapes.items():
            for body in bodies:  # the first request of a document prepares it
                status, answer = await _call(app, body)
                if status != 200 or b'"errors"' in answer:
                    raise SystemExit(f"{name}: {status} {answer[:300]!r}")
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(requests):
                status, answer = await _call(app, bodies[i % len(bodies)])
                if status != 200:
                    raise SystemExit(f"{name}: {status} {answer[:300]!r}")
            results[f"{name} cpu"] = (time.process_time() - cpu) / requests * 1e6
            results[name] = (time.perf_counter() - started) / requests * 1e6
            results[f"{name} calls"] = await _calls_per_request(app, bodies)
    return results


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def _prepare_database() -> tuple[str, str]:
    import asyncpg

    name = f"veerkracht_pipeline_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES

    async def create() -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    dsn = admin.rsplit("/", 1)[0] + f"/{name}"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "datasets.py"), dsn, "1"],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return name, dsn


def _drop_database(name: str) -> None:
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


def _run_version(code: Path, dsn: str, response_cache: bool, requests: int) -> dict[str, float]:
    output = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "pipeline_loop.py"),
            "--worker",
            "--database-url",
            _sqlalchemy_url(dsn),
            "--requests",
            str(requests),
            *(["--response-cache"] if response_cache else []),
        ],
        check=True,
        cwd=code,
        env={**os.environ, "PYTHONPATH": str(code)},
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, help="the code to compare against (a checkout's root)")
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--response-cache", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import app

        assert Path(app.__file__).resolve().parent.parent == Path.cwd().resolve(), app.__file__
        print(json.dumps(asyncio.run(_worker(args.database_url, args.response_cache, args.requests))))
        return
    if args.before is None:
        parser.error("--before is required")
    name, dsn = _prepare_database()
    try:
        samples: dict[tuple[str, bool], list[dict[str, float]]] = {}
        for _ in range(args.rounds):
            for response_cache in (False, True):
                for label, code in (("before", args.before), ("after", args.after)):
                    result = _run_version(code.resolve(), dsn, response_cache, args.requests)
                    samples.setdefault((label, response_cache), []).append(result)
                    print(label, "cache on" if response_cache else "cache off", result, file=sys.stderr)
    finally:
        _drop_database(name)
    print(f"per request: µs (best of {args.rounds} rounds of {args.requests} requests per shape), calls")
    print("| shape | response cache | measure | before | after | change |\n|---|---|---|---:|---:|---:|")
    for response_cache in (False, True):
        for shape in ("municipality", "node", "page", "sources"):
            for measure in ("wall", "cpu", "calls"):
                key = shape if measure == "wall" else f"{shape} {measure}"
                before = min(s[key] for s in samples[("before", response_cache)])
                after = min(s[key] for s in samples[("after", response_cache)])
                unit = "calls" if measure == "calls" else f"µs {measure}"
                print(
                    f"| {shape} | {'on' if response_cache else 'off'} | {unit} | {before:.0f} | {after:.0f} "
                    f"| {(after / before - 1) * 100:+.1f}% |"
                )


if __name__ == "__main__":
    main()
