"""Imports point downward only: web/cli → schema → services → models → foundations (docs/architecture.md).

Every ``import`` in app/ and schema/ (at the top, inside functions and under ``TYPE_CHECKING`` alike) is
read from the source and checked against the floor of the module it names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (module prefix, floor, name of the floor); the longest matching prefix decides.
FLOORS: list[tuple[str, int, str]] = [
    ("app.web", 4, "web"),
    ("app.cli", 4, "cli"),
    ("app.main", 4, "web"),
    ("app.__main__", 4, "cli"),
    ("schema", 3, "schema"),
    ("app.services", 2, "services"),
    ("app.data", 2, "services"),
    ("app.bootstrap", 2, "services"),
    ("app.models", 1, "models"),
    ("app.db", 0, "foundations"),
    ("app.settings", 0, "foundations"),
    ("app.observability", 0, "foundations"),
    ("app.migrate", 0, "foundations"),
    ("app.schema_policy", 0, "foundations"),
    ("app", 0, "foundations"),
]


def floor_of(module: str) -> tuple[int, str] | None:
    """The floor of ``module``, or None when it is not ours (a library)."""
    matches = [
        (prefix, floor, name)
        for prefix, floor, name in FLOORS
        if module == prefix or module.startswith(f"{prefix}.")
    ]
    if not matches:
        return None
    _prefix, floor, name = max(matches, key=lambda match: len(match[0]))
    return floor, name


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.add(target)
            # `from app.web import graphiql` imports the module app.web.graphiql
            names.update(
                f"{target}.{alias.name}" for alias in node.names if floor_of(f"{target}.{alias.name}")
            )
    return names


def sources() -> list[Path]:
    return sorted(
        p for top in ("app", "schema") for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts
    )


def problem(module: str, target: str) -> str | None:
    """What is wrong with ``module`` importing ``target``; None when the import points down (or sideways
    within a floor, except between web and cli, which stay apart)."""
    own, theirs = floor_of(module), floor_of(target)
    assert own is not None, module
    if theirs is None:
        return None
    if theirs[0] > own[0] or (theirs[0] == own[0] == 4 and theirs[1] != own[1]):
        return f"{module} ({own[1]}) imports {target} ({theirs[1]})"
    return None


def violations() -> list[str]:
    found = []
    for path in sources():
        module = module_name(path)
        for target in sorted(
            imported(ast.parse(path.read_text("utf-8")), module, path.name == "__init__.py")
        ):
            if (found_problem := problem(module, target)) is not None:
                found.append(found_problem)
    return found


def test_imports_point_downward_only() -> None:
    assert violations() == []


def test_every_module_has_a_floor() -> None:
    assert all(floor_of(module_name(path)) is not None for path in sources())
    assert floor_of("app.web.pipeline.plan") == (4, "web")
    assert floor_of("schema.compiled.run") == (3, "schema")
    assert floor_of("sqlalchemy") is None


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        (
            "from app.web.cache import etag",
            "schema.compiled.run",
            "schema.compiled.run (schema) imports app.web.cache (web)",
        ),
        ("import schema", "app.services.writes", "app.services.writes (services) imports schema (schema)"),
        ("from app.cli import cli", "app.web.app", "app.web.app (web) imports app.cli (cli)"),
    ],
)
def test_an_upward_import_would_be_found(source: str, module: str, expected: str) -> None:
    """The check can fail: the same rules, applied to imports that break them."""
    targets = imported(ast.parse(source), module, is_package=False)
    assert expected in [p for target in targets if (p := problem(module, target)) is not None]
