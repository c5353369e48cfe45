"""The hand-written-SQL ceiling: what serving the benchmark's query shapes can cost at least, in Python.

    python bench/ceiling.py --dsn postgresql://postgres@127.0.0.1:5432/vk_bench --port 8002 --workers 2

A minimal Starlette app on uvicorn (as the API runs) that takes the same POST body as the API, recognises
the shape by its query text (bench/queries/<shape>.graphql), and answers it with ONE statement
(bench/queries/<shape>.sql) that builds the whole JSON response in PostgreSQL (json_build_object /
json_agg); the bytes PostgreSQL returns are the response. No GraphQL parsing, validation or resolvers, no
ORM: the gap between this and the API is what the API's machinery costs.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

QUERIES = Path(__file__).parent / "queries"
DSN_ENV = "VEERKRACHT_BENCH_CEILING_DSN"
POOL_SIZE = 10  # as PostGraphile's default pool, and the API's pool_size

Arguments = Callable[[dict[str, Any]], list[Any]]


def _no_arguments(_variables: dict[str, Any]) -> list[Any]:
    return []


def _search_arguments(variables: dict[str, Any]) -> list[Any]:
    from app.services.text import fold  # the API folds the search word the same way

    return [fold(str(variables["search"]))]


def _node_arguments(variables: dict[str, Any]) -> list[Any]:
    global_id = str(variables["id"])
    type_name, _, key = base64.b64decode(global_id).decode().partition(":")
    return [global_id, key if type_name == "Initiative" else None]


def _code_arguments(variables: dict[str, Any]) -> list[Any]:
    return [str(variables["code"])]


def _slug_arguments(variables: dict[str, Any]) -> list[Any]:
    return [str(variables["slug"])]


ARGUMENTS: dict[str, Arguments] = {
    "page": _no_arguments,
    "list": _no_arguments,
    "nested": _no_arguments,
    "search": _search_arguments,
    "node": _node_arguments,
    "municipality": _code_arguments,
    "predecessors": _code_arguments,
    "initiative": _slug_arguments,
    "provenance": _slug_arguments,
}
"""Shapes by their query document (bench/queries/<shape>.graphql); the varied search-words and node-ids
send the documents of search and node."""


def load_shapes() -> dict[str, tuple[str, str, Arguments]]:
    """Query text -> (shape, SQL, arguments from the variables)."""
    return {
        (QUERIES / f"{shape}.graphql").read_text(): (shape, (QUERIES / f"{shape}.sql").read_text(), arguments)
        for shape, arguments in ARGUMENTS.items()
    }


def create_app() -> Starlette:
    shapes = load_shapes()
    dsn = os.environ[DSN_ENV]
    pool: asyncpg.Pool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=POOL_SIZE)
        try:
            yield
        finally:
            await pool.close()

    async def graphql(request: Request) -> Response:
        body = json.loads(await request.body())
        found = shapes.get(body.get("query", ""))
        if found is None:
            return Response(b'{"errors":[{"message":"unknown shape"}]}', 400, media_type="application/json")
        _shape, sql, arguments = found
        assert pool is not None
        async with pool.acquire() as connection:
            answer: str = await connection.fetchval(sql, *arguments(body.get("variables") or {}))
        return Response(answer.encode(), media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True, help="postgresql://... (asyncpg)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ[DSN_ENV] = args.dsn  # the worker processes read it
    uvicorn.run(
        "ceiling:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        app_dir=str(Path(__file__).parent),
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
