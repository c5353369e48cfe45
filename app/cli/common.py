"""What every ``veerkracht`` command shares: the ``--database-url`` option, settings, an engine for one run.

Both command modules (:mod:`app.cli.commands`, :mod:`app.cli.transfer`) import this one; neither imports
the other's helpers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine
from app.settings import Settings

T = TypeVar("T")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL; default: $VEERKRACHT_DATABASE_URL or ./veerkracht.db."
    ),
]


def settings_for(database_url: str | None) -> Settings:
    """The settings from the environment, with ``--database-url`` when given; a usage error if invalid."""
    try:
        return Settings(database_url=database_url) if database_url else Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems) from None


def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` with an engine on the settings' database, disposed of afterwards."""

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())
