"""The README's example queries run and return data (so the documentation stays true)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Api

README = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("query", EXAMPLES, ids=[re.search(r"query (\w+)", q).group(1) for q in EXAMPLES])  # type: ignore[union-attr]
async def test_readme_example(api: Api, query: str) -> None:
    data = await api.data(query)
    assert all(value is not None for value in data.values())


def test_readme_commands_are_the_ones_ci_runs() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text("utf-8")
    test_command = "python3.11 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest"
    assert test_command in README
    assert test_command in ci
    assert (
        "python3.11 -m venv .venv && . .venv/bin/activate && pip install -e . && veerkracht serve" in README
    )


async def test_readme_mutation_example(writer: Api) -> None:
    (mutation,) = re.findall(r"```text\n(mutation \{.*?)```", README, flags=re.DOTALL)
    payload = (await writer.data(mutation))["updateInitiative"]
    assert payload["errors"] == []
    assert payload["initiative"]["version"] == 2
    assert "Helmond (3 wijken)" in payload["initiative"]["summary"]
    assert payload["clientMutationId"] == "readme-1"


def test_the_readme_mutation_adds_no_fact() -> None:
    """The example only rewords a summary: it adds no involvement, organisation or other fact (issue 12)."""
    (mutation,) = re.findall(r"```text\n(mutation \{.*?)```", README, flags=re.DOTALL)
    assert mutation.split("(")[0].split()[-1] == "updateInitiative"
    assert not re.search(r"\b(add|create|record)[A-Z]", mutation)


def test_the_readme_does_not_point_outside_the_repository() -> None:
    assert "../shared" not in README
    assert "Chromium" in README
    assert ".ci/install-browser.sh" in README
