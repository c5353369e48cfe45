"""The compiled path answers every generated document as the resolvers do, on both databases (issue #15).

Documents come from tests/differential.py (a seeded generator written for this schema). Each one is sent to
an app with compiled reads and to one without; the answers must be the same JSON, keys and errors in the
same order, with the same HTTP status; and the compiled app's second answer (a prepared read when every root
field compiled, schema/compiled/prepared.py) must be byte for byte its first. No compiled statement may
fail along the way: a failed statement falls back to the resolvers, which hides the bug and costs time, so
``CompiledRunner.failed_statements`` must stay at zero.

``VEERKRACHT_DIFFERENTIAL_DOCUMENTS`` (default 300 per backend) and ``VEERKRACHT_DIFFERENTIAL_SEED`` (default
15) set the run: ``VEERKRACHT_DIFFERENTIAL_DOCUMENTS=5000 pytest tests/test_differential.py`` for a long one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import GraphQLInputObjectType, parse, validate
from prometheus_client import REGISTRY

from schema.compiled.plan import _COLUMNS as COLUMNS
from schema.compiled.plan import _INVOLVEMENTS_PARENT as INVOLVEMENTS_PARENT
from schema.compiled.plan import ROOT_CONNECTIONS
from tests.conftest import Api, _api
from tests.differential import FOUND, SCHEMA, Generator, Vocabulary

DOCUMENTS = int(os.environ.get("VEERKRACHT_DIFFERENTIAL_DOCUMENTS", "300"))
SEED = int(os.environ.get("VEERKRACHT_DIFFERENTIAL_SEED", "15"))


@pytest.fixture(scope="session")
async def compiled_app(seeded_url: str) -> AsyncIterator[Api]:
    async for instance in _api(seeded_url, compiled_reads=True, response_cache=False):
        yield instance


@pytest.fixture(scope="session")
async def resolver_app(seeded_url: str) -> AsyncIterator[Api]:
    async for instance in _api(seeded_url, compiled_reads=False, response_cache=False):
        yield instance


def _parsed(text: str) -> Any:
    return json.loads(text, object_pairs_hook=list)


async def _send(api: Api, query: str, variables: dict[str, Any]) -> tuple[int, str]:
    try:
        response = await api.client.post("/graphql", json={"query": query, "variables": variables})
    except (Exception, asyncio.CancelledError) as error:  # what escaped the app: a 500 for a client
        return 500, f"{type(error).__name__}: {error}"
    return response.status_code, response.text


async def differences(
    compiled: Api, resolved: Api, query: str, variables: dict[str, Any]
) -> tuple[list[str], str]:
    """What differs between the two paths for one document (empty: nothing), and the resolvers' answer."""
    first = await _send(compiled, query, variables)
    repeat = await _send(compiled, query, variables)
    theirs = await _send(resolved, query, variables)
    found = []
    if theirs[0] != 200 or first[0] != 200:
        found.append(f"status: compiled {first[0]}, resolvers {theirs[0]}")
    if _parsed(first[1]) != _parsed(theirs[1]):
        found.append(f"answer:\n  compiled:  {first[1][:1500]}\n  resolvers: {theirs[1][:1500]}")
    if repeat != first:
        found.append(f"repeat:\n  first:  {first[1][:1500]}\n  repeat: {repeat[1][:1500]}")
    return found, theirs[1]


def _failed(api: Api) -> int:
    return int(api.app.state.compiled_runner.failed_statements)


def _counter(result: str) -> float:
    return REGISTRY.get_sample_value("veerkracht_compiled_root_fields_total", {"result": result}) or 0.0


async def run(
    compiled: Api, resolved: Api, count: int, seed: int
) -> tuple[list[str], int, int, set[tuple[str, ...]]]:
    """Send ``count`` generated documents to both apps: (the differences, valid documents, compiled roots,
    what the documents covered)."""
    vocabulary = Vocabulary.from_answer(await resolved.data(Vocabulary.QUERY))
    generator = Generator(seed, vocabulary)
    problems: list[str] = []
    valid = 0
    before = _counter("compiled")
    dropped: list[str] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: dropped.append(f"{unraisable.exc_value!r} {unraisable.object!r}")
    try:
        for number in range(count):
            document = generator.document()
            if validate(SCHEMA, parse(document.query)):
                continue
            valid += 1
            found, answer = await differences(compiled, resolved, document.query, document.variables)
            if document.variables:
                # The same document with other values: on the compiled app, a prepared read from the start.
                other = generator.other_variables(document)
                more, _ = await differences(compiled, resolved, document.query, other)
                found += [f"with {json.dumps(other)}: {difference}" for difference in more]
            gc.collect(0)  # the young garbage: a full collection per document would double the run's time
            if dropped:
                # A coroutine never awaited, an exception never retrieved: work that was started and lost.
                found.append("unraisable: " + "; ".join(dropped))
                dropped.clear()
            if found:
                problems.append(
                    f"#{number} {document.query}\nvariables: {json.dumps(document.variables)}\n"
                    + "\n".join(found)
                )
            with contextlib.suppress(ValueError):
                vocabulary.harvest(json.loads(answer))
    finally:
        sys.unraisablehook = hook
    return problems, valid, int(_counter("compiled") - before), generator.covered


async def test_generated_documents_match_the_resolvers(compiled_app: Api, resolver_app: Api) -> None:
    failed = _failed(compiled_app)
    problems, valid, compiled_roots, covered = await run(compiled_app, resolver_app, DOCUMENTS, SEED)
    print(
        f"{valid} valid documents of {DOCUMENTS}, {compiled_roots} compiled root fields, {len(problems)} differ"
    )
    assert valid >= 0.8 * DOCUMENTS, "the generator writes valid documents"
    assert not problems, f"{len(problems)} of {valid} documents differ:\n\n" + "\n\n".join(problems[:8])
    runner = compiled_app.app.state.compiled_runner
    assert _failed(compiled_app) == failed, (
        f"compiled statements failed (and fell back): {list(runner.recent_failures)}"
    )
    assert compiled_roots > valid, "most root fields compiled (each answer and its repeat count)"
    missing = sorted(compiled_surface() - covered)
    assert not missing, f"fields and arguments that compile but no generated document used: {missing}"


def compiled_surface() -> set[tuple[str, ...]]:
    """Every field, argument and filter key the compiled path maps (schema/compiled/plan.py and sql.py), as
    the generator records what it used: (type, field), (type, field, argument), (input type, key)."""
    surface: set[tuple[str, ...]] = set()
    page = ("first", "after")
    for root, item in ROOT_CONNECTIONS.items():
        surface |= {("Query", root), *(("Query", root, arg) for arg in page)}
        surface.add(("Query", root, "kind" if root == "organizations" else "filter"))
        surface |= {(f"{item}Connection", part) for part in ("totalCount", "pageInfo", "edges", "nodes")}
        surface |= {(f"{item}Edge", part) for part in ("cursor", "node")}
    for root, argument in (
        ("municipality", "code"),
        ("initiative", "slug"),
        ("organization", "slug"),
        ("node", "id"),
    ):
        surface |= {("Query", root), ("Query", root, argument)}
    for type_name, columns in COLUMNS.items():
        surface |= {(type_name, column) for column in columns}
    for type_name in INVOLVEMENTS_PARENT:
        surface |= {
            (type_name, "involvements"),
            *((type_name, "involvements", arg) for arg in (*page, "filter")),
        }
    surface |= {("Municipality", "active"), ("Municipality", "active", "on")}
    surface |= {("Involvement", "initiative"), ("Involvement", "participant")}
    surface |= {("PageInfo", name) for name in ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")}
    surface |= {("@", "include"), ("@", "skip")}
    for filter_type in ("MunicipalityFilter", "InitiativeFilter", "InvolvementFilter"):
        input_type = SCHEMA.get_type(filter_type)
        assert isinstance(input_type, GraphQLInputObjectType)
        surface |= {(filter_type, key) for key in input_type.fields}
    return surface


@pytest.mark.parametrize("index", range(len(FOUND)))
async def test_what_the_generator_found_stays_fixed(compiled_app: Api, resolver_app: Api, index: int) -> None:
    failed = _failed(compiled_app)
    for _ in range(3):  # races showed on some runs only
        found, answer = await differences(compiled_app, resolver_app, FOUND[index], {})
        assert not found, "\n".join(found)
    assert _failed(compiled_app) == failed, list(compiled_app.app.state.compiled_runner.recent_failures)
    body = json.loads(answer)
    if "involvements(filter: {initiativeSlug" in FOUND[index] and "node(" in FOUND[index]:
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    if "pageInfo { hasPreviousPage }" in FOUND[index]:
        assert body["data"]["organization"]["involvements"] == {"pageInfo": {"hasPreviousPage": False}}
    if "errors" in body:
        locations = [(e["locations"][0]["line"], e["locations"][0]["column"]) for e in body["errors"]]
        assert locations == sorted(locations), "errors in document order"


async def test_a_node_of_nothing_is_null_and_compiled(compiled_app: Api) -> None:
    before = _counter("compiled")
    data = await compiled_app.data('{ node(id: "TXVuaWNpcGFsaXR5OkdNOTk5OQ==") { id } }')
    assert data == {"node": None}
    assert _counter("compiled") - before == 1


async def test_include_and_skip_compile(compiled_app: Api, resolver_app: Api) -> None:
    """@include/@skip, by literals and variables, on fields, inline fragments and spreads: compiled (the plan
    for each outcome of the directives), and answered as the resolvers do."""
    query = """query($yes: Boolean!, $no: Boolean = false) {
      municipalities(first: 2) { nodes { code @include(if: $yes) name @skip(if: $no)
        ... on Node @include(if: $no) { id } ...M @skip(if: true) } }
      a: municipality(code: "GM0879") @skip(if: $yes) { code } }
    fragment M on Municipality { province }"""
    for yes in (True, False):
        before = _counter("compiled")
        found, answer = await differences(compiled_app, resolver_app, query, {"yes": yes})
        assert not found, found
        assert list(json.loads(answer)["data"]) == (["municipalities"] if yes else ["municipalities", "a"])
        assert _counter("compiled") - before == (2 if yes else 4)  # each root, in the answer and its repeat
