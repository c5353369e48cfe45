"""No breaking schema change reaches main without a deprecation that has run its course."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.schema_policy import Release, listed_breaking_changes, releases, violations
from schema import api_sdl

ROOT = Path(__file__).parent.parent
CHANGELOG = (ROOT / "CHANGELOG.md").read_text("utf-8")
TODAY = dt.date(2026, 11, 29)


def test_the_code_breaks_nothing_against_the_latest_release() -> None:
    history = releases(ROOT / "schema" / "released", CHANGELOG)
    assert violations(api_sdl(), history, CHANGELOG, dt.date.today()) == []


RELEASED = """
type Query {
  municipality(code: String): Municipality
}
type Municipality {
  code: String!
  name: String!
  province: String! @deprecated(reason: "Always Noord-Brabant.")
}
"""
WITHOUT_PROVINCE = RELEASED.replace('  province: String! @deprecated(reason: "Always Noord-Brabant.")\n', "")
WITHOUT_NAME = RELEASED.replace("  name: String!\n", "")


def changelog(*breaking: str) -> str:
    listed = "\n".join(f"- Removed `{coordinate}`." for coordinate in breaking) or "(none)"
    return f"# Changelog\n\n## Unreleased\n\n### Breaking\n\n{listed}\n\n## 1.0.0 — 2026-06-01\n\nFirst.\n"


HISTORY = [Release("1.0.0", dt.date(2026, 6, 1), RELEASED)]


def test_additions_are_free() -> None:
    added = RELEASED.replace("  name: String!\n", "  name: String!\n  population: Int\n")
    assert violations(added, HISTORY, changelog(), TODAY) == []


def test_an_unlisted_removal_fails_naming_the_field() -> None:
    (problem,) = violations(WITHOUT_PROVINCE, HISTORY, changelog(), TODAY)
    assert "Municipality.province" in problem
    assert "CHANGELOG.md" in problem


def test_a_listed_removal_of_a_field_that_was_never_deprecated_fails() -> None:
    (problem,) = violations(WITHOUT_NAME, HISTORY, changelog("Municipality.name"), TODAY)
    assert "not deprecated" in problem


def test_a_deprecation_must_have_run_its_course() -> None:
    early = dt.date(2026, 7, 1)
    (problem,) = violations(WITHOUT_PROVINCE, HISTORY, changelog("Municipality.province"), early)
    assert "2026-08-30" in problem, "90 days after the release that deprecated it"
    assert violations(WITHOUT_PROVINCE, HISTORY, changelog("Municipality.province"), TODAY) == []


def test_the_changelog_lists_coordinates_of_the_unreleased_section_only() -> None:
    text = changelog("Municipality.province") + "\n### Breaking\n\n- `Old.field`\n"
    assert listed_breaking_changes(text) == {"Municipality.province"}


def test_a_release_needs_its_changelog_heading(tmp_path: Path) -> None:
    (tmp_path / "2.0.0.graphql").write_text(RELEASED)
    with pytest.raises(ValueError, match=r"2\.0\.0"):
        releases(tmp_path, changelog())
