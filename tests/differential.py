"""A generator of random query documents over the read schema, for comparing the compiled path (schema/compiled)
with the resolvers (tests/test_differential.py).

It is written for this schema rather than derived from it alone (as hypothesis-graphql's are), so that its
documents hit what the compiled path has to get right: fragments named and inline, with type conditions on
every interface and union the object belongs to (``... on Node``, ``... on Participant``, ``... on _Entity``)
and on types it does not belong to; aliases, the same field under several keys with different arguments;
variables with and without defaults, given or left out; cursors taken from earlier answers (of the right
connection, of another one, of a Fusion); filters with known and unknown slugs and codes; connections that
select only a part of ``pageInfo``; nested pages under several parents; deep nesting; and now and then a
field or argument the compiled path does not map (the resolvers answer it, as documented).

Everything is drawn from one ``random.Random``: a seed gives the same documents on every run and backend
(cursors come from answers, which are the same on both paths when they agree).
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from typing import Any

import graphql
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    ast_from_value,
    get_named_type,
    print_ast,
)

from schema import api_sdl

SCHEMA: GraphQLSchema = graphql.build_schema(api_sdl())

ROOTS = ("municipalities", "municipality", "initiatives", "initiative", "organizations", "organization",
         "involvements", "node")  # fmt: skip
"""The root fields that compile."""
OTHER_ROOTS = ("fusions", "dataset", "nodes")
"""Root fields that do not compile (yet): mixed in now and then, answered by the resolvers."""

NOT_COMPILED = {
    "sources", "regions", "formedBy", "dissolvedBy", "predecessors", "successors", "current",
    "reportedFigures", "unresolvedMentions", "members", "membersSources", "memberOf", "boundary",
}  # fmt: skip
"""Fields documented (schema/compiled/__init__.py) as answered by the resolvers."""
RARE = 0.03
"""How often a field or argument outside the compiled path is chosen."""

DATES = ("2018-12-31", "2019-01-01", "2019-04-04", "2021-06-01", "2023-01-01", "1990-01-01")
WORDS = ("sterk", "Brabant", "pilot", "altena", "veerkracht", "dialoog", "nowhere", "stérk", "Zorg")
THEMES = ("water", "bestuurlijke vernieuwing", "zorg", "nothing-like-it", "Armoede")


@dataclass
class Vocabulary:
    """Real keys of the seeded dataset (read from the resolvers once), and keys that match nothing."""

    codes: list[str]
    names: list[str]
    organizations: list[str]
    regions: list[str]
    initiatives: list[str]
    ids: dict[str, list[str]]
    """Global ids by type name."""
    cursors: dict[str, list[str]] = field(default_factory=dict)
    """Cursors by type name, from the answers so far."""

    QUERY = """{ municipalities(first: 100) { nodes { id code name } }
      organizations(first: 100) { nodes { id slug kind } }
      initiatives(first: 100) { nodes { id slug } }
      involvements(first: 100) { nodes { id } }
      fusions(first: 20) { nodes { id } edges { cursor } } }"""

    @classmethod
    def from_answer(cls, data: dict[str, Any]) -> Vocabulary:
        municipalities = data["municipalities"]["nodes"]
        organizations = data["organizations"]["nodes"]
        vocabulary = cls(
            codes=[m["code"] for m in municipalities],
            names=[m["name"] for m in municipalities],
            organizations=[o["slug"] for o in organizations],
            regions=[o["slug"] for o in organizations if o["kind"] == "REGIONAL_PARTNERSHIP"],
            initiatives=[i["slug"] for i in data["initiatives"]["nodes"]],
            ids={
                "Municipality": [m["id"] for m in municipalities],
                "Organization": [o["id"] for o in organizations],
                "Initiative": [i["id"] for i in data["initiatives"]["nodes"]],
                "Involvement": [i["id"] for i in data["involvements"]["nodes"]],
                "Fusion": [f["id"] for f in data["fusions"]["nodes"]],
            },
        )
        vocabulary.harvest(data)
        return vocabulary

    def harvest(self, answer: Any) -> None:
        """Keep the cursors of an answer, by the type they page (a bounded pool per type)."""
        if isinstance(answer, dict):
            for key, value in answer.items():
                if key in ("cursor", "startCursor", "endCursor") and isinstance(value, str):
                    try:
                        padded = value + "=" * (-len(value) % 4)
                        type_name = base64.urlsafe_b64decode(padded).decode().split(":")[1]
                    except (ValueError, IndexError, UnicodeDecodeError):
                        continue
                    pool = self.cursors.setdefault(type_name, [])
                    if value not in pool and len(pool) < 60:
                        pool.append(value)
                else:
                    self.harvest(value)
        elif isinstance(answer, list):
            for item in answer:
                self.harvest(item)


def _is_abstract(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLInterfaceType | GraphQLUnionType)


def _possible(type_: GraphQLNamedType) -> frozenset[str]:
    if isinstance(type_, GraphQLObjectType):
        return frozenset({type_.name})
    assert isinstance(type_, GraphQLInterfaceType | GraphQLUnionType)
    return frozenset(t.name for t in SCHEMA.get_possible_types(type_))


CONDITIONS = [
    t
    for t in SCHEMA.type_map.values()
    if isinstance(t, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
    and not t.name.startswith("__")
    and t.name not in ("Query", "Mutation", "Subscription")
]


@dataclass
class Document:
    query: str
    variables: dict[str, Any]


class Generator:
    """Random documents over the read schema; one instance per run, ``document()`` per document."""

    def __init__(self, seed: int, vocabulary: Vocabulary) -> None:
        self.random = random.Random(seed)
        self.vocabulary = vocabulary
        self.covered: set[tuple[str, ...]] = set()
        """What the documents so far selected: (type, field), (type, field, argument), (input type, key)."""

    # ------------------------------------------------------------------------------------------ document

    def document(self) -> Document:
        r = self.random
        self.fragments: list[tuple[str, str, frozenset[str], str]] = []
        """(name, type condition, possible types, text) of the fragments defined so far."""
        self.definitions: list[str] = []
        self.variables: dict[str, Any] = {}
        self.sources: dict[str, tuple[Any, ...]] = {}
        """Where each variable is used: (parent type, field, argument, type), to draw other values."""
        self.counter = 0
        roots: list[str] = []
        # Mostly shallow documents; now and then a deep one (nested pages in nested pages).
        depth = r.choice((4, 5, 5, 6, 8, 11))
        for _ in range(r.choice((1, 1, 1, 2, 2, 3))):
            name = r.choice(OTHER_ROOTS) if r.random() < RARE else r.choice(ROOTS)
            roots.append(self.field(SCHEMA.query_type, name, depth, alias=r.random() < 0.4 or bool(roots)))  # type: ignore[arg-type]
        head = ""
        if self.definitions or r.random() < 0.3:
            head = "query Q" + (f"({', '.join(self.definitions)})" if self.definitions else "") + " "
        body = head + "{ " + " ".join(roots) + " }"
        fragments = [text for *_, text in self.fragments]
        r.shuffle(fragments)
        return Document(" ".join([body, *fragments]), dict(self.variables))

    def other_variables(self, document: Document) -> dict[str, Any]:
        """Other values for the variables of the last document (the same ones given, the same ones left out):
        its repeat with these is a prepared read with other arguments."""
        return {
            name: (self.random.random() < 0.5)
            if self.sources[name][0] == "@"
            else _json(self.value(*self.sources[name]))
            for name in document.variables
        }

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # ------------------------------------------------------------------------------------------ selections

    def selection(self, type_: GraphQLNamedType, possible: frozenset[str], depth: int) -> str:
        """A selection set on ``type_`` (narrowed to ``possible`` object types by enclosing conditions)."""
        r = self.random
        items: list[str] = []
        for _ in range(r.choice((1, 1, 2, 2, 3, 4))):
            roll = r.random()
            if roll < 0.15:
                items.append(self.inline(type_, possible, depth))
            elif roll < 0.27:
                items.append(self.spread(type_, possible, depth))
            else:
                items.append(self.some_field(type_, depth))
        return "{ " + " ".join(items) + " }"

    def _condition(self, possible: frozenset[str]) -> tuple[GraphQLNamedType, frozenset[str]]:
        """A type condition that overlaps ``possible``: the type itself, an interface or union it belongs
        to, and once in a while one that matches only some of them."""
        options = [t for t in CONDITIONS if _possible(t) & possible]
        choice = self.random.choice(options)
        return choice, _possible(choice) & possible

    def inline(self, type_: GraphQLNamedType, possible: frozenset[str], depth: int) -> str:
        if self.random.random() < 0.25:
            return "..." + self.directive() + " " + self.selection(type_, possible, depth)
        condition, narrowed = self._condition(possible)
        return f"... on {condition.name}{self.directive()} " + self.selection(condition, narrowed, depth)

    def spread(self, type_: GraphQLNamedType, possible: frozenset[str], depth: int) -> str:
        r = self.random
        reusable = [f for f in self.fragments if f[2] & possible]
        if reusable and r.random() < 0.3:
            return "..." + r.choice(reusable)[0] + self.directive()
        condition, narrowed = self._condition(possible)
        name = self._name("F")
        text = f"fragment {name} on {condition.name} " + self.selection(condition, narrowed, depth)
        self.fragments.append((name, condition.name, narrowed, text))
        return "..." + name + self.directive()

    def some_field(self, type_: GraphQLNamedType, depth: int) -> str:
        r = self.random
        if isinstance(type_, GraphQLUnionType) or r.random() < 0.06:
            self.covered.add((type_.name, "__typename"))
            return self.maybe_alias("__typename")
        assert isinstance(type_, GraphQLObjectType | GraphQLInterfaceType)
        names = [n for n in type_.fields if not n.startswith("_")]
        compiled = [n for n in names if n not in NOT_COMPILED and not self._too_deep(type_, n, depth)]
        pool = names if not compiled or r.random() < RARE else compiled
        return self.field(type_, r.choice(pool), depth, alias=r.random() < 0.2)

    def _too_deep(self, type_: GraphQLNamedType, name: str, depth: int) -> bool:
        assert isinstance(type_, GraphQLObjectType | GraphQLInterfaceType)
        named = get_named_type(type_.fields[name].type)
        return depth <= 0 and not isinstance(named, GraphQLScalarType | GraphQLEnumType)

    def directive(self) -> str:
        """Now and then ``@include``/``@skip``, its condition a literal or a Boolean variable."""
        r = self.random
        if r.random() > 0.08:
            return ""
        which = r.choice(("include", "skip"))
        self.covered.add(("@", which))
        condition = r.random() < 0.5
        if r.random() < 0.3:
            return f" @{which}(if: {str(condition).lower()})"
        name = self._name("v")
        if r.random() < 0.3:
            self.definitions.append(f"${name}: Boolean = {str(not condition).lower()}")
            if r.random() < 0.5:
                return f" @{which}(if: ${name})"  # left out: the default
        else:
            self.definitions.append(f"${name}: Boolean!")
        self.variables[name] = condition
        self.sources[name] = ("@", which, "if", None)
        return f" @{which}(if: ${name})"

    def maybe_alias(self, name: str) -> str:
        return f"{self._name('a')}: {name}" if self.random.random() < 0.2 else name

    def field(self, parent: GraphQLNamedType, name: str, depth: int, *, alias: bool) -> str:
        assert isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        definition = parent.fields[name]
        self.covered.add((parent.name, name))
        arguments = self.arguments(parent.name, name, definition.args)
        # A field with arguments always has a key of its own: the same key with other arguments elsewhere
        # in the selection would not validate.
        text = f"{self._name('a')}: {name}" if alias or arguments else name
        if arguments:
            text += f"({', '.join(arguments)})"
        text += self.directive()
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return text
        if name == "pageInfo":
            subs = ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]
            chosen = self.random.sample(subs, self.random.choice((1, 1, 2, 3, 5)))
            self.covered.update(("PageInfo", sub) for sub in chosen)
            return text + " { " + " ".join(chosen) + " }"
        return text + " " + self.selection(named, _possible(named), depth - 1)

    # ------------------------------------------------------------------------------------------ arguments

    def arguments(self, parent: str, name: str, args: dict[str, Any]) -> list[str]:
        r = self.random
        out = []
        for arg_name, arg in args.items():
            required = isinstance(arg.type, GraphQLNonNull)
            if arg_name == "includePredecessors" and r.random() > RARE:
                continue
            if arg_name == "name" and parent == "Query":
                if r.random() > RARE:
                    continue
            elif not required and r.random() < 0.45:
                continue
            value = self.value(parent, name, arg_name, arg.type)
            if value is _SKIP:
                continue
            self.covered.add((parent, name, arg_name))
            source = (parent, name, arg_name, arg.type)
            out.append(f"{arg_name}: {self.literal_or_variable(value, arg.type, required, source)}")
        if (
            parent == "Query"
            and name == "municipality"
            and not any(a.startswith(("code", "name")) for a in out)
        ):
            source = (parent, name, "code", args["code"].type)
            out.append(f"code: {self.literal_or_variable(self.code(), args['code'].type, False, source)}")
        return out

    def literal_or_variable(
        self, value: Any, type_: GraphQLInputType, required: bool, source: tuple[Any, ...]
    ) -> str:
        r = self.random
        if r.random() < 0.3:
            name = self._name("v")
            self.sources[name] = source
            nullable = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
            declared = str(type_) if required or r.random() < 0.5 else str(nullable)
            roll = r.random()
            if roll < 0.25 and not declared.endswith("!"):
                # a default, and the variable left out
                self.definitions.append(f"${name}: {declared} = {self.literal(value, type_)}")
            elif roll < 0.4 and not declared.endswith("!"):
                # a default, and the variable given (it wins)
                self.definitions.append(
                    f"${name}: {declared} = {self.literal(self.value_again(value), type_)}"
                )
                self.variables[name] = _json(value)
            else:
                self.definitions.append(f"${name}: {declared}")
                self.variables[name] = _json(value)
            return f"${name}"
        return self.literal(value, type_)

    def value_again(self, value: Any) -> Any:
        """Another value of the same kind, for a default that the given variable overrides."""
        if isinstance(value, bool):
            return not value
        if isinstance(value, int):
            return (value + 1) % 4
        return value

    def literal(self, value: Any, type_: GraphQLInputType) -> str:
        node = ast_from_value(value, type_)
        assert node is not None, (value, type_)
        return print_ast(node)

    def value(self, parent: str, field_name: str, name: str, type_: GraphQLInputType) -> Any:
        r, v = self.random, self.vocabulary
        named = get_named_type(type_)
        if name == "first":
            return r.choice((0, 1, 1, 2, 2, 3, 3, 5, 10)) if r.random() > 0.02 else r.choice((100, 101, -1))
        if name == "after":
            return self.cursor(parent, field_name)
        if name == "on":
            return r.choice(DATES)
        if name == "code":
            return self.code()
        if name == "name":
            return r.choice([*v.names[:5], "Altena", "Nergenshuizen"])
        if name == "slug":
            pool = v.initiatives if field_name == "initiative" else v.organizations
            return r.choice(pool) if r.random() < 0.9 else "nope-" + r.choice(pool)
        if name == "id":
            return self.node_id()
        if name == "ids":
            return [self.node_id() for _ in range(r.choice((0, 1, 2, 3)))]
        if name == "kind":
            assert isinstance(named, GraphQLEnumType)
            return r.choice(list(named.values))
        if name == "includePredecessors":
            return True
        if isinstance(named, GraphQLInputObjectType):
            return self.filter(named)
        return _SKIP

    def code(self) -> str:
        r = self.random
        roll = r.random()
        if roll < 0.88:
            return r.choice(self.vocabulary.codes)
        return "GM9999" if roll < 0.96 else "XX"

    def node_id(self) -> str:
        r, ids = self.random, self.vocabulary.ids
        roll = r.random()
        if roll < 0.9:
            type_name = r.choice(("Municipality", "Organization", "Initiative", "Involvement", "Involvement"))
            return r.choice(ids[type_name])
        if roll < 0.94:
            return r.choice(ids["Fusion"])
        if roll < 0.97:
            return base64.b64encode(b"Municipality:GM9999").decode()
        return "bm9wZQ=="

    def cursor(self, parent: str, field_name: str) -> str:
        r, cursors = self.random, self.vocabulary.cursors
        own = {"municipalities": "Municipality", "initiatives": "Initiative", "organizations": "Organization",
               "fusions": "Fusion", "changes": "Change"}.get(field_name, "Involvement")  # fmt: skip
        roll = r.random()
        if roll < 0.8 and cursors.get(own):
            return r.choice(cursors[own])
        if roll < 0.92 and cursors:
            return r.choice(r.choice(list(cursors.values())))  # another connection's, a Fusion's
        return r.choice(("nope", base64.urlsafe_b64encode(b"c1:Involvement:999999").decode().rstrip("=")))

    def filter(self, type_: GraphQLInputObjectType) -> dict[str, Any]:
        r, v = self.random, self.vocabulary
        out: dict[str, Any] = {}
        for name, input_field in type_.fields.items():
            if r.random() < 0.7:
                continue
            named = get_named_type(input_field.type)
            self.covered.add((type_.name, name))
            if isinstance(named, GraphQLEnumType):
                values = list(named.values)
                out[name] = r.sample(values, r.choice((0, 1, 1, 2, 3)))
            elif name == "initiativeSlug":
                out[name] = r.choice(v.initiatives) if r.random() < 0.85 else "nope"
            elif name == "organizationSlug":
                out[name] = r.choice(v.organizations) if r.random() < 0.85 else "nope"
            elif name == "regionSlug":
                out[name] = r.choice([*v.regions, *v.regions, r.choice(v.organizations), "nope"])
            elif name == "municipalityCode":
                out[name] = self.code()
            elif name == "activeOn":
                out[name] = r.choice(DATES)
            elif name == "nameContains":
                out[name] = r.choice(v.names)[1:4] if r.random() < 0.9 else r.choice(("--", "zz", "É"))
            elif name == "involved":
                out[name] = r.random() < 0.5
            elif name == "theme":
                out[name] = r.choice(THEMES)
            elif name == "search":
                out[name] = " ".join(r.sample(WORDS, r.choice((1, 1, 2))))
        return out


class _Skip:
    pass


_SKIP = _Skip()


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def is_list(type_: Any) -> bool:
    return isinstance(type_, GraphQLList) or (
        isinstance(type_, GraphQLNonNull) and isinstance(type_.of_type, GraphQLList)
    )


# ---------------------------------------------------------------------------------- what it found


def _fusion_cursor() -> str:
    return base64.urlsafe_b64encode(b"c1:Fusion:1").decode().rstrip("=")


_DEEP = "role"
for _ in range(3):
    _DEEP = (
        f"role participant {{ ... on Municipality {{ involvements(first: 2) {{ nodes {{ {_DEEP} }} }} }} }}"
    )

FOUND = [  # (issue #15; the letters are the issue's)
    # (a) an empty connection whose only selection is pageInfo without hasNextPage: null, compiled
    '{ organization(slug: "stichting-zet") { involvements(filter: {initiativeSlug: "veerkrachtdialoog"}) '
    "{ pageInfo { hasPreviousPage } } } }",
    # (e) the same under several parents, some pages longer than one: CardinalityViolation on PostgreSQL
    "{ municipalities(first: 20) { nodes { code involvements(first: 3) { pageInfo { hasPreviousPage __typename } } } } }",
    # (b) a type condition on a union the object belongs to
    '{ municipality(code: "GM0826") { ... on _Entity { __typename } } }',
    '{ initiative(slug: "sterk-brabant") { ...E } } fragment E on _Entity { ... on Node { id } }',
    # (c) several errors: in document order on both paths
    '{ a: organization(slug: "nope") { slug } b: municipalities(after: "nope") { totalCount } '
    'c: initiative(slug: "nope") { slug } d: municipality(code: "GM9999") { code } }',
    '{ a: municipalities(first: 3) { nodes { involvements(filter: {organizationSlug: "nope"}) { totalCount } } } '
    'b: organization(slug: "nope") { slug } }',
    # (c) a nulled root and a sibling's own error: the same errors every time
    '{ a: initiatives(filter: {municipalityCode: "GM9999"}) { totalCount } b: organizations { totalCount } '
    'c: organization(slug: "nope") { slug } }',
    # (d) node(id:) with an unknown slug in a nested filter: the resolvers' BAD_USER_INPUT
    '{ node(id: "TXVuaWNpcGFsaXR5OkdNMDg3OQ==") { ... on Municipality { involvements(filter: '
    '{initiativeSlug: "nope"}) { totalCount } } } }',
    '{ node(id: "TXVuaWNpcGFsaXR5OkdNOTk5OQ==") { id } }',
    # (f) deep: too deep for SQLite's parser (not compiled there), compiled on PostgreSQL
    f"{{ involvements(first: 2) {{ nodes {{ {_DEEP} }} }} }}",
    # (g) a failing sibling cancelled a shared DataLoader future: an HTTP 500 from a CancelledError (every time)
    f'{{ a: municipality(code: "GM0879") {{ x: involvements(first: 2) {{ nodes {{ role }} }} '
    f'y: involvements(after: "{_fusion_cursor()}") {{ totalCount }} }} '
    'b: municipality(code: "GM0879") { involvements(first: 2) { nodes { role } } } }',
    # (g) a Fusion's cursor in a nested page under a list
    f'{{ municipalities(first: 5) {{ nodes {{ code involvements(after: "{_fusion_cursor()}") {{ totalCount }} }} }} '
    "initiatives(first: 3) { nodes { slug involvements { nodes { participant { name } } } } } }",
]
