"""The ``veerkracht export`` and ``veerkracht import`` commands (the format: ``docs/export-format.md``).

Registered on the ``veerkracht`` command in :mod:`app.cli.commands`; the helpers both share live in
:mod:`app.cli.common`.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli.common import DatabaseUrl, settings_for, with_engine
from app.data.loader import DatasetError
from app.services import transfer


class ExportFormat(enum.StrEnum):
    JSON = "json"
    CSV = "csv"


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _reason(exc: BaseException) -> str:
    """The driver's own words (``database "x" does not exist``), without SQLAlchemy's wrapping."""
    return str(getattr(exc, "orig", None) or exc).strip()


def _progress() -> transfer.Progress | None:
    """A line on standard error that counts up, when that is a terminal (never in a log or a pipe)."""
    if not sys.stderr.isatty():
        return None

    def show(what: str, done: int, total: int) -> None:
        sys.stderr.write(f"\r\x1b[K  {what}: {done:,} of {total:,}")
        sys.stderr.flush()

    return show


def export_command(
    format_: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="json: one file (to standard output without --output); csv: a directory of CSV files.",
        ),
    ] = ExportFormat.JSON,
    dialect: Annotated[
        transfer.CsvDialect,
        typer.Option(
            "--dialect",
            help="For csv: plain (comma, UTF-8) or excel-nl (semicolon, UTF-8 with BOM, for Excel in Dutch).",
        ),
    ] = transfer.CsvDialect.PLAIN,
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
    if format_ is not ExportFormat.CSV and dialect is not transfer.CsvDialect.PLAIN:
        raise typer.BadParameter("a dialect is for --format csv", param_hint="--dialect")
    settings = settings_for(database_url)
    typer.echo(f"exporting from {transfer.database_label(settings.database_url)}", err=True)

    async def run(engine: AsyncEngine) -> dict[str, Any]:
        await transfer.require_migrated(engine, upgrade_older=False)
        return await transfer.export_database(engine)

    try:
        transfer.require_existing(settings.database_url)
        data = with_engine(settings, run)
    except transfer.DatabaseNotReady as exc:
        _fail(str(exc))
    except (DBAPIError, OSError) as exc:
        _fail(f"cannot read {transfer.database_label(settings.database_url)}: {_reason(exc)}")
    counts = {name: len(data[name]) for name in transfer.COLLECTIONS}
    if output is None:
        typer.echo(transfer.json_text(data), nl=False)
        return
    try:
        if format_ is ExportFormat.CSV:
            transfer.write_csv_directory(data, output, dialect)
        else:
            transfer.write_json(data, output)
    except OSError as exc:
        _fail(f"cannot write {exc.filename or output}: {exc.strerror}")
    typer.echo(f"exported {_summary(counts)} to {output}")


def import_command(
    path: Annotated[
        Path,
        typer.Argument(help="A JSON file, or a directory of CSV files, as `export` writes them."),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate and report what the import would change; write nothing."),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Validate PATH as a whole, then write it in one transaction.

    A file with any problem writes nothing: every problem is printed, with its place.
    Rows are matched by natural keys (code, slug, ...) and updated or added; none is deleted.
    The database must exist and have its tables (`veerkracht db upgrade`); an older one is migrated first.
    """
    settings = settings_for(database_url)
    label = transfer.database_label(settings.database_url)
    typer.echo(f"{'checking an import into' if dry_run else 'importing into'} {label}", err=True)
    try:
        transfer.require_existing(settings.database_url)
    except transfer.DatabaseNotReady as exc:
        _fail(str(exc))
    try:
        dataset = transfer.read_file(path)
    except DatasetError as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(1) from None
    progress = _progress()

    async def run(engine: AsyncEngine) -> dict[str, dict[str, int]]:
        await transfer.require_migrated(engine, upgrade_older=not dry_run)
        return await transfer.import_dataset(engine, dataset, dry_run=dry_run, progress=progress)

    try:
        changed = with_engine(settings, run)
    except transfer.DatabaseNotReady as exc:
        _fail(str(exc))
    except DBAPIError as exc:
        _fail(f"{path}: {label} refused the import; nothing was written: {_reason(exc)}")
    except OSError as exc:
        _fail(f"{path}: cannot reach {label}; nothing was written: {_reason(exc)}")
    finally:
        if progress is not None:
            sys.stderr.write("\n")
    if dry_run:
        typer.echo(f"{path} is valid: {_summary(dataset.counts)}; nothing was written")
        typer.echo(f"the import would change: {transfer.describe_changes(changed)}")
        return
    typer.echo(f"imported {path}: {_summary(dataset.counts)}")
    typer.echo(f"changed: {transfer.describe_changes(changed)}")
