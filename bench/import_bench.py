"""How fast `veerkracht import` loads the synthetic data into PostgreSQL, against a plain COPY (issue #14).

    python bench/import_bench.py                      # scales 1 and 10, three runs each (about a minute)
    python bench/import_bench.py --scales 1 --runs 1  # a quick look

For each scale: a source database gets the bundled dataset and the synthetic rows of ``bench/datasets.py``
and is exported (``app.services.transfer.export_database``) to a JSON file. Then, per run, on fresh migrated
databases of their own:

- *import*: ``import_file`` as the command runs it: read and validate the file (timed apart), then write it
  in one transaction, the change log included (one entry per municipality, organization, document,
  fusion, initiative and involvement);
- *COPY*: the same rows of the source's tables (participants, initiatives, involvements, themes, figures,
  mentions, citations, ...) with ``COPY ... FROM STDIN`` (asyncpg's ``copy_records_to_table``) in one
  transaction: the ceiling, no validation, no change log, ids given.

Rows per second counts the rows written to the data tables (change log entries not counted). Medians of the
runs are printed, and written to ``bench/results/import.json``. Needs PostgreSQL at
``postgresql://postgres@127.0.0.1:5432/`` with trust authentication (``--admin-dsn`` for another).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db import create_engine
from app.migrate import upgrade
from app.services.transfer import export_database, import_dataset, read_file, write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datasets import (
    create_database,
    drop_database,
    grow,
    migrate_and_seed,
    sqlalchemy_url,
)

RESULTS = Path(__file__).parent / "results" / "import.json"
# The data tables, parents before children (the order COPY fills them in).
TABLES = (
    "source_document",
    "participant",
    "municipality",
    "organization",
    "membership",
    "fusion",
    "fusion_municipality",
    "initiative",
    "initiative_theme",
    "reported_figure",
    "involvement",
    "unresolved_mention",
    "citation",
)


def _dsn(admin_dsn: str, name: str) -> str:
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


async def _migrated(admin_dsn: str, name: str) -> str:
    await create_database(admin_dsn, name)
    dsn = _dsn(admin_dsn, name)
    engine = create_engine(sqlalchemy_url(dsn))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return dsn


async def _rows(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        return {table: int(await connection.fetchval(f"SELECT count(*) FROM {table}")) for table in TABLES}
    finally:
        await connection.close()


async def _import(admin_dsn: str, name: str, path: Path) -> tuple[float, float]:
    """Seconds to read and validate the file, and seconds to write it."""
    dsn = await _migrated(admin_dsn, name)
    started = time.perf_counter()
    dataset = read_file(path)
    validated = time.perf_counter()
    engine = create_engine(sqlalchemy_url(dsn))
    try:
        await import_dataset(engine, dataset)
    finally:
        await engine.dispose()
    return validated - started, time.perf_counter() - validated


async def _copy(admin_dsn: str, name: str, source_dsn: str) -> float:
    """Seconds to COPY the source's data rows into a fresh migrated database, in one transaction."""
    dsn = await _migrated(admin_dsn, name)
    source = await asyncpg.connect(source_dsn)
    try:
        tables = {table: await source.fetch(f"SELECT * FROM {table}") for table in TABLES}
    finally:
        await source.close()
    target = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        async with target.transaction():
            for table, records in tables.items():
                if records:
                    columns = list(records[0].keys())
                    await target.copy_records_to_table(
                        table, records=[tuple(r) for r in records], columns=columns
                    )
        return time.perf_counter() - started
    finally:
        await target.close()


async def _scale(admin_dsn: str, scale: int, runs: int, work: Path) -> dict[str, Any]:
    prefix = f"vk_import_bench_{os.getpid()}"
    source_name, import_name, copy_name = f"{prefix}_src", f"{prefix}_import", f"{prefix}_copy"
    try:
        await create_database(admin_dsn, source_name)
        source_dsn = _dsn(admin_dsn, source_name)
        await migrate_and_seed(source_dsn)
        await grow(source_dsn, scale)
        engine = create_engine(sqlalchemy_url(source_dsn))
        try:
            data = await export_database(engine)
        finally:
            await engine.dispose()
        path = work / f"export-{scale}x.json"
        write_json(data, path)
        rows = await _rows(source_dsn)
        validate, write, copy = [], [], []
        for _ in range(runs):
            read_seconds, write_seconds = await _import(admin_dsn, import_name, path)
            validate.append(read_seconds)
            write.append(write_seconds)
            imported = await _rows(_dsn(admin_dsn, import_name))
            if imported != rows:
                raise SystemExit(f"the import wrote {imported}, the source holds {rows}")
            copy.append(await _copy(admin_dsn, copy_name, source_dsn))
        total = sum(rows.values())
        result = {
            "scale": scale,
            "rows": total,
            "involvements": rows["involvement"],
            "file_bytes": path.stat().st_size,
            "validate_seconds": statistics.median(validate),
            "import_write_seconds": statistics.median(write),
            "copy_seconds": statistics.median(copy),
        }
        result["import_rows_per_second"] = total / (
            result["validate_seconds"] + result["import_write_seconds"]
        )
        result["write_rows_per_second"] = total / result["import_write_seconds"]
        result["copy_rows_per_second"] = total / result["copy_seconds"]
        return result
    finally:
        for name in (source_name, import_name, copy_name):
            await drop_database(admin_dsn, name)


async def _main(arguments: argparse.Namespace) -> None:
    results = []
    with tempfile.TemporaryDirectory() as work:
        for scale in arguments.scales:
            result = await _scale(arguments.admin_dsn, scale, arguments.runs, Path(work))
            results.append(result)
            print(
                f"{scale}x: {result['rows']:,} rows ({result['involvements']:,} involvements), "
                f"{result['file_bytes'] / 1e6:.1f} MB: import {result['validate_seconds']:.2f} s validate "
                f"+ {result['import_write_seconds']:.2f} s write = {result['import_rows_per_second']:,.0f} "
                f"rows/s; COPY {result['copy_seconds']:.2f} s = {result['copy_rows_per_second']:,.0f} rows/s; "
                f"ratio {result['copy_rows_per_second'] / result['import_rows_per_second']:.1f}",
                flush=True,
            )
    RESULTS.write_text(json.dumps({"runs": arguments.runs, "scales": results}, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--scales", type=lambda value: [int(s) for s in value.split(",")], default=[1, 10])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(_main(parser.parse_args()))
