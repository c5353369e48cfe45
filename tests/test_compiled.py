"""Compiled reads (schema/compiled): the same answers as the resolvers, in one statement per root field."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import IntValueNode, StringValueNode, Visitor, parse, print_ast, visit
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries
from prometheus_client import REGISTRY

from schema import api_sdl
from tests.conftest import Api, _api

Pair = tuple[Api, Api]

MUNICIPALITY_FIELDS = "id code name province foundedOn dissolvedOn __typename"
INVOLVEMENT_FIELDS = """role description version updatedAt id
  initiative { id slug name kind status summary }
  participant { id name __typename ... on Municipality { code } ... on Organization { slug } }"""
BENCH = f"""query($first: Int, $after: String, $filter: MunicipalityFilter) {{
  municipalities(first: $first, after: $after, filter: $filter) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {MUNICIPALITY_FIELDS} involvements(first: 5) {{ totalCount nodes {{ {INVOLVEMENT_FIELDS} }} }} }} }}
  }}
}}"""

CORPUS: list[tuple[str, dict[str, Any]]] = [
    # the benchmark's shapes
    (BENCH, {"first": 10}),
    (BENCH, {"first": 100}),
    (BENCH, {"first": 0}),
    (BENCH, {"first": 5, "filter": {"involved": True}}),
    (BENCH, {"filter": {"involved": False, "nameContains": "e"}}),
    (BENCH, {"filter": {"activeOn": "2018-12-31", "nameContains": "Aalburg"}}),
    (BENCH, {"filter": {"activeOn": "2019-01-01", "nameContains": "Aalburg"}}),
    (BENCH, {"filter": {"regionSlug": "b5"}}),
    (BENCH, {"filter": {"regionSlug": "b5", "involved": True, "nameContains": "breda"}}),
    (BENCH, {"filter": {"nameContains": "nowhere-at-all"}}),
    (f'{{ municipalities {{ nodes {{ {MUNICIPALITY_FIELDS} active a: active(on: "2018-01-01") }} }} }}', {}),
    (
        """{ m: municipalities(first: 2) { __typename tc: totalCount pi: pageInfo { __typename e: endCursor }
             edges { __typename c: cursor n: node { ...M ... on Municipality { code name } } }
             nodes { code } }
             municipalities(first: 1) { totalCount } }
           fragment M on Municipality { code x: name involvements(first: 1) { ...C } }
           fragment C on InvolvementConnection { totalCount edges { node { id } } }""",
        {},
    ),
    ('{ municipality(code: "GM0879") { ...on Participant { id name } code } }', {}),
    ('{ municipality(code: "GM1959") { name involvements { totalCount nodes { role } } } }', {}),
    (
        f"""{{ a: municipality(code: "GM0796") {{ {MUNICIPALITY_FIELDS}
              involvements(first: 2, filter: {{roles: [HOST, PARTNER]}}) {{ edges {{ cursor node {{ {INVOLVEMENT_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}
            b: municipality(code: "GM0738") {{ code dissolvedOn foundedOn active }} }}""",
        {},
    ),
    # initiatives
    (
        f"""query($f: InitiativeFilter, $first: Int) {{ initiatives(first: $first, filter: $f) {{
              totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
              nodes {{ id slug name kind status summary version updatedAt crossOverThemes __typename
                involvements {{ totalCount nodes {{ {INVOLVEMENT_FIELDS} }} }} }} }} }}""",
        {},
    ),
    ("query($s: String!) { initiatives(filter: {search: $s}) { nodes { slug } } }", {"s": "Sterk"}),
    ("query($s: String!) { initiatives(filter: {search: $s}) { nodes { slug } } }", {"s": "stérk"}),
    ("query($s: String!) { initiatives(filter: {search: $s}) { nodes { slug } } }", {"s": "STERK brabant"}),
    ('{ initiatives(filter: {search: "pilot altena"}) { nodes { slug } } }', {}),
    ('{ initiatives(filter: {search: "pilot nowhere"}) { totalCount } }', {}),
    ("{ initiatives(filter: {kinds: [PILOT]}) { totalCount nodes { slug } } }", {}),
    ("{ initiatives(filter: {statuses: [COMPLETED]}) { totalCount nodes { slug } } }", {}),
    ('{ initiatives(filter: {theme: "water"}) { totalCount nodes { slug } } }', {}),
    ('{ initiatives(filter: {theme: "bestuurlijke vernieuwing"}) { totalCount nodes { slug } } }', {}),
    ('{ initiatives(filter: {municipalityCode: "GM0855"}) { totalCount nodes { slug } } }', {}),
    (
        '{ initiatives(filter: {municipalityCode: "GM0855", roles: [HOST]}) { totalCount nodes { slug } } }',
        {},
    ),
    ('{ initiatives(filter: {organizationSlug: "pon"}) { totalCount nodes { slug } } }', {}),
    (
        '{ initiatives(filter: {organizationSlug: "stichting-zet", roles: [EXECUTOR, INITIATOR]}) { totalCount nodes { slug } } }',
        {},
    ),
    ("{ initiatives(filter: {roles: [OBSERVER]}) { totalCount nodes { slug } } }", {}),
    (
        '{ initiatives(filter: {kinds: [PILOT], municipalityCode: "GM0796"}) { totalCount nodes { slug } } }',
        {},
    ),
    ("{ initiatives(filter: {kinds: [], statuses: [ACTIVE, ACTIVE]}) { totalCount nodes { slug } } }", {}),
    (
        '{ initiative(slug: "pilot-altena") { id slug crossOverThemes involvements(first: 3) { totalCount } } }',
        {},
    ),
    # involvements
    (
        """query($f: InvolvementFilter) { involvements(first: 100, filter: $f) {
             totalCount nodes { role initiative { slug } participant { name } } } }""",
        {"f": {"roles": ["OBSERVER"]}},
    ),
    (
        """query($f: InvolvementFilter) { involvements(first: 100, filter: $f) {
             totalCount nodes { role initiative { slug } participant { name } } } }""",
        {"f": {"initiativeSlug": "veerkrachtdialoog"}},
    ),
    (
        """query($f: InvolvementFilter) { involvements(first: 100, filter: $f) {
             totalCount nodes { role initiative { slug } participant { name } } } }""",
        {"f": {"municipalityCode": "GM0794"}},
    ),
    (
        """query($f: InvolvementFilter) { involvements(first: 100, filter: $f) {
             totalCount nodes { role initiative { slug } participant { name } } } }""",
        {"f": {"initiativeSlug": "pilot-altena", "roles": ["EXPLORING"], "municipalityCode": "GM1991"}},
    ),
    (f"{{ involvements(first: 7) {{ edges {{ cursor node {{ {INVOLVEMENT_FIELDS} }} }} }} }}", {}),
    (
        '{ organization(slug: "stichting-zet") { involvements(filter: {roles: [DESIGNER]}) { totalCount } } }',
        {},
    ),
    # texts in Dutch (the default) and English; basis and its note (issue 12)
    (
        """query($lang: Language!) { initiatives(first: 100) { nodes { slug summary nl: summary(language: NL)
             en: summary(language: EN) sl: summary(language: $lang) basis basisNote
             noteEn: basisNote(language: EN)
             involvements(first: 100) { nodes { description dEn: description(language: EN)
               d: description(language: $lang) basis basisNote bEn: basisNote(language: $lang)
               initiative { summary(language: $lang) }
               participant { ... on Organization { description(language: $lang) basisNote } } } } } } }""",
        {"lang": "EN"},
    ),
    (
        """query($lang: Language!) { municipalities(first: 100) { nodes { code basis basisNote
             en: basisNote(language: EN) l: basisNote(language: $lang) } } }""",
        {"lang": "EN"},
    ),
    (
        """query($lang: Language!) { organizations(first: 100) { nodes { slug description
             en: description(language: EN) basis basisNote n: basisNote(language: $lang) membersAsOf } } }""",
        {"lang": "NL"},
    ),
    (
        """{ organization(slug: "dorpsraden-zundert") { basis basisNote en: basisNote(language: EN)
             description(language: EN) } initiative(slug: "pilot-altena") { status basis
             basisNote(language: EN) summary(language: EN) } }""",
        {},
    ),
    # organizations
    ("{ organizations(kind: PROVINCE) { nodes { slug website } } }", {}),
    (
        """{ organizations(first: 100) { totalCount nodes { id slug name kind website description version
             updatedAt __typename involvements(first: 2) { totalCount nodes { role } } } } }""",
        {},
    ),
    ("{ organizations(kind: REGIONAL_PARTNERSHIP) { totalCount nodes { slug name description } } }", {}),
    # test_relay.py
    (
        """{ municipalities(first: 3) { nodes { id __typename } }
             organizations(first: 3) { nodes { id __typename } }
             initiatives(first: 3) { nodes { id __typename sources { document { id __typename } } } }
             involvements(first: 3) { nodes { id __typename } }
             fusions(first: 3) { nodes { id __typename } } }""",
        {},
    ),
    ('{ municipality(code: "GM0879") { id code } }', {}),
    (
        """query($first: Int!, $after: String) { organizations(first: $first, after: $after) {
             totalCount edges { cursor node { slug } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }""",
        {"first": 4},
    ),
    # test_facts.py
    (
        """query { initiatives(first: 100) { totalCount nodes { slug name kind status crossOverThemes
             reportedFigures { value unit source { quote } }
             involvements(first: 100) { totalCount nodes { role description
               participant { __typename ... on Municipality { code } ... on Organization { slug } } } } } } }""",
        {},
    ),
    ('{ municipalities(filter: {nameContains: "Galderen"}) { totalCount } }', {}),
    (
        "query($day: Date!) { municipalities(first: 100, filter: {activeOn: $day}) { totalCount nodes { code } } }",
        {"day": "2021-06-01"},
    ),
    (
        """query($code: String!, $include: Boolean) { municipality(code: $code) {
             involvements(includePredecessors: $include) { totalCount
               nodes { role initiative { slug } participant { ... on Municipality { code } } } } } }""",
        {"code": "GM1959", "include": False},
    ),
    # who takes part on a day, across fusions (resolvers: the root field falls back)
    (
        """query($on: Date) { initiatives(first: 100) { nodes { slug participatingMunicipalityCount(on: $on)
             participatingMunicipalities(on: $on) { direct throughSplit municipality { code }
               via { id role } routes { origin { code } steps { kind effectiveOn partial fusion { name } } } } } } }""",
        {"on": "2022-01-01"},
    ),
    (
        '{ initiative(slug: "pilot-altena") { participatingMunicipalities(on: "2018-12-31") { municipality { code } } } }',
        {},
    ),
    (BENCH, {"filter": {"participatingOn": "2022-01-01"}}),
    (BENCH, {"first": 3, "filter": {"participatingOn": "2018-06-01", "nameContains": "a"}}),
    # nodes
    ('{ node(id: "TXVuaWNpcGFsaXR5OkdNMDg3OQ==") { id __typename ... on Municipality { code name } } }', {}),
    ('{ node(id: "TXVuaWNpcGFsaXR5OkdNOTk5OQ==") { id } }', {}),
    ('{ node(id: "SW52b2x2ZW1lbnQ6MQ==") { id ... on Involvement { role participant { name } } } }', {}),
    ('{ node(id: "T3JnYW5pemF0aW9uOnBvbg==") { ... on Organization { slug kind } } }', {}),
    # errors (the resolvers answer them)
    ("{ municipalities(first: 1000) { totalCount } }", {}),
    ("{ municipalities(first: -1) { totalCount } }", {}),
    ('{ municipalities(after: "nope") { totalCount } }', {}),
    ('{ municipality(code: "GM9999") { code } }', {}),
    ('{ municipality(code: "XX") { code } }', {}),
    ('{ initiative(slug: "nope") { slug } municipalities(first: 1) { totalCount } }', {}),
    ('{ initiatives(filter: {municipalityCode: "GM9999"}) { totalCount } }', {}),
    ('{ municipalities(filter: {regionSlug: "pon"}) { totalCount } }', {}),
    ('{ municipalities(filter: {nameContains: "--"}) { totalCount } }', {}),
    ("{ municipalities(first: 2) { nodes { involvements(first: 101) { totalCount } } } }", {}),
    (
        '{ municipalities(first: 2) { nodes { involvements(filter: {initiativeSlug: "nope"}) { totalCount } } } }',
        {},
    ),
    ('{ node(id: "bm9wZQ==") { id } }', {}),
    ("query($f: Int) { municipalities(first: $f) { totalCount } }", {"f": "x"}),
    # mixed with fields that do not compile
    (
        '{ dataset { contentHash } municipality(code: "GM0879") { code regions { slug } } initiatives(first: 1) { totalCount } }',
        {},
    ),
    ("{ __typename fusions { totalCount } municipalities(first: 1) { nodes { code } } }", {}),
    (
        "query($yes: Boolean!) { municipalities(first: 2) { nodes { code @include(if: $yes) } } }",
        {"yes": False},
    ),
]

COMPILED_ROOTS = [
    "municipalities",
    "municipality",
    "initiatives",
    "initiative",
    "organizations",
    "involvements",
    "node",
]


@pytest.fixture(scope="session")
async def compiled(seeded_url: str) -> AsyncIterator[Api]:
    async for instance in _api(seeded_url, compiled_reads=True, response_cache=False):
        yield instance


@pytest.fixture(scope="session")
async def resolved(seeded_url: str) -> AsyncIterator[Api]:
    async for instance in _api(seeded_url, compiled_reads=False, response_cache=False):
        yield instance


async def _text(api: Api, query: str, variables: dict[str, Any] | None = None) -> str:
    response = await api.client.post("/graphql", json={"query": query, "variables": variables or {}})
    return response.text


def _parsed(text: str) -> Any:
    return json.loads(text, object_pairs_hook=list)


async def _same(compiled: Api, resolved: Api, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The compiled path answers as the resolvers do, and so does its repeat: a prepared read when every root
    field compiled (schema/compiled/prepared.py), byte for byte the pipeline's answer."""
    ours, theirs = await _text(compiled, query, variables), await _text(resolved, query, variables)
    assert _parsed(ours) == _parsed(theirs), (
        f"{query}\n{variables}\ncompiled: {ours[:2000]}\nresolvers: {theirs[:2000]}"
    )
    repeat = await _text(compiled, query, variables)
    assert repeat == ours, f"{query}\n{variables}\nfirst: {ours[:2000]}\nrepeat: {repeat[:2000]}"
    return json.loads(theirs)


async def _statements(api: Api, query: str, variables: dict[str, Any] | None = None) -> int:
    """SQL statements of one operation (not the change feed's poll, which runs in the background)."""
    api.statements.clear()
    await api.data(query, variables)
    return len([s for s in api.statements if "change_counter" not in s])


def _compiled_count() -> float:
    return REGISTRY.get_sample_value("veerkracht_compiled_root_fields_total", {"result": "compiled"}) or 0.0


def _prepared_count() -> float:
    return REGISTRY.get_sample_value("veerkracht_prepared_reads_total", {"result": "answered"}) or 0.0


@pytest.mark.parametrize("index", range(len(CORPUS)))
async def test_corpus_matches_the_resolvers(compiled: Api, resolved: Api, index: int) -> None:
    query, variables = CORPUS[index]
    await _same(compiled, resolved, query, variables)


@pytest.mark.parametrize(
    ("connection", "key", "size"),
    [
        ("municipalities", "code", 7),
        ("initiatives", "slug", 2),
        ("organizations", "slug", 4),
        ("involvements", "id", 9),
    ],
)
async def test_paging_with_cursors_matches(
    compiled: Api, resolved: Api, connection: str, key: str, size: int
) -> None:
    query = f"""query($first: Int!, $after: String) {{ {connection}(first: $first, after: $after) {{
        totalCount edges {{ cursor node {{ {key} }} }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"""
    after, pages = None, 0
    while True:
        body = await _same(compiled, resolved, query, {"first": size, "after": after})
        page = body["data"][connection]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages > 1
    wrong = await _text(resolved, "{ initiatives(first: 1) { edges { cursor } } }")
    cursor = json.loads(wrong)["data"]["initiatives"]["edges"][0]["cursor"]
    await _same(
        compiled, resolved, query.replace(f"{connection}(", f"{connection}("), {"first": 1, "after": cursor}
    )


async def test_nested_paging_with_cursors_matches(compiled: Api, resolved: Api) -> None:
    query = """query($after: String) { municipality(code: "GM1959") {
        involvements(first: 1, after: $after) { totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage endCursor } } } }"""
    after = None
    while True:
        body = await _same(compiled, resolved, query, {"after": after})
        page = body["data"]["municipality"]["involvements"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    initiative = """query($after: String) { initiatives(first: 3) { nodes { slug
        involvements(first: 2, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage } } } } }"""
    first = await _same(compiled, resolved, initiative, {})
    cursor = first["data"]["initiatives"]["nodes"][0]["involvements"]["edges"][-1]["cursor"]
    await _same(compiled, resolved, initiative, {"after": cursor})


async def test_nodes_of_every_compiled_type_match(compiled: Api, resolved: Api) -> None:
    ids = json.loads(
        await _text(
            resolved,
            """{ municipalities(first: 5) { nodes { id } } organizations(first: 5) { nodes { id } }
                 initiatives(first: 5) { nodes { id } } involvements(first: 5) { nodes { id } } }""",
        )
    )["data"]
    query = f"""query($id: ID!) {{ node(id: $id) {{ id __typename
        ... on Municipality {{ {MUNICIPALITY_FIELDS} }}
        ... on Initiative {{ slug kind crossOverThemes involvements(first: 2) {{ totalCount }} }}
        ... on Organization {{ slug website updatedAt }}
        ... on Involvement {{ {INVOLVEMENT_FIELDS} }} }} }}"""
    before = _compiled_count()
    for connection in ids.values():
        for node in connection["nodes"]:
            await _same(compiled, resolved, query, {"id": node["id"]})
    assert _compiled_count() - before == 2 * 20  # each answer and its repeat


_UNMAPPED = re.compile(
    r"^  (sources|formedBy|dissolvedBy|predecessors|successors|current|regions|reportedFigures|"
    r"unresolvedMentions|members|membersSources|memberOf|participatingMunicipalities|participatingMunicipalityCount)\b.*$|^    includePredecessors: Boolean = false$|^  participatingOn: Date\b.*$",
    re.MULTILINE,
)


def _sdl_for_compiled_fields() -> str:
    """The API's SDL without the fields that never compile, and with keys, ids and page sizes as scalars
    drawn from real values (random ones only exercise the resolvers' errors)."""
    document = parse(api_sdl())

    class Undescribed(Visitor):
        def enter(self, node: Any, *_: Any) -> Any:
            if getattr(node, "description", None) is not None:
                return dataclasses.replace(node, description=None)
            return None

    document = visit(document, Undescribed())
    sdl = _UNMAPPED.sub("", print_ast(document))
    sdl = sdl.replace("first: Int = 50", "first: PageSize").replace("after: String = null", "")
    sdl = sdl.replace("code: String = null", "code: Code").replace("name: String = null\n", "")
    sdl = sdl.replace("slug: String!", "slug: Slug!")
    sdl = re.sub(r"\bnode\(\s*id: ID!", "node(id: NodeId!", sdl)
    sdl = sdl.replace("initiativeSlug: String = null", "initiativeSlug: Slug")
    sdl = sdl.replace("organizationSlug: String = null", "organizationSlug: OrgSlug")
    sdl = sdl.replace("municipalityCode: String = null", "municipalityCode: Code")
    return sdl + "\nscalar PageSize\nscalar Code\nscalar Slug\nscalar OrgSlug\nscalar NodeId\n"


def _strings(*values: str) -> st.SearchStrategy[StringValueNode]:
    return st.sampled_from(values).map(lambda value: StringValueNode(value=value))


def _generated(count: int) -> list[str]:
    """Valid queries over the compiled root fields, generated from the schema (deterministic)."""
    found: list[str] = []
    scalars = {
        "PageSize": st.integers(0, 6).map(lambda n: IntValueNode(value=str(n))),
        "Code": _strings("GM0879", "GM1959", "GM0796", "GM0738", "GM9999"),
        "Slug": _strings("pilot-altena", "veerkrachtdialoog", "sterk-brabant"),
        "OrgSlug": _strings("stichting-zet", "pon", "b5"),
        "NodeId": _strings(
            "TXVuaWNpcGFsaXR5OkdNMDg3OQ==",
            "SW52b2x2ZW1lbnQ6MQ==",
            "T3JnYW5pemF0aW9uOnBvbg==",
            "SW5pdGlhdGl2ZTpwaWxvdC1hbHRlbmE=",
            "TXVuaWNpcGFsaXR5OkdNOTk5OQ==",
        ),
    }

    @given(queries(_sdl_for_compiled_fields(), fields=COMPILED_ROOTS, custom_scalars=scalars))
    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def collect(query: str) -> None:
        found.append(query)

    collect()
    return found


async def test_generated_queries_match_the_resolvers(compiled: Api, resolved: Api) -> None:
    generated = _generated(300)
    assert len(generated) >= 250
    before, prepared = _compiled_count(), _prepared_count()
    for query in generated:
        await _same(compiled, resolved, query)
    assert _compiled_count() - before > len(generated) / 2, "the generated queries mostly compiled"
    assert _prepared_count() - prepared > len(generated) / 4, "and their repeats were mostly prepared reads"


async def test_texts_in_both_languages_compile(compiled: Api, resolved: Api) -> None:
    """summary(language:), description(language:), basisNote(language:): compiled, not left to the resolvers."""
    query = """query($lang: Language!) { initiatives { nodes { summary(language: $lang) basisNote(language: $lang)
        involvements { nodes { description(language: $lang) } } } } }"""
    before = _compiled_count()
    dutch = await _same(compiled, resolved, query, {"lang": "NL"})
    english = await _same(compiled, resolved, query, {"lang": "EN"})
    assert _compiled_count() - before == 4
    altena = [
        n
        for n in english["data"]["initiatives"]["nodes"]
        if n["summary"].startswith("A pilot in which the province worked")
    ]
    assert altena
    assert "COMPLETED" in altena[0]["basisNote"]
    assert (
        dutch["data"]["initiatives"]["nodes"][0]["summary"]
        != english["data"]["initiatives"]["nodes"][0]["summary"]
    )


# ------------------------------------------------------------------------------------------ statements


async def test_one_statement_per_compiled_root_field(compiled: Api, resolved: Api) -> None:
    one = await _statements(compiled, BENCH, {"first": 100})
    small = await _statements(compiled, BENCH, {"first": 1})
    assert one == small == 1
    three = f"""{{ a: municipalities(first: 100) {{ nodes {{ code involvements {{ nodes {{ {INVOLVEMENT_FIELDS} }} }} }} }}
        b: initiatives {{ nodes {{ slug crossOverThemes involvements {{ totalCount nodes {{ participant {{ name }} }} }} }} }}
        c: municipality(code: "GM0879") {{ name }} }}"""
    assert await _statements(compiled, three) == 3
    assert await _statements(resolved, three) > 3


async def test_fallback_fields_keep_their_place(compiled: Api, resolved: Api) -> None:
    query = """{ x: initiatives(first: 2) { nodes { slug } } dataset { contentHash }
        y: municipalities(first: 2) { nodes { code regions { slug } } } z: organizations(first: 1) { totalCount } }"""
    before = _compiled_count()
    body = await _same(compiled, resolved, query)
    assert list(body["data"]) == ["x", "dataset", "y", "z"]
    assert _compiled_count() - before == 2 * 2  # x and z, in the answer and its repeat
    assert body["extensions"]["cost"]["requested"] > 0


async def test_statement_count_does_not_grow_with_rows(fresh_api: Api) -> None:
    from tests.test_n_plus_one import _generate

    await _generate(fresh_api, "Klein", municipalities=2, initiatives=5)
    await _generate(fresh_api, "Groot", municipalities=50, initiatives=20)
    query = f"""query($name: String!) {{ municipalities(first: 100, filter: {{nameContains: $name}}) {{ totalCount
        nodes {{ code involvements(first: 100) {{ totalCount nodes {{ {INVOLVEMENT_FIELDS}
          initiative {{ involvements(first: 3) {{ totalCount nodes {{ role }} }} }} }} }} }} }} }}"""
    small = await _statements(fresh_api, query, {"name": "Kleingemeente"})
    large = await _statements(fresh_api, query, {"name": "Grootgemeente"})
    data = await fresh_api.data(query, {"name": "Grootgemeente"})
    assert sum(len(m["involvements"]["nodes"]) for m in data["municipalities"]["nodes"]) == 1000
    assert small == large == 1


async def test_the_priority_shapes_compile(compiled: Api) -> None:
    for query, variables in CORPUS[:10]:
        before = _compiled_count()
        await compiled.data(query, variables)
        assert _compiled_count() - before == 1, variables


def _suite_queries() -> list[str]:
    """Every query document written in the test suite: the string constants of tests/*.py that parse as a
    GraphQL document, validate against the schema and have only query operations without variables (a
    query with variables is in CORPUS with its values, where it matters)."""
    import ast
    from pathlib import Path

    from graphql import GraphQLError, OperationDefinitionNode, validate

    from schema import schema

    found: set[str] = set()
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value.strip()
            if not text.startswith(("{", "query")):
                continue
            try:
                document = parse(text)
            except GraphQLError:
                continue
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if (
                len(operations) == 1
                and operations[0].operation.value == "query"
                and not operations[0].variable_definitions
                and not validate(schema._schema, document)
            ):
                found.add(text)
    return sorted(found)


SUITE_QUERIES = _suite_queries()


def test_the_suite_has_queries_to_compare() -> None:
    assert len(SUITE_QUERIES) >= 60, len(SUITE_QUERIES)


async def test_every_query_of_the_test_suite_matches_the_resolvers(compiled: Api, resolved: Api) -> None:
    """The queries the other tests send, harvested from their source, answered alike on both paths."""
    for query in SUITE_QUERIES:
        await _same(compiled, resolved, query)
