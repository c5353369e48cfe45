"""Fuzzing the live API: generated operations and random variables against a real server, on both databases.

A real ``veerkracht serve`` process per backend, in production mode, gets operations that hypothesis-graphql
builds from the schema (valid ones, and ones with a single schema violation) and operations whose variables
are random and often of the wrong type. Whatever it is sent, the service must answer: no 5xx, no hang, a
GraphQL body in which every error has a code, never ``INTERNAL_SERVER_ERROR``, and no message that gives
away SQL, a traceback or a Python exception. The example-based tests at the end are regressions of what it
found.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from schema import api_sdl
from schema.errors import (
    BAD_USER_INPUT,
    FORBIDDEN,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    NOT_FOUND,
    OUTSIDE_PROVINCE,
    UNAUTHENTICATED,
)
from schema.limits import QUERY_TOO_COSTLY
from tests.databases import DatabaseFactory
from tests.differential import FOUND
from tests.servers import ROOT, Server, servers
from tests.sources import SOURCES

SDL = api_sdl()
SCHEMA = graphql.build_schema(SDL)
TIMEOUT = 20.0
"""Seconds a request may take; a slower answer counts as a hang."""

ENVIRONMENT = {
    # Production mode masks unexpected errors: what clients see in production is what is checked here.
    "VEERKRACHT_ENVIRONMENT": "production",
    # The fuzzer sends hundreds of costly operations a minute from one address; rate limiting is not
    # what is under test.
    "VEERKRACHT_RATE_LIMIT_PER_MINUTE": str(10**9),
    "VEERKRACHT_ANONYMOUS_RATE_LIMIT_PER_MINUTE": str(10**9),
}
ALLOWED_CODES = {
    BAD_USER_INPUT,
    NOT_FOUND,
    OUTSIDE_PROVINCE,
    UNAUTHENTICATED,
    FORBIDDEN,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    QUERY_TOO_COSTLY,
}
"""Codes a client may get for anything it sends: its own mistakes and the query limits."""

# What an error message must never contain: signs of an exception that escaped unmasked.
LEAKS = (
    "Traceback",
    'File "',
    "[SQL:",
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "DELETE ",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "sqlite3",
    "NoneType",
    "object has no attribute",
)
EXCEPTION_NAME = re.compile(r"\b(?:[A-Z][A-Za-z]*(?:Error|Exception)|KeyError|StopIteration)\b")

# Examples per test and backend: about 500 requests per backend, which with the two servers' start-up and
# the regression tests takes about a minute per backend on an idle 2-core machine. VEERKRACHT_FUZZ_SCALE
# multiplies them for a longer hunt (VEERKRACHT_FUZZ_SCALE=10 pytest tests/test_fuzz.py).
SCALE = float(os.environ.get("VEERKRACHT_FUZZ_SCALE", "1"))
QUERIES = round(150 * SCALE)
INVALID_QUERIES = round(40 * SCALE)
QUERY_VARIABLES = round(150 * SCALE)
MUTATIONS = round(80 * SCALE)
MUTATION_VARIABLES = round(80 * SCALE)

FUZZ = settings(
    deadline=None,  # a request to a real server takes what it takes; a hang is caught by TIMEOUT
    database=None,  # nothing saved between runs: a failure prints its operation and a reproduce blob
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# ------------------------------------------------------------------------------------------ live servers


class ServerLog:
    """The server's log (tests/servers.py collects its stderr), to show what it logged about a masked error."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def about(self, text: str) -> str:
        """What was logged about ``text`` (an error id): the lines that mention it and, for a traceback
        logged as text, the lines that follow them."""
        lines = list(self.server.lines)
        shown = [i + j for i, line in enumerate(lines) if text in line for j in range(40)]
        return "".join(lines[i] for i in sorted(set(shown)) if i < len(lines))[:8000]


@dataclass
class Live:
    """A running server and an HTTP client for it."""

    backend: str
    server: Server
    client: httpx.Client
    log: ServerLog
    token: str | None = None

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send an operation; check the answer (see :func:`check`) and return its body."""
        # Serialised here, ASCII only, so that lone surrogates in variables travel as JSON escapes.
        payload = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
        sent = f"{self.backend}: {query}\nvariables: {payload[:2000]}"
        if currently_in_test_context():  # the regression tests at the end send without Hypothesis
            note(sent)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.client.post(self.server.url, content=payload, headers=headers)
        except httpx.TimeoutException:
            raise AssertionError(f"no answer within {TIMEOUT:.0f} s (a hang) to {sent}") from None
        except httpx.TransportError as exc:
            state = "running" if self.server.process.poll() is None else "exited"
            raise AssertionError(f"{exc!r} (the server has {state}) on {sent}") from None
        return check(response, sent, self.log)


def check(response: httpx.Response, sent: str, log: ServerLog | None = None) -> dict[str, Any]:
    """Assert that ``response`` is a proper GraphQL answer without an unexpected or leaky error.

    For an internal error, what ``log`` says about its id is shown.
    """
    where = f"{sent}\n-> HTTP {response.status_code}: {response.text[:3000]}"
    assert response.status_code < 500, where
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"not JSON: {where}") from None
    assert isinstance(body, dict), where
    assert "data" in body or "errors" in body, where
    if "errors" in body:
        assert isinstance(body["errors"], list), where
        assert body["errors"], where
    else:
        assert isinstance(body["data"], dict), where
    # What the answers were, for --hypothesis-show-statistics: fuzzing that only ever hits one refusal
    # tests little.
    codes = sorted(
        {
            str((e.get("extensions") or {}).get("code"))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        }
    )
    if currently_in_test_context():
        event("answer", ", ".join(codes) or "data")
    for error in body.get("errors") or []:
        assert isinstance(error, dict), where
        message = error.get("message")
        assert isinstance(message, str), where
        code = (error.get("extensions") or {}).get("code")
        assert code, f"an error without extensions.code: {where}"
        for leak in LEAKS:
            assert leak not in message, f"{leak!r} in an error message: {where}"
        assert not EXCEPTION_NAME.search(message), f"an exception's name in an error message: {where}"
        error_id = str((error.get("extensions") or {}).get("errorId", ""))
        logged = log.about(error_id) if log is not None and error_id else ""
        assert code in ALLOWED_CODES, f"error code {code}: {where}\nthe server logged:\n{logged}"
    return body


def write_token(database_url: str) -> str:
    """A write token, made the way operators make one: with the CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "token", "create", "--name", "fuzzer", "--scope", "write"],
        cwd=ROOT, env={**os.environ, "VEERKRACHT_DATABASE_URL": database_url},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
async def reader(backend: str, databases: DatabaseFactory) -> AsyncIterator[Live]:
    """A server on an empty database of its own (``serve`` migrates and seeds it), for queries."""
    url = await databases.create(backend)
    with servers(url, env=ENVIRONMENT) as (server,), httpx.Client(timeout=TIMEOUT) as client:
        yield Live(backend, server, client, ServerLog(server))


@pytest.fixture(scope="module")
async def writer(backend: str, databases: DatabaseFactory) -> AsyncIterator[Live]:
    """A server on another database, for mutations with a write token: writes do not disturb the reads."""
    url = await databases.create(backend)
    with servers(url, env=ENVIRONMENT) as (server,), httpx.Client(timeout=TIMEOUT) as client:
        yield Live(backend, server, client, ServerLog(server), token=write_token(url))


# ------------------------------------------------------------------------------------------ values

# Keys of objects in the bundled dataset, so that some generated ids and arguments hit real rows.
KNOWN_KEYS = {
    "Municipality": ["GM0879", "GM0738", "GM1959", "GM1723"],
    "Organization": ["b5", "m7", "regio-west-brabant"],
    "Initiative": ["pilot-altena", "veerkrachtdialoog"],
    "Fusion": ["1", "2"],
    "Involvement": ["1", "2", "3"],
    "SourceDocument": ["memo-vsv-2019-04-04"],
}
TYPE_NAMES = [*KNOWN_KEYS, "Change", "Participant", "Nope", "", "initiative"]
JUNK_KEYS = [
    "0", "-1", "007", "1.5", "1e3", "²", "١", "１２", "2147483647", "2147483648", "9223372036854775808",
    "99999999999999999999999999", "", " ", "\x00", "a\x00b", "\ud800", "GM0879\n", "GM٠٨٧٩", "gm0879",
    "PILOT-ALTENA", "pilot-altena\n", "%", "_", "b%", "\\", "' or '1'='1", "1; drop table initiative --",
    "🙂", "a" * 1000,
]  # fmt: skip
JUNK_TEXT = [
    *JUNK_KEYS, "null", "true", "{}", "[]", "https://example.org/" + "a" * 600, "https://", "javascript:x",
    "ß" * 150, "㎯" * 200, "x" * 20_000, "\t\n", "\u200b", "‮rtl",
]  # fmt: skip
INVALID_DATES = [
    "", "nope", "2020-13-01", "2020-02-30", "0000-01-01", "10000-01-01", "-2020-01-01", "2020-1-1",
    "20200101", "2020-W01-1", "2019-01-01T00:00:00", "\x00", "٢٠٢٠-٠١-٠١",
]  # fmt: skip


def _b64(text: str, *, url_safe: bool = False) -> str:
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate makes bytes that are not UTF-8: fine
    encoded = base64.urlsafe_b64encode(raw) if url_safe else base64.b64encode(raw)
    return encoded.decode()


T = TypeVar("T")


def mostly(common: st.SearchStrategy[T], rare: st.SearchStrategy[T], one_in: int = 5) -> st.SearchStrategy[T]:
    """``common``, and once in ``one_in`` draws ``rare``: junk everywhere would stop most operations at their
    first argument, and the resolvers behind it would never run."""
    return st.integers(0, one_in - 1).flatmap(lambda n: rare if n == 0 else common)


known_keys = st.sampled_from(sorted({key for keys in KNOWN_KEYS.values() for key in keys}))
keys = mostly(known_keys, st.sampled_from(JUNK_KEYS), one_in=2)
known_ids = st.sampled_from([_b64(f"{t}:{k}") for t, ks in KNOWN_KEYS.items() for k in ks])
global_ids = mostly(known_ids, st.builds(lambda t, k: _b64(f"{t}:{k}"), st.sampled_from(TYPE_NAMES), keys))
cursors = st.builds(
    lambda version, type_name, key: _b64(f"{version}:{type_name}:{key}", url_safe=True).rstrip("="),
    st.sampled_from(["c1", "c1", "c0", ""]),
    st.sampled_from(TYPE_NAMES),
    keys,
)
texts = mostly(
    st.one_of(
        known_keys,
        st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,8}){0,2}", fullmatch=True),  # a slug, perhaps new
        st.from_regex(r"GM[0-9]{4}", fullmatch=True),
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30),
    ),
    st.one_of(
        st.sampled_from(JUNK_TEXT),
        cursors,
        st.text(max_size=30),
        st.text(st.characters(categories=["Cs", "Cc", "Zs", "Nd"]), max_size=5),
    ),
    one_in=3,
)
SURROGATES = re.compile("[\ud800-\udfff]")
ids = mostly(global_ids, texts)
ints = st.one_of(
    st.sampled_from([-(2**31), -1, 0, 1, 2, 50, 99, 100, 101, 999, 1000, 1001, 2**31 - 1]),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
dates = mostly(st.dates().map(lambda day: day.isoformat()), st.sampled_from(INVALID_DATES), one_in=3)
# Representations mostly name an entity type; some are malformed (another type, none, not an object).
representations = mostly(
    st.fixed_dictionaries(
        {"__typename": st.sampled_from(["Initiative", "Municipality", "Organization"])},
        optional={"slug": texts | st.integers(), "code": texts | st.none(), "id": ids, "name": st.integers()},
    ),
    st.one_of(
        st.fixed_dictionaries({"__typename": st.sampled_from(["Fusion", "Nope", ""])}),
        st.just({}),
        st.booleans(),
        st.integers(),
    ),
    one_in=5,
)
wrong = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
"""Any JSON at all: what a careless client sends for a variable."""

SCALAR_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "ID": ids,
    "String": texts,
    "Int": ints,
    "Boolean": st.booleans(),
    "Date": dates,
    "_Any": representations,
}
"""Values for variables of each scalar type."""


def _literal(value: Any) -> graphql.ValueNode:
    """A GraphQL literal for a JSON value (for hypothesis-graphql's ``custom_scalars``)."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_literal(item) for item in value])
    assert isinstance(value, dict), value
    # Keys that are not GraphQL names cannot be written as a literal: left out.
    names = {key: item for key, item in value.items() if re.fullmatch(r"[_A-Za-z][_0-9A-Za-z]*", key)}
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=_literal(item))
            for key, item in names.items()
        ]
    )


# hypothesis-graphql takes these for the built-in scalars too, so ids, strings and ints get the junk above
# rather than only random text; Date gets valid and invalid strings, _Any entity representations.
# A surrogate in a string literal only makes the document fail to parse (variables carry them instead).
CUSTOM_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "ID": ids.map(lambda text: nodes.String(SURROGATES.sub("?", text))),
    "String": texts.map(lambda text: nodes.String(SURROGATES.sub("?", text))),
    "Int": (ints | st.sampled_from([2**31, -(2**31) - 1, 10**20])).map(nodes.Int),
    "Date": dates.map(nodes.String),
    "_Any": representations.map(_literal),
}


def values_of(type_: graphql.GraphQLInputType) -> st.SearchStrategy[Any]:
    """JSON values for a variable of ``type_``: mostly of that type, with junk in its strings, numbers and
    ids; sometimes null, or of another type altogether."""
    if graphql.get_named_type(type_).name == "_Any":  # see `representations`
        return _proper(type_)
    if isinstance(type_, graphql.GraphQLNonNull):
        return mostly(_proper(type_.of_type), wrong, one_in=10)
    return mostly(mostly(_proper(type_), st.none(), one_in=4), wrong, one_in=10)


def _proper(type_: graphql.GraphQLInputType) -> st.SearchStrategy[Any]:
    if isinstance(type_, graphql.GraphQLNonNull):
        return _proper(type_.of_type)
    if isinstance(type_, graphql.GraphQLList):
        item = values_of(type_.of_type)
        return mostly(st.lists(item, max_size=4), item)  # a single value is coerced to a list of one
    if isinstance(type_, graphql.GraphQLEnumType):
        return mostly(st.sampled_from(list(type_.values)), st.sampled_from(["NOPE", "", "partner"]), 10)
    if isinstance(type_, graphql.GraphQLInputObjectType):
        required = {n: _proper(f.type) for n, f in type_.fields.items() if graphql.is_required_input_field(f)}
        optional = {n: values_of(f.type) for n, f in type_.fields.items() if n not in required}
        objects = st.fixed_dictionaries(required, optional=optional)
        return mostly(objects, objects.map(lambda value: {**value, "unknownField": 1}), one_in=10)
    assert isinstance(type_, graphql.GraphQLScalarType), type_
    return SCALAR_VALUES.get(type_.name, wrong)


# ------------------------------------------------------------------------------------------ operations


def selection(type_: graphql.GraphQLOutputType, depth: int = 3) -> str:
    """A selection of every field without arguments, ``depth`` levels down (nothing for a leaf)."""
    named = graphql.get_named_type(type_)
    if isinstance(named, graphql.GraphQLScalarType | graphql.GraphQLEnumType):
        return ""
    if depth == 0 or isinstance(named, graphql.GraphQLUnionType):
        return "{ __typename }"
    assert isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
    fields = [
        f"{name} {selection(field.type, depth - 1)}".strip()
        for name, field in named.fields.items()
        if not field.args
    ]
    return "{ __typename " + " ".join(fields) + " }"


@dataclass(frozen=True)
class Operation:
    """An operation that passes every argument of one field as a variable."""

    document: str
    variables: dict[str, graphql.GraphQLInputType]

    def variable_values(self) -> st.SearchStrategy[dict[str, Any]]:
        """Values for the variables; now and then some are left out."""
        values = {name: values_of(type_) for name, type_ in self.variables.items()}
        return mostly(st.fixed_dictionaries(values), st.fixed_dictionaries({}, optional=values))


def _with_variables(
    keyword: str, field_name: str, field: graphql.GraphQLField, reached_through: str = ""
) -> Operation:
    variables = {name: argument.type for name, argument in field.args.items()}
    declared = ", ".join(f"${name}: {type_}" for name, type_ in variables.items())
    passed = ", ".join(f"{name}: ${name}" for name in variables)
    inner = f"{field_name}({passed}) {selection(field.type)}"
    if reached_through:
        inner = f"{reached_through}(first: 3) {{ nodes {{ {inner} }} }}"
    return Operation(f"{keyword} Fuzz({declared}) {{ {inner} }}", variables)


def operations_with_variables(keyword: str) -> list[Operation]:
    """For every field with arguments, of the root type and of the types the root lists, an operation that
    passes its arguments as variables (a nested field is reached through the first items of its list)."""
    root = SCHEMA.query_type if keyword == "query" else SCHEMA.mutation_type
    assert root is not None
    found = [_with_variables(keyword, name, field) for name, field in root.fields.items() if field.args]
    if keyword == "query":
        for list_name, list_field in root.fields.items():
            connection = graphql.get_named_type(list_field.type)
            if not isinstance(connection, graphql.GraphQLObjectType) or "nodes" not in connection.fields:
                continue
            item = graphql.get_named_type(connection.fields["nodes"].type)
            assert isinstance(item, graphql.GraphQLObjectType)
            found += [
                _with_variables(keyword, name, field, reached_through=list_name)
                for name, field in item.fields.items()
                if field.args
            ]
    return found


QUERY_OPERATIONS = operations_with_variables("query")
MUTATION_OPERATIONS = operations_with_variables("mutation")


def operation_and_variables(operations: list[Operation]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.one_of(
        [st.tuples(st.just(operation.document), operation.variable_values()) for operation in operations]
    )


# ------------------------------------------------------------------------------------------ the fuzz tests


def _seeded(test: Any) -> Any:
    """The documents tests/test_differential.py found answered wrongly (issue #15) as explicit examples:
    fragments on unions, partial pageInfo selections, several errors, a Fusion's cursor under a list."""
    for document in FOUND:
        test = example(query=document)(test)
    return test


@settings(FUZZ, max_examples=QUERIES)
@given(query=queries(SDL, custom_scalars=CUSTOM_SCALARS))
@_seeded
def test_generated_queries(reader: Live, query: str) -> None:
    """Valid queries of any shape, with junk in their arguments: answered, never with an internal error."""
    reader.post(query)


@settings(FUZZ, max_examples=INVALID_QUERIES)
@given(query=queries(SDL, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE))
def test_invalid_queries_are_refused(reader: Live, query: str) -> None:
    """Queries with one schema violation (wrong type, missing argument, unknown enum value) are refused
    as the client's mistake."""
    body = reader.post(query)
    assert body.get("errors"), body


@settings(FUZZ, max_examples=QUERY_VARIABLES)
@given(operation=operation_and_variables(QUERY_OPERATIONS))
def test_queries_with_random_variables(reader: Live, operation: tuple[str, dict[str, Any]]) -> None:
    """Every argument of every query field, passed as a variable with a random value of any type."""
    reader.post(*operation)


@settings(FUZZ, max_examples=MUTATIONS)
@given(mutation=mutations(SDL, custom_scalars=CUSTOM_SCALARS))
def test_generated_mutations(writer: Live, mutation: str) -> None:
    """Mutations of any shape with a write token: done, or refused with UserErrors or a coded error."""
    writer.post(mutation)


@settings(FUZZ, max_examples=MUTATION_VARIABLES)
@given(operation=operation_and_variables(MUTATION_OPERATIONS))
def test_mutations_with_random_variables(writer: Live, operation: tuple[str, dict[str, Any]]) -> None:
    """Every mutation with its input as a variable holding random values of any type."""
    writer.post(*operation)


# --------------------------------------------------------------------- shapes that cost (issue 11)

SHAPES = round(40 * SCALE)
FAST = 5.0
"""Seconds within which a document of any shape is answered or refused (the fragment bomb took 29 s)."""
LEAVES = [
    "__typename",
    "municipalities(first: 2) { totalCount }",
    "initiatives(first: 100) { nodes { involvements(first: 100) { totalCount } } }",
    "a: __typename",
    "__schema { types { name } }",
]


@st.composite
def fragment_fan_out(draw: st.DrawFn) -> str:
    """A chain of fragments, each spreading the next one ``fan_out`` times (2**levels expanded at 2)."""
    levels = draw(st.integers(1, 60))
    fan_out = draw(st.integers(1, 4))
    leaf = draw(st.sampled_from(LEAVES))
    inline = draw(st.booleans())
    spreads = []
    for level in range(levels):
        inner = " ".join([f"...F{level + 1}"] * fan_out)
        if inline:  # through an inline fragment on the union, as a gateway's query would
            inner = f"... on Query {{ {inner} }}"
        spreads.append(f"fragment F{level} on Query {{ {inner} }}")
    return f"query Fan {{ ...F0 }} {' '.join(spreads)} fragment F{levels} on Query {{ {leaf} }}"


@st.composite
def long_id_lists(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``nodes(ids:)`` or ``_entities(representations:)`` with up to 400 items, real ones and junk."""
    count = draw(st.sampled_from([0, 1, 99, 100, 101, 400]))
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(KNOWN_KEYS["Municipality"] + JUNK_KEYS[:5]), min_size=1))
        ids = [gid(f"Municipality:{keys[i % len(keys)]}") for i in range(count)]
        query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Municipality { involvements(first: 100) { totalCount } } } }"
        return query, {"ids": ids}
    representations = [{"__typename": "Municipality", "code": "GM0879"}] * count
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Municipality { name } } }"
    return query, {"r": representations}


def _nest(depth: int, leaf: Any, kind: str) -> str:
    inner = json.dumps(leaf)
    opening, closing = ("[", "]") if kind == "list" else ('{"a":', "}")
    return opening * depth + inner + closing * depth


@settings(FUZZ, max_examples=SHAPES)
@given(query=fragment_fan_out())
def test_fragment_fan_out_is_answered_or_refused_quickly(reader: Live, query: str) -> None:
    started = time.monotonic()
    body = reader.post(query)
    assert time.monotonic() - started < FAST, query[:200]
    if "data" in body and body["data"] is not None:
        assert body["extensions"]["cost"]["requested"] >= 1


@settings(FUZZ, max_examples=SHAPES)
@given(operation=long_id_lists())
def test_long_id_lists_are_counted_and_capped(reader: Live, operation: tuple[str, dict[str, Any]]) -> None:
    query, variables = operation
    count = len(next(iter(variables.values())))
    body = reader.post(query, variables)
    if count > 100:
        assert body["errors"][0]["extensions"]["code"] == BAD_USER_INPUT
    else:
        assert body["extensions"]["cost"]["requested"] >= 1 + count


@settings(FUZZ, max_examples=SHAPES)
@given(
    depth=st.integers(0, 3000), kind=st.sampled_from(["list", "object"]), leaf=st.sampled_from([1, "x", None])
)
def test_deep_variables_are_refused_clearly(reader: Live, depth: int, kind: str, leaf: Any) -> None:
    """Variables nested up to 3,000 deep: a 400 saying so above 64 levels, a GraphQL answer below."""
    deep = _nest(depth, leaf, kind)
    payload = (
        '{"query": "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", "variables": {"r": ['
        + deep
        + "]}}"
    )
    note(f"{reader.backend}: depth {depth} {kind}")
    response = reader.client.post(
        reader.server.url, content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.text[:500]
    if depth + 3 > 64:  # the body's object, the variables object and the list around the value count too
        assert response.status_code == 400, response.text[:500]
        assert "nested more than 64 levels deep" in response.text
    else:
        check(response, payload[:300], reader.log)


# ------------------------------------------------------------------------------------------ regressions


def cursor(text: str) -> str:
    """A cursor as this API makes them, around any text."""
    return _b64(text, url_safe=True).rstrip("=")


def gid(text: str) -> str:
    """A global id around any text."""
    return _b64(text)


@pytest.mark.parametrize(
    ("query", "variables", "argument", "words"),
    [
        # A cursor's key beyond INTEGER made PostgreSQL refuse the statement, and SQLite's driver the
        # parameter; a key in other digits ("²") passed str.isdigit() and failed int().
        ("query($c: String) { fusions(after: $c) { totalCount } }", {"c": cursor("c1:Fusion:99999999999999999999")}, "after", "geen cursor"),
        ("query($c: String) { fusions(after: $c) { totalCount } }", {"c": cursor("c1:Fusion:²")}, "after", "geen cursor"),
        ("query($c: String) { changes(after: $c) { nodes { sequence } } }", {"c": cursor("c1:Change:2147483648")}, "after", "geen cursor"),
        # PostgreSQL refuses a NUL in text, and no driver can encode an unpaired surrogate: the lookups failed.
        ('{ initiative(slug: "pilot\\u0000altena") { name } }', None, "slug", "pilot\\x00altena"),
        ("query($s: String!) { organization(slug: $s) { name } }", {"s": "b5\ud800"}, "slug", "b5\\ud800"),
        ('{ municipalities(filter: {regionSlug: "b5\\u0000"}) { totalCount } }', None, "filter.regionSlug", "b5"),
        ('{ involvements(filter: {initiativeSlug: "\\u0000"}) { totalCount } }', None, "filter.initiativeSlug", "geen initiatief"),
        ("query($s: String) { initiatives(filter: {organizationSlug: $s}) { totalCount } }", {"s": "\udfff"}, "filter.organizationSlug", "geen organisatie"),
        # `^GM\d{4}$` took a trailing newline and any script's digits for a CBS code.
        ('{ municipality(code: "GM0879\\n") { name } }', None, "code", "CBS-gemeentecode"),
        ('{ municipality(code: "GM٠٨٧٩") { name } }', None, "code", "CBS-gemeentecode"),
        # A condition per word: thousands of words overflowed SQLite's expression depth.
        (f'{{ initiatives(filter: {{search: "{" ".join(["brabant"] * 5 + [f"w{i}" for i in range(20)])}"}}) {{ totalCount }} }}', None, "filter.search", "hoogstens 20 woorden"),
        # Interfaces are Node types to Strawberry's relay, which then called their missing resolve_nodes.
        (f'{{ node(id: "{gid("Participant:b5")}") {{ id }} }}', None, "id", "interface"),
        (f'{{ node(id: "{gid("Node:1")}") {{ id }} }}', None, "id", "interface"),
        (f'{{ nodes(ids: ["{gid("Fusion:1")}", "{gid("Participant:GM0879")}"]) {{ id }} }}', None, "ids", "interface"),
        # A representation's key of the wrong type reached the database (PostgreSQL refused an int for text).
        ("query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", {"r": [{"__typename": "Initiative", "slug": 5}]}, "representations", "`slug`, a string"),
        ("query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", {"r": [{"__typename": "Municipality"}]}, "representations", "`code`, a string"),
    ],
)  # fmt: skip
def test_bad_arguments_found_by_fuzzing(
    reader: Live, query: str, variables: dict[str, Any] | None, argument: str, words: str
) -> None:
    """Arguments that used to crash a resolver now get an error that names them (tests/test_bad_input.py's
    style)."""
    body = reader.post(query, variables)
    (error,) = body["errors"]
    assert error["extensions"]["code"] in {BAD_USER_INPUT, NOT_FOUND}, error
    assert error["extensions"]["argument"] == argument, error
    assert words in error["message"], error


@pytest.mark.parametrize(
    "node_id",
    [
        gid("Fusion:²"),  # str.isdigit() but not int()
        gid("Fusion:99999999999999999999"),  # beyond INTEGER
        gid("Involvement:2147483648"),
        gid("Initiative:pilot-altena\x00"),  # PostgreSQL refuses NUL in text
        gid("SourceDocument:\x00"),
        gid("Municipality:GM0879\x00"),
    ],
)
def test_ids_no_object_can_have_match_nothing(reader: Live, node_id: str) -> None:
    """Ids whose key no row can have are not sent to the database (which refused them): they match
    nothing, like any id of an object that does not exist."""
    body = reader.post("query($id: ID!) { node(id: $id) { id } }", {"id": node_id})
    assert "errors" not in body, body
    assert body["data"] == {"node": None}


def test_long_lists_in_variables(reader: Live) -> None:
    """A list of ids is capped (max_list_length, 100: issue 11; 33,000 ids ran for seconds before); a
    filter's list may hold more values than a statement may have parameters (32,767 on PostgreSQL and in
    SQLite): repeated filter values are dropped."""
    ids = [gid(f"Fusion:{key}") for key in range(33_000)]
    (error,) = reader.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})["errors"]
    assert error["extensions"] == {"code": BAD_USER_INPUT, "argument": "ids"}
    body = reader.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids[:100]})
    found = [node["id"] for node in body["data"]["nodes"] if node is not None]
    assert found == ids[1:7]  # the six fusions of the dataset
    query = "query($r: [PartnerRole!], $k: [InitiativeKind!]) { initiatives(filter: {roles: $r, kinds: $k}) { totalCount } }"
    once = reader.post(query, {"r": ["PARTNER"], "k": ["PILOT"]})["data"]
    repeated = reader.post(query, {"r": ["PARTNER"] * 33_000, "k": ["PILOT"] * 33_000})["data"]
    assert repeated == once


def test_entity_representations_may_hold_more_than_their_key(reader: Live) -> None:
    """A gateway may send fields besides the key (for ``@requires``): they are ignored, not a crash."""
    body = reader.post(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Initiative { name } } }",
        {"r": [{"__typename": "Initiative", "slug": "pilot-altena", "name": "ignored", "extra": [1]}]},
    )
    assert body["data"] == {"_entities": [{"name": "Pilot Altena"}]}


CREATE_INITIATIVE = "mutation($input: CreateInitiativeInput!) { createInitiative(input: $input) { initiative { id } errors { field message code } } }"
CREATE_ORGANIZATION = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } errors { field message code } } }"
RECORD_FUSION = "mutation($input: RecordFusionInput!) { recordFusion(input: $input) { fusion { id } errors { field message code } } }"
ADD_INVOLVEMENT = "mutation($input: AddInvolvementInput!) { addInvolvement(input: $input) { involvement { id } errors { field message code } } }"
DELETE_INITIATIVE = (
    "mutation($id: ID!) { deleteInitiative(id: $id) { deletedId errors { field message code } } }"
)
REMOVE_INVOLVEMENT = (
    "mutation($id: ID!) { removeInvolvement(id: $id) { deletedId errors { field message code } } }"
)
INITIATIVE = {"slug": "fuzz-regression", "name": "Fuzz", "kind": "PILOT", "summary": "A regression.", "sources": SOURCES}  # fmt: skip
ORGANIZATION = {"slug": "fuzz-regression", "name": "Fuzz", "kind": "OTHER", "sources": SOURCES}
SPLIT = {"name": "Fuzz", "kind": "SPLIT", "effectiveOn": "2030-01-01", "dissolvedCodes": ["GM0879"], "resultingCodes": ["GM9999"], "sources": SOURCES}  # fmt: skip


@pytest.mark.parametrize(
    ("mutation", "variables", "field", "code"),
    [
        # `$` matched before a final newline: "fuzz-regression\n" was stored as a slug.
        (CREATE_INITIATIVE, {"input": {**INITIATIVE, "slug": "fuzz-regression\n"}}, ["input", "slug"], "INVALID"),
        # NUL and unpaired surrogates were written, and PostgreSQL (or the driver) refused the statement.
        (CREATE_INITIATIVE, {"input": {**INITIATIVE, "name": "Fuzz\x00"}}, ["input", "name"], "INVALID"),
        (CREATE_INITIATIVE, {"input": {**INITIATIVE, "summary": "\ud800"}}, ["input", "summary"], "INVALID"),
        (CREATE_INITIATIVE, {"input": {**INITIATIVE, "crossOverThemes": ["Water\x00"]}}, ["input", "crossOverThemes", "0"], "INVALID"),
        (CREATE_ORGANIZATION, {"input": {**ORGANIZATION, "slug": "fuzz\x00"}}, ["input", "slug"], "INVALID"),
        (RECORD_FUSION, {"input": {**SPLIT, "name": "Fuzz\x00"}}, ["input", "name"], "INVALID"),
        # Folding spells symbols out ("㎯" is "rads2"): the folded form overflowed its column on PostgreSQL.
        (CREATE_INITIATIVE, {"input": {**INITIATIVE, "crossOverThemes": ["㎯" * 50]}}, ["input", "crossOverThemes", "0"], "INVALID"),
        (CREATE_ORGANIZATION, {"input": {**ORGANIZATION, "name": "㎯" * 100}}, ["input", "name"], "INVALID"),
        (RECORD_FUSION, {"input": {**SPLIT, "kind": "MERGER", "resultingName": "㎯" * 100}}, ["input", "resultingName"], "INVALID"),
        # A website longer than its column (500) overflowed it on PostgreSQL.
        (CREATE_ORGANIZATION, {"input": {**ORGANIZATION, "website": "https://example.org/" + "a" * 500}}, ["input", "website"], "INVALID"),
        # Every listed theme or code is a statement parameter.
        (CREATE_INITIATIVE, {"input": {**INITIATIVE, "crossOverThemes": [f"t{i}" for i in range(101)]}}, ["input", "crossOverThemes"], "INVALID"),
        (RECORD_FUSION, {"input": {**SPLIT, "resultingCodes": [f"GM{i:04}" for i in range(101)]}}, ["input", "resultingCodes"], "INVALID"),
        (RECORD_FUSION, {"input": {**SPLIT, "dissolvedCodes": ["GM0879\n"]}}, ["input", "dissolvedCodes", "0"], "INVALID"),
        # `effectiveOn - 1 day` overflowed on 0001-01-01.
        (RECORD_FUSION, {"input": {**SPLIT, "effectiveOn": "0001-01-01"}}, ["input", "resultingCodes", "0"], "NOT_FOUND"),
        # Ids whose key no row can have reached the database, or int().
        (DELETE_INITIATIVE, {"id": gid("Initiative:fuzz\x00")}, ["id"], "NOT_FOUND"),
        (REMOVE_INVOLVEMENT, {"id": gid("Involvement:99999999999")}, ["id"], "NOT_FOUND"),
        (REMOVE_INVOLVEMENT, {"id": gid("Involvement:²")}, ["id"], "NOT_FOUND"),
        (ADD_INVOLVEMENT, {"input": {"initiativeId": gid("Initiative:pilot-altena"), "participantId": gid("Municipality:GM0879\x00"), "role": "PARTNER", "sources": SOURCES}}, ["input", "participantId"], "NOT_FOUND"),
        # Citations: text the databases cannot hold, and ids no document can have, are refused before a statement.
        (CREATE_INITIATIVE, {"input": {**INITIATIVE, "sources": [{"documentId": SOURCES[0]["documentId"], "quote": "De\x00"}]}}, ["input", "sources", "0", "quote"], "INVALID"),
        (CREATE_INITIATIVE, {"input": {**INITIATIVE, "sources": [{"documentId": gid("SourceDocument:\x00"), "quote": "De"}]}}, ["input", "sources", "0", "documentId"], "NOT_FOUND"),
        (CREATE_ORGANIZATION, {"input": {**ORGANIZATION, "sources": [{"newDocument": {"title": "\ud800", "url": "https://example.org/", "date": "2026-01-01"}, "quote": "x"}]}}, ["input", "sources", "0", "newDocument", "title"], "INVALID"),
        (CREATE_ORGANIZATION, {"input": {**ORGANIZATION, "sources": [{"newDocument": {"title": "T", "url": "https://example.org/\x00", "date": "2026-01-01"}, "quote": "x"}]}}, ["input", "sources", "0", "newDocument", "url"], "INVALID"),
    ],
)  # fmt: skip
def test_bad_input_found_by_fuzzing(
    writer: Live, mutation: str, variables: dict[str, Any], field: list[str], code: str
) -> None:
    """Mutation input that used to crash a write is refused with a UserError on the field at fault, and
    nothing is written."""
    (payload,) = writer.post(mutation, variables)["data"].values()
    assert code in {error["code"] for error in payload["errors"] if error["field"] == field}, payload
    assert all(value is None for key, value in payload.items() if key != "errors"), payload


def test_a_first_variable_left_out_means_the_default(reader: Live) -> None:
    """A nullable variable that is not sent is simply absent: `first` takes its default (the cost limit
    used to call int() on the missing value)."""
    body = reader.post("query($first: Int) { fusions(first: $first) { totalCount } }", {})
    assert "errors" not in body, body
    assert body["data"] == {"fusions": {"totalCount": 6}}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($d: Date) { municipalities(filter: {activeOn: $d}) { totalCount } }", {"d": "2020-13-01"}),
        ("query($f: MunicipalityFilter) { municipalities(filter: $f) { totalCount } }", {"f": {"nope": 1}}),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [[1]]}),
        ("query($first: Int) { fusions(first: $first) { totalCount } }", {"first": "ten"}),
    ],
)
def test_a_variable_that_does_not_coerce_is_the_clients_mistake(
    reader: Live, query: str, variables: dict[str, Any]
) -> None:
    """A variable of the wrong type is the client's mistake, not an internal error (it used to be one)."""
    (error,) = reader.post(query, variables)["errors"]
    assert error["extensions"]["code"] == BAD_USER_INPUT, error
    assert "$" in error["message"], error


# ------------------------------------------------------------------------------------------ regressions
# Found by the fuzzer outside the resolvers: Strawberry's entities resolver, and encoding the answer.


@pytest.mark.parametrize(
    "representation",
    [False, {}, {"__typename": "Nope"}, {"__typename": "Fusion", "id": "1"}],
)
def test_malformed_entity_representations_are_refused(reader: Live, representation: Any) -> None:
    """A representation must be an object naming an entity type (Initiative, Municipality, Organization)."""
    body = reader.post(
        "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", {"r": [representation]}
    )
    (error,) = body["errors"]
    assert error["extensions"] == {"code": BAD_USER_INPUT, "argument": "representations"}, error


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "\ud800"}),
        (
            "query($d: Date) { municipalities(filter: {activeOn: $d}) { totalCount } }",
            {"d": "2020-01-0\udc00"},
        ),
    ],
)
def test_a_lone_surrogate_in_an_id_or_a_date_is_answered(
    reader: Live, query: str, variables: dict[str, Any]
) -> None:
    """JSON can carry an unpaired surrogate as an escape; the answer must still be JSON."""
    (error,) = reader.post(query, variables)["errors"]
    assert error["extensions"]["code"] == BAD_USER_INPUT, error
