"""Schema governance: no breaking change without a deprecation that has run its course.

Compares the schema the code builds with the latest released one (schema/released/<version>.graphql)
using graphql-core's ``find_breaking_changes``. Each breaking change must be listed under
"### Breaking" in CHANGELOG.md's Unreleased section by its schema coordinate, and that coordinate must
be deprecated in the released schema, released at least ``MINIMUM_DEPRECATION_DAYS`` before today.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema, build_schema
from graphql.utilities import find_breaking_changes

MINIMUM_DEPRECATION_DAYS = 90
_RELEASE_HEADING = re.compile(r"^## (\d+\.\d+\.\d+) — (\d{4}-\d{2}-\d{2})\s*$", re.MULTILINE)
_COORDINATE = re.compile(r"\b([A-Z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?(?:\(\w+:\))?)")


@dataclass(frozen=True)
class Release:
    version: str
    date: dt.date
    sdl: str


def releases(released_dir: Path, changelog: str) -> list[Release]:
    """Every released schema, oldest first, dated by its CHANGELOG heading."""
    dates = {version: dt.date.fromisoformat(day) for version, day in _RELEASE_HEADING.findall(changelog)}
    files = {path.stem: path for path in released_dir.glob("*.graphql")}
    if not files:
        raise ValueError(f"no released schema in {released_dir}")
    result = []
    for version in sorted(files, key=lambda v: tuple(int(part) for part in v.split("."))):
        if version not in dates:
            raise ValueError(
                f"CHANGELOG.md has no '## {version} — YYYY-MM-DD' heading for its released schema"
            )
        result.append(Release(version, dates[version], files[version].read_text("utf-8")))
    return result


def listed_breaking_changes(changelog: str) -> set[str]:
    """Coordinates listed under '### Breaking' in the Unreleased section."""
    unreleased = changelog.split("## Unreleased", 1)[-1]
    unreleased = _RELEASE_HEADING.split(unreleased, 1)[0]
    breaking = (
        unreleased.split("### Breaking", 1)[-1].split("\n### ", 1)[0] if "### Breaking" in unreleased else ""
    )
    return {
        match
        for line in breaking.splitlines()
        if line.lstrip().startswith("-")
        for match in re.findall(r"`([^`]+)`", line)
    }


def _deprecated(schema: GraphQLSchema, coordinate: str) -> bool:
    type_name, _, rest = coordinate.partition(".")
    graphql_type = schema.type_map.get(type_name)
    if graphql_type is None or not rest:
        return False
    field_name, _, argument = rest.partition("(")
    argument = argument.rstrip(":)")
    if isinstance(graphql_type, GraphQLEnumType):
        value = graphql_type.values.get(field_name)
        return bool(value and value.deprecation_reason)
    if isinstance(graphql_type, GraphQLObjectType | GraphQLInputObjectType):
        field = graphql_type.fields.get(field_name)
        if field is None:
            return False
        if argument:
            arg = getattr(field, "args", {}).get(argument)
            return bool(arg and arg.deprecation_reason)
        return bool(field.deprecation_reason)
    return False


def violations(current_sdl: str, history: list[Release], changelog: str, today: dt.date) -> list[str]:
    """Every breaking change against the latest release that the policy does not allow, as a sentence."""
    latest = history[-1]
    released = build_schema(latest.sdl)
    current = build_schema(current_sdl)
    listed = listed_breaking_changes(changelog)
    problems = []
    for change in find_breaking_changes(released, current):
        coordinates = _COORDINATE.findall(change.description)
        coordinate = next((c for c in coordinates if "." in c), coordinates[0] if coordinates else "?")
        deprecated_in = [r for r in history if _deprecated(build_schema(r.sdl), coordinate)]
        if coordinate not in listed:
            problems.append(
                f"{change.description} (breaking against {latest.version}): list `{coordinate}` under "
                "'### Breaking' in CHANGELOG.md's Unreleased section once its deprecation has run its course"
            )
        elif not _deprecated(released, coordinate) or not deprecated_in:
            problems.append(f"{change.description}: `{coordinate}` is not deprecated in {latest.version}")
        elif (today - deprecated_in[0].date).days < MINIMUM_DEPRECATION_DAYS:
            since = deprecated_in[0]
            problems.append(
                f"{change.description}: `{coordinate}` was deprecated in {since.version} ({since.date}); "
                f"it may be removed {MINIMUM_DEPRECATION_DAYS} days after that, from "
                f"{since.date + dt.timedelta(days=MINIMUM_DEPRECATION_DAYS)}"
            )
    return problems
