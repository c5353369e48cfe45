"""The ``veerkracht`` command: serve, db, seed, token, export-schema, check-schema, export, import."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import migrate
from app.bootstrap import BOOTSTRAP_PENDING_ENV, bootstrap, database_unreachable, describe, seed
from app.cli.common import DatabaseUrl, settings_for, with_engine
from app.cli.transfer import export_command, import_command
from app.data.loader import DatasetError
from app.db import as_utc, create_sessionmaker, is_sqlite
from app.models.enums import TokenScope
from app.observability import configure_logging
from app.server import HeaderLimitedProtocol
from app.services.tokens import TokenError, create_token, list_tokens, revoke_token
from app.settings import Settings

T = TypeVar("T")

cli = typer.Typer(
    help="Veerkracht API: who is involved in what in Versterken Sociale Veerkracht.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold a database password
)
db_cli = typer.Typer(help="Database migrations.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
token_cli = typer.Typer(help="API tokens (needed for every mutation).", no_args_is_help=True)
cli.add_typer(token_cli, name="token")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    database_url: DatabaseUrl = None,
    bootstrap_database: Annotated[
        bool,
        typer.Option(
            "--bootstrap/--no-bootstrap",
            help="Migrate the database and load the bundled dataset when it is empty, before serving.",
        ),
    ] = True,
) -> None:
    """Serve the API (GraphiQL at http://HOST:PORT/graphql)."""
    settings = settings_for(database_url)
    configure_logging(settings.log_format, settings.log_level)
    # Only an unreachable database at start leaves the bootstrap to the app processes; a stale value from
    # an earlier `serve` in this process's environment must not.
    os.environ.pop(BOOTSTRAP_PENDING_ENV, None)
    if bootstrap_database:
        try:
            with_engine(settings, bootstrap)
        except Exception as exc:
            # SQLite is a file beside the service: an error there is a setup mistake, not an outage.
            if is_sqlite(settings.database_url) or not database_unreachable(exc):
                raise
            # Serving anyway beats a crash loop: /healthz answers, /readyz says the database is
            # unreachable, and every app process retries the bootstrap until the database answers.
            logging.getLogger("veerkracht.bootstrap").warning(
                "database unreachable at start (%s); serving anyway, bootstrap retried in the background",
                describe(exc),
            )
            os.environ[BOOTSTRAP_PENDING_ENV] = "1"
    # Worker processes build their own settings (and logging) from the environment.
    os.environ["VEERKRACHT_DATABASE_URL"] = settings.database_url
    metrics_dir = None
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # prometheus_client's multiprocess mode: each worker writes its samples here, and /metrics (whichever
        # worker answers) sums them. A fresh directory per start: old workers' files would count otherwise.
        metrics_dir = tempfile.mkdtemp(prefix="veerkracht-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # Through the log format (JSON in production) like every other line the service writes.
    logging.getLogger("veerkracht.serve").info(
        "GraphiQL: http://%s:%s/graphql", host, port, extra={"url": f"http://{host}:{port}/graphql"}
    )
    try:
        uvicorn.run(
            "app.web.app:create_app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # Our middleware writes a richer line per request (request id, operation, cost, SQL count).
            access_log=False,
            log_config=None,  # keep the logging configured above (JSON by default)
            # On SIGTERM: stop accepting, let in-flight requests finish for this long, then exit.
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            # A subscription's messages are small; the same limit as for a request body.
            ws_max_size=settings.max_body_bytes,
            # Headers within a time and a size (app/server.py); idle keep-alive connections closed.
            http=HeaderLimitedProtocol,
            timeout_keep_alive=settings.keep_alive_seconds,
            h11_max_incomplete_event_size=settings.max_header_bytes,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@db_cli.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    with_engine(settings_for(database_url), lambda engine: migrate.upgrade(engine, revision))
    typer.echo(f"upgraded to {revision}")


@db_cli.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help='Target revision; "base" removes every table.')],
    database_url: DatabaseUrl = None,
) -> None:
    """Revert migrations down to REVISION."""
    with_engine(settings_for(database_url), lambda engine: migrate.downgrade(engine, revision))
    typer.echo(f"downgraded to {revision}")


@db_cli.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Print the database's migration revision (and whether it is the newest)."""

    async def current(engine: AsyncEngine) -> str | None:
        async with engine.connect() as connection:
            return await migrate.current_revision(connection)

    revision = with_engine(settings_for(database_url), current)
    head = migrate.head_revision()
    typer.echo(
        f"{revision or 'none (empty database)'}{' (head)' if revision == head else f' (head is {head})'}"
    )


@cli.command("seed")
def seed_command(database_url: DatabaseUrl = None) -> None:
    """Validate the bundled dataset and load it (migrating first). Loading twice changes nothing."""
    settings = settings_for(database_url)

    async def run(engine: AsyncEngine) -> bool:
        async with migrate.bootstrap_lock(engine):
            await migrate.upgrade(engine)
            return await seed(engine)

    try:
        loaded = with_engine(settings, run)
    except DatasetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(
        "loaded the bundled dataset" if loaded else "the bundled dataset was already loaded; nothing changed"
    )


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run(engine: AsyncEngine) -> T:
        async with create_sessionmaker(engine)() as session, session.begin():
            session.info["actor"] = "cli"
            return await work(session)

    try:
        return with_engine(settings, run)
    except TokenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@token_cli.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who or what uses it, e.g. impact-monitor.")],
    scope: Annotated[TokenScope, typer.Option(help="read: queries only; write: also mutations.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token and print it. It is shown only this once; only its hash is stored."""
    token = _in_transaction(settings_for(database_url), lambda s: create_token(s, name=name, scope=scope))
    typer.echo(token)


@token_cli.command("list")
def token_list(database_url: DatabaseUrl = None) -> None:
    """List tokens: name, scope, created, revoked."""
    rows = _in_transaction(settings_for(database_url), list_tokens)
    for row in rows:
        revoked = f"revoked {as_utc(row.revoked_at).isoformat()}" if row.revoked_at else "active"
        typer.echo(f"{row.name}\t{row.scope.value}\tcreated {as_utc(row.created_at).isoformat()}\t{revoked}")


@token_cli.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")], database_url: DatabaseUrl = None
) -> None:
    """Revoke a token: from now on it is refused."""
    _in_transaction(settings_for(database_url), lambda s: revoke_token(s, name=name))
    typer.echo(f"revoked {name}")


@cli.command("export-schema")
def export_schema(
    subgraph: Annotated[
        bool, typer.Option("--subgraph", help="The federation subgraph SDL (with @key), for gateways.")
    ] = False,
) -> None:
    """Print the GraphQL schema (SDL) as clients see it."""
    from schema import api_sdl, subgraph_sdl

    typer.echo(subgraph_sdl() if subgraph else api_sdl())


@cli.command("check-schema")
def check_schema() -> None:
    """Compare the schema with the latest release: breaking changes need a deprecation that ran its course."""
    from app.schema_policy import releases, violations
    from schema import api_sdl

    root = Path(__file__).resolve().parents[2]
    changelog = (root / "CHANGELOG.md").read_text("utf-8")
    history = releases(root / "schema" / "released", changelog)
    problems = violations(api_sdl(), history, changelog, dt.date.today())
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"no breaking changes against {history[-1].version} that the policy does not allow")


cli.command("export")(export_command)
cli.command("import")(import_command)


def main() -> None:
    cli()
