"""Bulk data for Dutch tools (issue 14): the excel-nl CSV dialect, /export.json and /export.csv.zip, commands
that name their database and never create one, progress on a terminal, bulk imports logged as before,
--dry-run."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.db import create_engine
from app.models import Change, Involvement
from app.services.transfer import CsvDialect, csv_files, json_text, read_csv_directory
from tests.conftest import Api, migrated_and_seeded
from tests.databases import DatabaseFactory
from tests.test_transfer import _counts, _empty, _export, _json_file

ROOT = Path(__file__).parent.parent
STERK = "Stérk Brabant: één netwerk"
"""A name with the letters Dutch Excel garbles when it reads UTF-8 without a byte order mark."""


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1", **(env or {})},
    )


def _on_terminal(*args: str) -> tuple[bytes, bytes]:
    """Run the command with standard error on a pseudo-terminal: its standard output and what the terminal got."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0, seen
    return stdout, seen


def _touch(url: str) -> None:
    Path(url.split("///", 1)[1]).touch()


async def _renamed_export(url: str) -> dict[str, Any]:
    data = await _export(url)
    data["initiatives"][0]["name"] = STERK
    return data


async def test_excel_nl_csv_has_semicolons_and_a_bom_and_round_trips(
    fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    await migrated_and_seeded(fresh_url)
    source = await _empty(databases, backend)
    imported = _run(
        "import", str(_json_file(await _renamed_export(fresh_url), tmp_path)), "--database-url", source
    )
    assert imported.returncode == 0, imported.stderr

    directory = tmp_path / "excel"
    exported = _run(
        "export",
        "--format",
        "csv",
        "--dialect",
        "excel-nl",
        "--output",
        str(directory),
        "--database-url",
        source,
    )
    assert exported.returncode == 0, exported.stderr
    raw = (directory / "initiatives.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark, which Excel needs to read UTF-8"
    header, _first = raw[3:].split(b"\r\n")[:2]
    assert header.startswith(b"slug;name;kind;status;summary;")  # then the translations and basis columns
    # Excel, seeing the BOM, decodes UTF-8; a cell split on ';' holds the name as written.
    assert STERK in raw.decode("utf-8-sig")
    assert STERK.encode("utf-8") in raw
    assert STERK.encode("cp1252") not in raw
    plain = csv_files(await _export(source), CsvDialect.PLAIN)["initiatives.csv"]
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert plain.split(b"\n")[0].startswith(b"slug,name,kind,status,summary,")

    # import reads the dialect back: the same data, byte for byte in JSON.
    target = await _empty(databases, backend)
    again = _run("import", str(directory), "--database-url", target)
    assert again.returncode == 0, again.stderr
    assert json_text(await _export(target)) == json_text(await _export(source))
    assert read_csv_directory(directory).counts == read_csv_directory(directory).counts


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "veerkracht.db"
    (tmp_path / "elsewhere").mkdir()
    url = f"sqlite:///{missing}"
    exported = _run("export", "--database-url", url)
    assert exported.returncode == 1
    assert f"exporting from SQLite file {missing}" in exported.stderr
    assert f"there is no database at {missing}" in exported.stderr
    assert exported.stdout == ""

    data = tmp_path / "data.json"
    data.write_text('{"format": "veerkracht-export", "version": 1}')
    imported = _run("import", str(data), "--database-url", url)
    assert imported.returncode == 1
    assert f"importing into SQLite file {missing}" in imported.stderr
    assert "there is no database at" in imported.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == [], "no file is left behind"

    # Run in another directory without a URL: the default ./veerkracht.db of *that* directory, named.
    here = subprocess.run(
        [sys.executable, "-m", "app", "export"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "VEERKRACHT_DATABASE_URL"}
        | {"PYTHONPATH": str(ROOT)},
    )
    assert here.returncode == 1
    assert f"there is no database at {tmp_path / 'veerkracht.db'}" in here.stderr
    assert not (tmp_path / "veerkracht.db").exists()

    # A PostgreSQL database that does not exist: said in the driver's words, no traceback.
    absent = _run("export", "--database-url", "postgresql://postgres@127.0.0.1:5432/vk_no_such_database")
    assert absent.returncode == 1
    assert (
        'error: cannot read postgresql+asyncpg://postgres@127.0.0.1:5432/vk_no_such_database: database "vk_no_such_database" does not exist'
        in absent.stderr
    )
    assert "Traceback" not in absent.stderr


async def test_an_empty_database_is_refused_by_export_and_import(
    backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = await databases.create(backend)
    if backend == "sqlite":
        _touch(url)  # an existing but empty file
    exported = _run("export", "--database-url", url)
    assert exported.returncode == 1
    assert "is empty (no tables)" in exported.stderr
    data = tmp_path / "data.json"
    data.write_text('{"format": "veerkracht-export", "version": 1}')
    imported = _run("import", str(data), "--database-url", url)
    assert imported.returncode == 1
    assert "is empty (no tables)" in imported.stderr
    assert "veerkracht db upgrade" in imported.stderr
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            from app.migrate import current_revision

            assert await current_revision(connection) is None, "the import created no tables"
    finally:
        await engine.dispose()


async def test_dry_run_validates_reports_and_writes_nothing(
    fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    await migrated_and_seeded(fresh_url)
    path = _json_file(await _export(fresh_url), tmp_path)
    target = await _empty(databases, backend)
    before = await _counts(target)
    checked = _run("import", "--dry-run", str(path), "--database-url", target)
    assert checked.returncode == 0, checked.stderr
    assert "checking an import into" in checked.stderr
    assert "nothing was written" in checked.stdout
    involvements = (await _counts(fresh_url))["Involvement"]
    assert f"Involvement: {involvements} created" in checked.stdout
    assert "Municipality: 71 created" in checked.stdout
    assert await _counts(target) == before
    engine = create_engine(target)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(Change)) == 0
    finally:
        await engine.dispose()

    bad = dict(json.loads(path.read_text()), initiatives=[{"slug": "Not A Slug"}])
    refused = _run(
        "import", "--dry-run", str(_json_file(bad, tmp_path, "bad.json")), "--database-url", target
    )
    assert refused.returncode == 1
    assert "initiatives[0].slug" in refused.stderr


async def test_a_bulk_import_logs_every_object_as_the_import(
    fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    await migrated_and_seeded(fresh_url)
    data = await _export(fresh_url)
    target = await _empty(databases, backend)
    imported = _run("import", str(_json_file(data, tmp_path)), "--database-url", target)
    assert imported.returncode == 0, imported.stderr
    engine = create_engine(target)
    try:
        async with engine.connect() as connection:
            logged = dict(
                (
                    await connection.execute(
                        select(Change.entity_type, func.count())
                        .where(Change.actor == "import", Change.operation == "CREATED")
                        .group_by(Change.entity_type)
                    )
                ).all()
            )
            involvements = await connection.scalar(select(func.count()).select_from(Involvement))
            sequences = (await connection.scalars(select(Change.sequence).order_by(Change.sequence))).all()
    finally:
        await engine.dispose()
    assert logged["Involvement"] == involvements == sum(len(i["involvements"]) for i in data["initiatives"])
    assert logged["Initiative"] == len(data["initiatives"])
    assert logged["Municipality"] == 71
    assert sequences == list(range(1, len(sequences) + 1)), "gapless, in commit order"


async def test_import_shows_progress_only_on_a_terminal(
    fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    await migrated_and_seeded(fresh_url)
    path = _json_file(await _export(fresh_url), tmp_path)
    piped = _run("import", "--dry-run", str(path), "--database-url", await _empty(databases, backend))
    assert piped.returncode == 0
    assert "involvements:" not in piped.stderr, "no progress lines in a pipe or a log"

    # stderr on a pseudo-terminal, as in an interactive shell.
    stdout, seen = _on_terminal("import", str(path), "--database-url", await _empty(databases, backend))
    assert b"imported" in stdout
    text = seen.decode()
    assert "involvements:" in text
    assert "of" in text
    assert "citations:" in text


async def test_http_export_for_token_holders(api: Api, tmp_path: Path) -> None:
    anonymous = await api.client.get("/export.json")
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    bogus = await api.client.get("/export.csv.zip", headers={"Authorization": "Bearer vk_not-a-token"})
    assert bogus.status_code == 401

    token = await api.make_token(f"exporter-{os.getpid()}-{id(tmp_path)}", "read")
    headers = {"Authorization": f"Bearer {token}"}
    response = await api.client.get("/export.json", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    expected = json_text(await _export(str(api.engine.url.render_as_string(hide_password=False))))
    assert response.text == expected

    archive = await api.client.get("/export.csv.zip?dialect=excel-nl", headers=headers)
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        assert len(files.namelist()) == 12
        municipalities = files.read("municipalities.csv")
    assert municipalities.startswith(b"\xef\xbb\xbfcode;name;founded_on;dissolved_on;")
    plain = await api.client.get("/export.csv.zip", headers=headers)
    with zipfile.ZipFile(io.BytesIO(plain.content)) as files:
        assert files.read("municipalities.csv").startswith(b"code,name,")
    wrong = await api.client.get("/export.csv.zip?dialect=excel-fr", headers=headers)
    assert wrong.status_code == 400
    assert "plain, excel-nl" in wrong.json()["errors"][0]["message"]


async def test_a_bulk_import_the_database_refuses_late_writes_nothing(
    seeded_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    """All or nothing across the loader's flushes: a row PostgreSQL refuses in the last flushes (an initiative
    name longer than its column; SQLite does not check lengths) leaves none of the earlier ones."""
    data = await _export(seeded_url)
    data["initiatives"][-1]["name"] = "Lang " * 80  # 400 characters; the column holds 300
    target = await _empty(databases, backend)
    imported = _run("import", str(_json_file(data, tmp_path)), "--database-url", target)
    if backend == "sqlite":
        assert imported.returncode == 0, imported.stderr
        return
    assert imported.returncode == 1
    assert "refused the import; nothing was written" in imported.stderr
    assert "value too long" in imported.stderr
    counts = await _counts(target)
    assert counts == dict.fromkeys(counts, 0), counts
    engine = create_engine(target)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(Change)) == 0
    finally:
        await engine.dispose()
