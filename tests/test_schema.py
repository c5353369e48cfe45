"""The served schema: the committed SDL snapshot, the public contract, descriptions everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from schema import api_sdl, schema

ROOT = Path(__file__).parent.parent
CONTRACT_CHECK = ROOT.parent / "shared" / "tools" / "contract-check"


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema" / "schema.graphql").read_text("utf-8")
    assert committed == api_sdl() + "\n", "run: veerkracht export-schema > schema/schema.graphql"


def test_cli_exports_the_same_sdl() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "export-schema"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout == api_sdl() + "\n"


@pytest.mark.skipif(
    not CONTRACT_CHECK.exists(), reason="../shared/tools/contract-check is not beside this repo"
)
def test_public_contract() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [sys.executable, str(CONTRACT_CHECK), "--all"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 difference(s)" in result.stdout
    assert "(read and write side)" in result.stdout


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        federation = name.startswith("_") or name.startswith("link__")  # Apollo's own types
        if federation or name in {"String", "Int", "Boolean", "ID", "Float"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if field_name.startswith("_"):  # _entities, _service: Apollo Federation's
                    continue
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})"
                    for arg, value in field.args.items()
                    if not value.description
                ]
        if isinstance(graphql_type, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, value in graphql_type.fields.items() if not value.description]
        if isinstance(graphql_type, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in graphql_type.values.items() if not value.description]
    assert missing == []
