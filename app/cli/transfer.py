"""The ``veerkracht export`` and ``veerkracht import`` commands (the format: ``docs/export-format.md``).

Registered on the ``veerkracht`` command in :mod:`app.cli.commands`; the helpers both share live in
:mod:`app.cli.common`.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app import migrate
from app.cli.common import DatabaseUrl, settings_for, with_engine
from app.data.loader import DatasetError
from app.services import transfer


class ExportFormat(enum.StrEnum):
    JSON = "json"
    CSV = "csv"


class _NotReady(Exception):
    pass


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def export_command(
    format_: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="json: one file (to standard output without --output); csv: a directory of CSV files.",
        ),
    ] = ExportFormat.JSON,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="The JSON file to write, or the directory for the CSV files (required for csv).",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write all data, with citations, in the export format that `import` reads back."""
    if format_ is ExportFormat.CSV and output is None:
        raise typer.BadParameter(
            "csv writes a directory of files: name it with --output", param_hint="--output"
        )
    settings = settings_for(database_url)

    async def run(engine: AsyncEngine) -> dict[str, Any]:
        async with engine.connect() as connection:
            revision = await migrate.current_revision(connection)
        if revision is None:
            raise _NotReady("the database is empty (no tables): there is nothing to export")
        if revision != migrate.head_revision():
            raise _NotReady(f"the database is at revision {revision}: run `veerkracht db upgrade` first")
        return await transfer.export_database(engine)

    try:
        data = with_engine(settings, run)
    except _NotReady as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    counts = {name: len(data[name]) for name in transfer.COLLECTIONS}
    if output is None:
        typer.echo(transfer.json_text(data), nl=False)
        return
    try:
        if format_ is ExportFormat.CSV:
            transfer.write_csv_directory(data, output)
        else:
            transfer.write_json(data, output)
    except OSError as exc:
        typer.echo(f"error: cannot write {exc.filename or output}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"exported {_summary(counts)} to {output}")


def import_command(
    path: Annotated[
        Path,
        typer.Argument(help="A JSON file, or a directory of CSV files, as `export` writes them."),
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Validate PATH as a whole, then write it in one transaction (migrating the database first).

    A file with any problem writes nothing: every problem is printed, with its place.
    Rows are matched by natural keys (code, slug, ...) and updated or added; none is deleted.
    """
    settings = settings_for(database_url)
    try:
        dataset = transfer.read_file(path)
    except DatasetError as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(1) from None

    async def run(engine: AsyncEngine) -> None:
        async with migrate.bootstrap_lock(engine):
            await migrate.upgrade(engine)
        await transfer.import_dataset(engine, dataset)

    try:
        with_engine(settings, run)
    except DBAPIError as exc:
        typer.echo(f"{path}: the database refused the import; nothing was written: {exc.orig}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"imported {path}: {_summary(dataset.counts)}")
