"""Export and import (docs/export-format.md): lossless round trips, whole-file validation, all or nothing."""

from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.data.loader import DatasetError, MunicipalityEntry
from app.db import create_engine
from app.migrate import upgrade
from app.models import Change, Citation, Involvement, Municipality, Participant, SourceDocument
from app.services.transfer import (
    export_database,
    import_file,
    json_text,
    read_csv_directory,
    read_json,
    write_csv_directory,
    write_json,
)
from tests.conftest import migrated_and_seeded
from tests.databases import DatabaseFactory

ROOT = Path(__file__).parent.parent

# Until `export` and `import` are registered on the veerkracht command, the CLI test runs the same typer
# functions through a minimal app of its own.
_LOCAL_CLI = """
import typer
from app.cli.transfer import export_command, import_command
cli = typer.Typer(pretty_exceptions_show_locals=False)
cli.command("export")(export_command)
cli.command("import")(import_command)
cli()
"""


def _veerkracht() -> list[str]:
    from app.cli import cli

    names = {command.name for command in cli.registered_commands}
    if {"export", "import"} <= names:
        return [sys.executable, "-m", "app"]
    return [sys.executable, "-c", _LOCAL_CLI]


async def _export(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        return await export_database(engine)
    finally:
        await engine.dispose()


async def _import(url: str, path: Path) -> dict[str, int]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        return await import_file(engine, path)
    finally:
        await engine.dispose()


async def _empty(databases: DatabaseFactory, backend: str) -> str:
    url = await databases.create(backend)
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


async def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return {
                model.__name__: int(await connection.scalar(select(func.count()).select_from(model)) or 0)
                for model in (SourceDocument, Municipality, Participant, Involvement, Citation)
            }
    finally:
        await engine.dispose()


async def test_json_round_trip_is_lossless(
    fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    await migrated_and_seeded(fresh_url)
    first = await _export(fresh_url)
    path = tmp_path / "export.json"
    write_json(first, path)
    assert first["format"] == "veerkracht-export"
    assert all(document.get("text") for document in first["documents"]), "document texts are exported"

    copy_url = await _empty(databases, backend)
    counts = await _import(copy_url, path)
    assert counts["municipalities"] == 71
    assert json_text(await _export(copy_url)) == path.read_text("utf-8")
    assert await _counts(copy_url) == await _counts(fresh_url)

    # Importing again merges by natural keys: nothing is duplicated, nothing changes.
    await _import(copy_url, path)
    assert json_text(await _export(copy_url)) == path.read_text("utf-8")
    assert await _counts(copy_url) == await _counts(fresh_url)

    engine = create_engine(copy_url)
    try:
        async with engine.connect() as connection:
            logged = await connection.scalar(
                select(func.count()).select_from(Change).where(Change.actor == "import")
            )
    finally:
        await engine.dispose()
    assert logged, "the change log names the import as the actor"


async def test_csv_round_trip_is_lossless(
    fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    await migrated_and_seeded(fresh_url)
    first = tmp_path / "first"
    write_csv_directory(await _export(fresh_url), first)
    # The CSV form holds exactly the values of the JSON form.
    assert (
        read_csv_directory(first).counts == read_json(_json_file(await _export(fresh_url), tmp_path)).counts
    )

    copy_url = await _empty(databases, backend)
    await _import(copy_url, first)
    second = tmp_path / "second"
    write_csv_directory(await _export(copy_url), second)
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    assert len(names) == 12
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert await _counts(copy_url) == await _counts(fresh_url)


def _json_file(data: dict[str, Any], tmp_path: Path, name: str = "data.json") -> Path:
    path = tmp_path / name
    write_json(data, path)
    return path


def _index(items: list[dict[str, Any]], key: str, value: str) -> int:
    return next(n for n, item in enumerate(items) if item[key] == value)


async def test_an_invalid_json_file_reports_every_problem_and_writes_nothing(
    fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    await migrated_and_seeded(fresh_url)
    data = copy.deepcopy(await _export(fresh_url))
    initiatives = data["initiatives"]
    a = _index(initiatives, "slug", "proeftuin-sociaal-inkopen")
    b = _index(initiatives, "slug", "pilot-vitaal-buitengebied-zundert")
    initiatives[a]["involvements"][0]["role"] = "OBSERVR"
    c = _index(initiatives[b]["involvements"], "participant", "GM0879")
    initiatives[b]["involvements"][c]["participant"] = "GM9879"
    path = _json_file(data, tmp_path)

    target = await _empty(databases, backend)
    with pytest.raises(DatasetError) as caught:
        await _import(target, path)
    problems = caught.value.problems
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"initiatives[{a}].involvements[0].role: Input should be 'INITIATOR'")
    assert "(got 'OBSERVR')" in problems[0]
    assert problems[1] == (
        f"initiatives[{b}].involvements[{c}]: participant 'GM9879' is no known municipality code "
        "or organization slug"
    )
    assert "nothing was loaded" in str(caught.value)
    assert set((await _counts(target)).values()) == {0}


async def test_a_bad_csv_line_is_named_by_file_and_line(
    fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    await migrated_and_seeded(fresh_url)
    directory = tmp_path / "csv"
    write_csv_directory(await _export(fresh_url), directory)

    involvements = directory / "involvements.csv"
    lines = involvements.read_text("utf-8").split("\n")
    line = next(n for n, text in enumerate(lines, start=1) if ",PARTNER," in text)
    lines[line - 1] = lines[line - 1].replace(",PARTNER,", ",PARTNR,", 1)
    involvements.write_text("\n".join(lines), "utf-8")
    with (directory / "citations.csv").open("a", encoding="utf-8", newline="") as file:
        csv.writer(file, lineterminator="\n").writerow(
            ["involvement", "no-such-initiative", "GM0879", "HOST", "memo-vsv-2019-04-04", "Zundert"]
        )
    citation_line = len((directory / "citations.csv").read_text("utf-8").split("\n")) - 1

    target = await _empty(databases, backend)
    with pytest.raises(DatasetError) as caught:
        await _import(target, directory)
    problems = caught.value.problems
    assert f"involvements.csv line {line}: role: Input should be 'INITIATOR'" in "\n".join(problems)
    assert (
        f"citations.csv line {citation_line}: there is no involvement with initiative 'no-such-initiative', "
        "participant 'GM0879', role 'HOST' in involvements.csv"
    ) in problems
    # The involvement's own citations now name a role it no longer has: reported too, by their lines.
    others = [
        p for p in problems if not p.startswith((f"involvements.csv line {line}:", "citations.csv line"))
    ]
    assert others == [], problems
    assert set((await _counts(target)).values()) == {0}


def test_a_file_that_is_not_json_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text("code,name\nGM0879,Zundert\n", "utf-8")
    with pytest.raises(DatasetError) as caught:
        read_json(path)
    assert caught.value.problems == [f"{path}: is not valid JSON: line 1 column 1: Expecting value"]

    path.write_text('{"format": "something-else", "version": 1}', "utf-8")
    with pytest.raises(DatasetError, match="format: must be 'veerkracht-export'"):
        read_json(path)
    path.write_text('{"format": "veerkracht-export", "version": 2}', "utf-8")
    with pytest.raises(DatasetError, match="version: 2 is not supported"):
        read_json(path)


def test_a_csv_directory_with_a_missing_file_or_wrong_header_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "csv"
    write_csv_directory({"format": "veerkracht-export", "version": 1}, directory)
    read_csv_directory(directory)  # empty, but valid
    (directory / "fusions.csv").unlink()
    (directory / "memberships.csv").write_text("organisation,member\n", "utf-8")
    with pytest.raises(DatasetError) as caught:
        read_csv_directory(directory)
    assert caught.value.problems == [
        "fusions.csv: cannot be read: No such file or directory",
        "memberships.csv line 1: the header must name the columns organization,member "
        "(in any order; found organisation,member)",
    ]


_MINIMAL: dict[str, Any] = {
    "format": "veerkracht-export",
    "version": 1,
    "documents": [{"slug": "note", "title": "A note without its text", "date": "2026-11-29"}],
    "municipalities": [
        {"code": "GM0879", "name": "Zundert", "sources": [{"document": "note", "quote": "Zundert"}]},
    ],
    "organizations": [
        {
            "slug": "api-made",
            "name": "Made through the API",
            "kind": "OTHER",
            "members": ["GM0879"],
            "sources": [],
        },
    ],
    "initiatives": [
        {
            "slug": "uncited",
            "name": "Uncited",
            "kind": "PILOT",
            "status": "EXPLORING",
            "summary": "Written through the API, without a source.",
            "sources": [],
            "reported_figures": [{"label": "people", "value": 3, "unit": "people"}],
            "involvements": [{"participant": "api-made", "role": "INITIATOR", "sources": []}],
        }
    ],
}


async def test_facts_without_citations_and_documents_without_text_round_trip(
    fresh_url: str, tmp_path: Path
) -> None:
    path = _json_file(_MINIMAL, tmp_path)
    await _import(fresh_url, path)
    exported = await _export(fresh_url)
    assert exported["initiatives"][0]["sources"] == []
    assert "source" not in exported["initiatives"][0]["reported_figures"][0]
    assert "text" not in exported["documents"][0]
    assert exported["organizations"][0]["members"] == ["GM0879"]
    again = _json_file(exported, tmp_path, "again.json")
    assert read_json(again).counts == read_json(path).counts
    write_csv_directory(exported, tmp_path / "csv")
    assert read_csv_directory(tmp_path / "csv").counts == read_json(path).counts

    # The bundled dataset's own format still requires citations.
    with pytest.raises(ValueError, match="at least 1 item"):
        MunicipalityEntry.model_validate({"code": "GM0879", "name": "Zundert", "sources": []})


async def test_import_merges_and_deletes_nothing(fresh_url: str, tmp_path: Path) -> None:
    await migrated_and_seeded(fresh_url)
    before = await _counts(fresh_url)
    data = await _export(fresh_url)
    initiative = data["initiatives"][0]
    initiative["name"] += " (renamed)"
    # A file refers only to what it holds itself: here every document and participant, one initiative.
    partial = {
        key: data[key] for key in ("format", "version", "documents", "municipalities", "organizations")
    }
    partial["initiatives"] = [initiative]
    await _import(fresh_url, _json_file(partial, tmp_path))
    after = await _export(fresh_url)
    assert after["initiatives"][0]["name"] == initiative["name"]
    assert after["initiatives"][1:] == data["initiatives"][1:]
    assert after["fusions"] == data["fusions"]
    assert await _counts(fresh_url) == before


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_veerkracht(), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"},
    )


async def test_the_commands(fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path) -> None:
    await migrated_and_seeded(fresh_url)
    stdout = _run("export", "--database-url", fresh_url)
    assert stdout.returncode == 0, stdout.stderr
    assert json.loads(stdout.stdout)["format"] == "veerkracht-export"
    exported = _run(
        "export", "--format", "csv", "--output", str(tmp_path / "csv"), "--database-url", fresh_url
    )
    assert exported.returncode == 0, exported.stderr
    assert "71 municipalities" in exported.stdout
    assert _run("export", "--format", "csv", "--database-url", fresh_url).returncode != 0

    target = await databases.create(backend)
    refused_empty = _run("import", str(tmp_path / "csv"), "--database-url", target)
    assert refused_empty.returncode == 1, "import creates no database, nor tables in an empty one"
    assert _run("db", "upgrade", "--database-url", target).returncode == 0
    imported = _run("import", str(tmp_path / "csv"), "--database-url", target)
    assert imported.returncode == 0, imported.stderr
    assert "71 municipalities" in imported.stdout
    assert json_text(await _export(target)) == stdout.stdout

    bad = dict(json.loads(stdout.stdout), initiatives=[{"slug": "Not A Slug"}])
    refused = _run("import", str(_json_file(bad, tmp_path)), "--database-url", target)
    assert refused.returncode == 1
    assert "initiatives[0].slug: String should match pattern" in refused.stderr
    assert "initiatives[0].name: Field required" in refused.stderr
    assert "nothing was loaded" in refused.stderr
    assert json_text(await _export(target)) == stdout.stdout
