"""The client examples in examples/ against a real server: the Python snippet, and the TypeScript client.

The TypeScript test needs npm (and the npm registry) and takes about a minute: it runs `npm ci` in a copy
of examples/typescript, regenerates the types and checks they equal the committed src/gql/, type-checks,
then runs the client. Without npm it is skipped, except with CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import migrated_and_seeded
from tests.databases import in_ci
from tests.servers import ROOT, Server, servers

PYTHON_EXAMPLE = ROOT / "examples" / "python_client.py"
TYPESCRIPT = ROOT / "examples" / "typescript"
SCHEMA = ROOT / "schema" / "schema.graphql"
NOT_COPIED = ("node_modules", "dist")


@pytest.fixture
async def server(fresh_url: str) -> AsyncIterator[Server]:
    """One `veerkracht serve` on a database of its own with the bundled dataset."""
    await migrated_and_seeded(fresh_url)
    with servers(fresh_url, 1) as (started,):
        yield started


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_python_example_prints_involvements_and_pages_through_initiatives(server: Server) -> None:
    result = subprocess.run(
        [sys.executable, str(PYTHON_EXAMPLE), "--url", server.url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Maashorst (GM1991)"
    assert "formed on 2022-01-01 from Landerd, Uden" in result.stdout
    # Maashorst's own involvement and its predecessors' (the memo names Landerd and Uden), each as named.
    for name in ("Maashorst", "Landerd", "Uden"):
        assert f"Pilot Altena  (as {name}, a Municipality)" in result.stdout
    pages = [line for line in lines if line.startswith("  [page ")]
    assert len(pages) == 9, "every initiative, once"
    assert {line.split("]")[0] for line in pages} == {"  [page 1", "  [page 2", "  [page 3"}
    assert "Pilot Altena (PILOT, COMPLETED)" in result.stdout


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_python_example_reports_the_error_code(server: Server) -> None:
    result = subprocess.run(
        [sys.executable, str(PYTHON_EXAMPLE), "--url", server.url, "--municipality", "GMxx"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "BAD_USER_INPUT" in result.stderr


EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def test_the_typescript_example_pins_exact_versions_and_locks_them() -> None:
    package = json.loads((TYPESCRIPT / "package.json").read_text("utf-8"))
    lock = json.loads((TYPESCRIPT / "package-lock.json").read_text("utf-8"))
    declared = {**package["dependencies"], **package["devDependencies"]}
    assert declared, "no dependencies declared"
    for name, version in declared.items():
        assert EXACT_VERSION.match(version), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    assert (TYPESCRIPT / ".gitignore").read_text("utf-8").splitlines()[0] == "node_modules/"


def _npm(npm: str, directory: Path, *args: str, env: dict[str, str], timeout: int = 300) -> str:
    result = subprocess.run(
        [npm, *args], cwd=directory, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"npm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _files(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text("utf-8")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def npm() -> str:
    """npm's path; without npm the test is skipped, except with CI=true, where that is a failure."""
    path = shutil.which("npm")
    if path is None:
        if in_ci():
            pytest.fail(
                "npm is not installed (CI=true: the TypeScript example must be checked)", pytrace=False
            )
        pytest.skip("npm is not installed")
    return path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_typescript_example_slow_npm_ci_codegen_typecheck_and_run(
    npm: str, server: Server, tmp_path: Path
) -> None:
    """SLOW (about a minute; needs npm and the npm registry): npm ci, codegen, tsc, then the client."""
    copy = tmp_path / "typescript"
    shutil.copytree(TYPESCRIPT, copy, ignore=shutil.ignore_patterns(*NOT_COPIED))
    shutil.rmtree(copy / "src" / "gql")  # generated again below, from the committed SDL
    env = {
        **os.environ,
        "VEERKRACHT_SCHEMA": str(SCHEMA),
        "VEERKRACHT_URL": server.url,
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
    }

    _npm(npm, copy, "ci", env=env, timeout=600)
    _npm(npm, copy, "run", "codegen", env=env)
    assert _files(copy / "src" / "gql") == _files(TYPESCRIPT / "src" / "gql"), (
        "examples/typescript/src/gql is stale: run `npm run codegen` in examples/typescript and commit it"
    )
    _npm(npm, copy, "run", "typecheck", env=env)
    output = _npm(npm, copy, "--silent", "start", env=env, timeout=120)

    lines = output.splitlines()
    assert lines[0] == "Maashorst (GM1991)", output
    for name in ("Maashorst", "Landerd", "Uden"):
        assert f"Pilot Altena  (as {name}, a Municipality)" in output
    pages = [line for line in lines if line.startswith("  [page ")]
    assert [line.split("]")[0] for line in pages] == ["  [page 1"] * 2 + ["  [page 2"] * 2, output
    assert "Proeftuin Sociaal Inkopen (TEST_BED, ACTIVE)" in output
