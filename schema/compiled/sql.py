"""From a plan and a request's arguments to one SQL statement that returns the root field's JSON as text.

Arguments are checked here exactly as the resolvers check them; whatever the resolvers would answer with
an error raises :class:`NotCompilable` (the resolvers then produce the error). Lookups the resolvers make
before filtering (a municipality code, an organisation or initiative slug) become subqueries, and the
statement returns NULL when one of them finds nothing: the root field then goes through the resolvers,
which answer with their error.

Statements are cached by the plan and the *shape* of the arguments (which filters are given, whether a
cursor is); every value is a bound parameter.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import (
    ColumnElement,
    Date,
    FromClause,
    Integer,
    Join,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
)
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.pool import StaticPool
from strawberry.relay import GlobalID

from app.db import Base
from app.models import (
    Initiative,
    InitiativeTheme,
    Involvement,
    Membership,
    Municipality,
    MunicipalityAlias,
    Organization,
    Participant,
)
from app.models.enums import Language, OrganizationKind, ParticipantType
from app.services.pagination import parse_key
from app.services.text import fold, fold_words, storable
from schema.compiled.plan import ConnectionPlan, Leaf, NotCompilable, ObjectPlan, RefPlan, RootPlan
from schema.initiatives import MAX_SEARCH_WORDS
from schema.pagination import DEFAULT_PAGE_SIZE, decode_cursor
from schema.participants import normal_code, today

_T_PARTICIPANT = Participant.__table__
_T_MUNICIPALITY = Municipality.__table__
_T_ORGANIZATION = Organization.__table__
_T_INITIATIVE = Initiative.__table__
_T_INVOLVEMENT = Involvement.__table__
_T_THEME = InitiativeTheme.__table__
_T_MEMBERSHIP = Membership.__table__

ENTITY_COLUMNS = {
    "Municipality": (
        "id", "name", "code", "province", "founded_on", "dissolved_on", "basis", "basis_note", "basis_note_en",
    ),
    "Organization": (
        "id", "name", "slug", "kind", "website", "description", "description_en", "basis", "basis_note",
        "basis_note_en", "members_as_of", "version", "updated_at",
    ),
    "Initiative": (
        "id", "slug", "name", "kind", "status", "summary", "summary_en", "basis", "basis_note",
        "basis_note_en", "version", "updated_at",
    ),
    "Involvement": (
        "id", "initiative_id", "participant_id", "role", "description", "description_en", "basis",
        "basis_note", "basis_note_en", "version", "updated_at",
    ),
}  # fmt: skip

Cols = dict[str, ColumnElement[Any]]


# ----------------------------------------------------------------------------------------- arguments


@dataclass
class Bound:
    """One plan node's arguments for this request: structural choices (``shape``) and parameter values."""

    shape: tuple[Any, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


def _value(item: Any) -> str:
    return str(getattr(item, "value", item))


def _unique(values: Sequence[Any] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(_value(v) for v in values))


def _slug(value: str) -> str:
    if not storable(value):
        raise NotCompilable("unstorable text")
    return value


def _code(value: str) -> str:
    normal = normal_code(value)  # any case, as the resolvers (schema.participants.check_code)
    if normal is None:
        raise NotCompilable("bad code")
    return normal


def _page(args: dict[str, Any], type_name: str, max_page_size: int) -> tuple[int, int | None]:
    first = args.get("first")
    if first is None:
        first = DEFAULT_PAGE_SIZE
    if not 0 <= first <= max_page_size:
        raise NotCompilable("first")
    after = args.get("after")
    if after is None:
        return first, None
    try:
        return first, decode_cursor(type_name, after)
    except GraphQLError as error:
        raise NotCompilable("cursor") from error


def bind(plan: RootPlan, variables: VariableValues, max_page_size: int) -> list[Bound]:
    """Every plan node's arguments, checked as the resolvers check them."""
    bound: list[Bound] = []
    for index, item in enumerate(plan.nodes):
        try:
            args = get_argument_values(item.definition, item.node, variables)
        except GraphQLError as error:
            raise NotCompilable("arguments") from error
        bound.append(_bind_item(item, args, max_page_size, f"n{index}_"))
    return bound


def bind_root(plan: RootPlan, variables: VariableValues) -> Bound:
    try:
        args = get_argument_values(plan.definition, plan.node, variables)
    except GraphQLError as error:
        raise NotCompilable("arguments") from error
    name = plan.node.name.value
    if plan.kind == "connection":
        return Bound()
    if plan.kind == "node":
        raw = args.get("id")
        try:
            global_id = raw if isinstance(raw, GlobalID) else GlobalID.from_id(str(raw))
        except Exception as error:
            raise NotCompilable("id") from error
        type_name, key = global_id.type_name, global_id.node_id
        if type_name not in ("Municipality", "Initiative", "Organization", "Involvement"):
            raise NotCompilable("node type")
        if type_name == "Involvement":
            number = parse_key(key)
            if number is None:
                raise NotCompilable("key")
            return Bound(shape=(type_name,), params={"root_key": number})
        return Bound(shape=(type_name,), params={"root_key": _slug(key)})
    if name == "municipality":
        code, by_name = args.get("code"), args.get("name")
        if code is None or by_name is not None:
            raise NotCompilable("municipality by name")
        return Bound(shape=("Municipality",), params={"root_key": _code(code)})
    slug = args.get("slug")
    if not isinstance(slug, str):
        raise NotCompilable("slug")
    return Bound(shape=(plan.kind,), params={"root_key": _slug(slug)})


def _bind_item(item: Any, args: dict[str, Any], max_page_size: int, prefix: str) -> Bound:
    params: dict[str, Any] = {}
    if isinstance(item, Leaf) and item.kind == "text":  # summary(language:), description(language:), ...
        language = args.get("language")
        return Bound((_value(language) if language is not None else Language.NL.value,))
    if isinstance(item, Leaf):  # active(on:)
        on = args.get("on")
        params["day"] = on if on is not None else today()
        return Bound((), {prefix + k: v for k, v in params.items()})
    assert isinstance(item, ConnectionPlan)
    first, after = _page(args, item.item_type, max_page_size)
    params.update(first=first, limit=first + 1)
    shape: list[Any] = [after is not None]
    if after is not None:
        params["after"] = after
    if item.kind == "nested" and item.node.name.value == "involvements" and args.get("includePredecessors"):
        raise NotCompilable("includePredecessors")
    filter_ = args.get("filter") or {}
    if item.kind == "municipalities":
        active_on, contains = filter_.get("activeOn"), filter_.get("nameContains")
        involved, region = filter_.get("involved"), filter_.get("regionSlug")
        if filter_.get("participatingOn") is not None:
            raise NotCompilable("participatingOn")  # the resolvers' recursive statement answers it
        if contains is not None:
            contains = fold(contains)
            if not contains:
                raise NotCompilable("nameContains")
            params["contains"] = f"%{contains}%"
        if active_on is not None:
            params["active_on"] = active_on
        if region is not None:
            params["region"] = _slug(region)
        shape += [active_on is not None, contains is not None, involved, region is not None]
    elif item.kind == "organizations":
        kind = args.get("kind")
        if kind is not None:
            params["kind"] = _value(kind)
        shape.append(kind is not None)
    elif item.kind in ("involvements", "nested"):
        roles = _unique(filter_.get("roles"))
        slug, code, org = (filter_.get(k) for k in ("initiativeSlug", "municipalityCode", "organizationSlug"))
        if roles is not None:
            params["roles"] = roles
        if slug is not None:
            params["initiative"] = _slug(slug)
        if code is not None:
            params["municipality"] = _code(code)
        if org is not None:
            params["organization"] = _slug(org)
        shape += [roles is not None, slug is not None, code is not None, org is not None]
    elif item.kind == "initiatives":
        kinds, statuses, roles = (_unique(filter_.get(k)) for k in ("kinds", "statuses", "roles"))
        theme, code, org, search = (
            filter_.get(k) for k in ("theme", "municipalityCode", "organizationSlug", "search")
        )
        for name, value in (("kinds", kinds), ("statuses", statuses), ("roles", roles)):
            if value is not None:
                params[name] = value
        if theme is not None:
            theme = fold(theme)
            if not theme:
                raise NotCompilable("theme")
            params["theme"] = theme
        if code is not None:
            params["municipality"] = _code(code)
        if org is not None:
            params["organization"] = _slug(org)
        words: tuple[str, ...] = ()
        if search is not None:
            words = tuple(dict.fromkeys(fold_words(search)))
            if not words or len(words) > MAX_SEARCH_WORDS:
                raise NotCompilable("search")
            params.update({f"word{i}": f"%{word}%" for i, word in enumerate(words)})
        shape += [
            kinds is not None,
            statuses is not None,
            roles is not None,
            theme is not None,
            code is not None,
            org is not None,
            len(words),
        ]
    return Bound(tuple(shape), {prefix + k: v for k, v in params.items()})


# -------------------------------------------------------------------------------------------- dialect


class Dialect:
    """JSON construction in one database's terms."""

    name = ""

    def key(self, name: str) -> ColumnElement[Any]:
        return literal_column(f"'{name}'")  # GraphQL names: [_A-Za-z][_0-9A-Za-z]*

    def obj(self, pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        raise NotImplementedError

    def embed(self, json: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON value from a subquery or CASE, kept JSON when nested in another object."""
        return json

    def boolean(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        raise NotImplementedError

    def constant(self, value: bool) -> ColumnElement[Any]:
        raise NotImplementedError

    def array(
        self, value: ColumnElement[Any], order: ColumnElement[Any], where: ColumnElement[bool] | None = None
    ) -> ColumnElement[Any]:
        raise NotImplementedError

    def base64(self, text: ColumnElement[Any], *, urlsafe: bool) -> ColumnElement[Any]:
        raise NotImplementedError

    def text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(value, Text)

    def one_of(self, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        """``column`` equals one of the strings in the list parameter ``name``."""
        return column.in_(bindparam(name, type_=String, expanding=True))

    def date(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        raise NotImplementedError

    def datetime(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        raise NotImplementedError


class PostgresDialect(Dialect):
    name = "postgresql"

    def one_of(self, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        # One array parameter (= ANY($n)) rather than an expanding IN: the statement's text does not depend
        # on the list's length, so it compiles once to asyncpg's positional form (schema/compiled/run.py).
        return column == any_(bindparam(name, type_=ARRAY(String)))

    def obj(self, pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        return func.json_build_object(*[item for key, value in pairs for item in (self.key(key), value)])

    def boolean(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return condition

    def constant(self, value: bool) -> ColumnElement[Any]:
        return literal_column("true" if value else "false")

    def array(
        self, value: ColumnElement[Any], order: ColumnElement[Any], where: ColumnElement[bool] | None = None
    ) -> ColumnElement[Any]:
        aggregate: Any = func.json_agg(aggregate_order_by(value, order))
        if where is not None:
            aggregate = aggregate.filter(where)
        return func.coalesce(aggregate, literal_column("'[]'::json"))

    def base64(self, text: ColumnElement[Any], *, urlsafe: bool) -> ColumnElement[Any]:
        encoded = func.encode(func.convert_to(text, literal_column("'UTF8'")), literal_column("'base64'"))
        if urlsafe:
            return func.translate(
                func.rtrim(encoded, literal_column("'='")),
                literal_column("'+/' || chr(10)"),
                literal_column("'-_'"),
            )
        return func.replace(encoded, literal_column("chr(10)"), literal_column("''"))

    def date(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.to_char(value, literal_column("'YYYY-MM-DD'"))

    def datetime(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        utc = func.timezone(literal_column("'UTC'"), value)
        micro = func.to_char(utc, literal_column("'US'"), type_=String)
        return _cat(
            func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"), type_=String),
            case((micro == "000000", _text("")), else_=_cat(_text("."), micro)),
            _text("+00:00"),
        )


class SqliteDialect(Dialect):
    name = "sqlite"

    def obj(self, pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        return func.json_object(*[item for key, value in pairs for item in (self.key(key), value)])

    def embed(self, json: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.json(json)

    def boolean(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.json(case((condition, "true"), else_="false"))

    def constant(self, value: bool) -> ColumnElement[Any]:
        return func.json(literal_column("'true'" if value else "'false'"))

    def array(
        self, value: ColumnElement[Any], order: ColumnElement[Any], where: ColumnElement[bool] | None = None
    ) -> ColumnElement[Any]:
        # The rows come from a subquery ordered by `order` (SQLite 3.40 has no ORDER BY in aggregates).
        aggregate: Any = func.json_group_array(value)
        if where is not None:
            aggregate = aggregate.filter(where)
        result: ColumnElement[Any] = aggregate
        return result

    def base64(self, text: ColumnElement[Any], *, urlsafe: bool) -> ColumnElement[Any]:
        return func.vk_cursor(text) if urlsafe else func.vk_b64(text)

    def date(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return value

    def datetime(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC); Python's isoformat drops a zero fraction.
        fraction = func.substr(value, 21, 6, type_=String)
        return _cat(
            func.substr(value, 1, 10, type_=String),
            _text("T"),
            func.substr(value, 12, 8, type_=String),
            case(
                (and_(func.substr(value, 20, 1) == ".", fraction != "000000"), _cat(_text("."), fraction)),
                else_=_text(""),
            ),
            _text("+00:00"),
        )


def _text(value: str) -> ColumnElement[Any]:
    """A string constant written into the statement (only ever our own constants, never input)."""
    return literal_column("'" + value.replace("'", "''") + "'", String)


def _cat(*parts: ColumnElement[Any]) -> ColumnElement[Any]:
    result = parts[0]
    for part in parts[1:]:
        result = result.concat(part)
    return result


def sqlite_b64(text: str | None) -> str | None:
    return None if text is None else base64.b64encode(text.encode()).decode()


def sqlite_cursor(text: str | None) -> str | None:
    return None if text is None else base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


DIALECTS: dict[str, Dialect] = {"postgresql": PostgresDialect(), "sqlite": SqliteDialect()}


# ------------------------------------------------------------------------------------------- builder


def _flat(scope: list[FromClause]) -> list[FromClause]:
    """The tables of a scope (joins split up: correlation names tables, not joins)."""
    out: list[FromClause] = []
    for item in scope:
        if isinstance(item, Join):
            out += _flat([item.left, item.right])
        else:
            out.append(item)
    return out


def _source(type_name: str) -> tuple[FromClause, Cols]:
    """Fresh aliases of an entity's tables, and its columns by name."""
    if type_name in ("Municipality", "Organization"):
        participant = _T_PARTICIPANT.alias()
        own = (_T_MUNICIPALITY if type_name == "Municipality" else _T_ORGANIZATION).alias()
        cols: Cols = {c.key: c for c in own.c}
        cols["name"] = participant.c.name
        cols["name_folded"] = participant.c.name_folded
        return participant.join(own, participant.c.id == own.c.id), cols
    table = (_T_INITIATIVE if type_name == "Initiative" else _T_INVOLVEMENT).alias()
    return table, {c.key: c for c in table.c}


class Builder:
    def __init__(self, dialect: Dialect, plan: RootPlan, shapes: list[tuple[Any, ...]]) -> None:
        self.d = dialect
        self.plan = plan
        self.shapes = shapes
        self.checks: list[ColumnElement[bool]] = []

    def p(self, index: int, name: str, type_: Any = None, *, expanding: bool = False) -> Any:
        return bindparam(f"n{index}_{name}", type_=type_, expanding=expanding)

    # ---- lookups the resolvers make before filtering: missing ones make the statement return NULL

    def _roles(self, column: ColumnElement[Any], index: int) -> ColumnElement[bool]:
        return self.d.one_of(column, f"n{index}_roles")

    def _municipality_id(self, param: Any) -> Any:
        m = _T_MUNICIPALITY.alias()
        self.checks.append(exists().where(m.c.code == param))
        return select(m.c.id).where(m.c.code == param).scalar_subquery()

    def _organization_id(self, param: Any, *, region: bool = False) -> Any:
        o = _T_ORGANIZATION.alias()
        conditions = [o.c.slug == param]
        if region:
            conditions.append(o.c.kind == OrganizationKind.REGIONAL_PARTNERSHIP.value)
        self.checks.append(exists().where(*conditions))
        return select(o.c.id).where(*conditions).scalar_subquery()

    def _initiative_id(self, param: Any) -> Any:
        i = _T_INITIATIVE.alias()
        self.checks.append(exists().where(i.c.slug == param))
        return select(i.c.id).where(i.c.slug == param).scalar_subquery()

    def conditions(self, plan: ConnectionPlan, cols: Cols) -> list[ColumnElement[bool]]:
        shape, i, p = self.shapes[plan.index], plan.index, self.p
        out: list[ColumnElement[bool]] = []
        if plan.kind == "municipalities":
            _, has_active, has_contains, involved, has_region = shape
            if has_active:
                day = p(i, "active_on", Date)
                out.append(
                    and_(
                        or_(cols["founded_on"].is_(None), cols["founded_on"] <= day),
                        or_(cols["dissolved_on"].is_(None), cols["dissolved_on"] > day),
                    )
                )
            if has_contains:
                # As app.services.filters: the name or an alias (app/data/aliases.yaml).
                alias = MunicipalityAlias.__table__.alias()
                contains = p(i, "contains", String)
                aliased = select(alias.c.municipality_id).where(alias.c.name_folded.like(contains))
                out.append(or_(cols["name_folded"].like(contains), cols["id"].in_(aliased)))
            if involved is not None:
                v = _T_INVOLVEMENT.alias()
                any_ = exists().where(v.c.participant_id == cols["id"])
                out.append(any_ if involved else ~any_)
            if has_region:
                region = self._organization_id(p(i, "region", String), region=True)
                ms = _T_MEMBERSHIP.alias()
                out.append(cols["id"].in_(select(ms.c.member_id).where(ms.c.organization_id == region)))
        elif plan.kind == "organizations":
            if shape[1]:
                out.append(cols["kind"] == p(i, "kind", String))
        elif plan.kind in ("involvements", "nested"):
            _, has_roles, has_initiative, has_municipality, has_organization = shape
            if has_roles:
                out.append(self._roles(cols["role"], i))
            if has_initiative:
                out.append(cols["initiative_id"] == self._initiative_id(p(i, "initiative", String)))
            if has_municipality:
                out.append(cols["participant_id"] == self._municipality_id(p(i, "municipality", String)))
            if has_organization:
                out.append(cols["participant_id"] == self._organization_id(p(i, "organization", String)))
        elif plan.kind == "initiatives":
            _, has_kinds, has_statuses, has_roles, has_theme, has_m, has_o, words = shape
            if has_kinds:
                out.append(self.d.one_of(cols["kind"], f"n{i}_kinds"))
            if has_statuses:
                out.append(self.d.one_of(cols["status"], f"n{i}_statuses"))
            if has_theme:
                t = _T_THEME.alias()
                out.append(
                    exists().where(t.c.initiative_id == cols["id"], t.c.theme_folded == p(i, "theme", String))
                )
            participants = []
            if has_m:
                participants.append(self._municipality_id(p(i, "municipality", String)))
            if has_o:
                participants.append(self._organization_id(p(i, "organization", String)))
            for participant in participants:
                v = _T_INVOLVEMENT.alias()
                role = self._roles(v.c.role, i) if has_roles else true()
                out.append(
                    exists().where(v.c.initiative_id == cols["id"], v.c.participant_id == participant, role)
                )
            if has_roles and not participants:
                v = _T_INVOLVEMENT.alias()
                out.append(exists().where(v.c.initiative_id == cols["id"], self._roles(v.c.role, i)))
            search = Initiative.__table__.c.search_folded
            for number in range(words):
                column = cols.get("search_folded", search)
                out.append(column.like(p(i, f"word{number}", String)))
        return out

    # ---- objects

    def obj(self, plan: ObjectPlan, cols: Cols, scope: list[FromClause]) -> ColumnElement[Any]:
        d = self.d
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for key, item in plan.fields:
            if isinstance(item, Leaf):
                pairs.append((key, self.leaf(item, cols, scope)))
            elif isinstance(item, RefPlan):
                pairs.append((key, self.ref(item, cols[item.column], scope)))
            else:
                pairs.append((key, self.connection(item, cols["id"], scope)))
        return d.obj(pairs)

    def leaf(self, leaf: Leaf, cols: Cols, scope: list[FromClause]) -> ColumnElement[Any]:
        d = self.d
        if leaf.kind == "typename":
            return literal_column(f"'{leaf.type_name}'")
        if leaf.kind == "column":
            return cols[leaf.column]
        if leaf.kind == "text":
            # As schema.language.in_language: English where a translation exists, else Dutch.
            if self.shapes[leaf.index] == (Language.EN.value,):
                return func.coalesce(cols[leaf.column + "_en"], cols[leaf.column])
            return cols[leaf.column]
        if leaf.kind == "date":
            return d.date(cols[leaf.column])
        if leaf.kind == "datetime":
            return d.datetime(cols[leaf.column])
        if leaf.kind == "gid":
            return d.base64(_cat(_text(f"{leaf.type_name}:"), d.text(cols[leaf.column])), urlsafe=False)
        if leaf.kind == "active":
            day = self.p(leaf.index, "day", Date)
            founded, dissolved = cols["founded_on"], cols["dissolved_on"]
            return d.boolean(
                and_(or_(founded.is_(None), founded <= day), or_(dissolved.is_(None), day < dissolved))
            )
        if leaf.kind == "themes":
            t = _T_THEME.alias()
            rows = (
                select(t.c.theme, t.c.position)
                .where(t.c.initiative_id == cols["id"])
                .order_by(t.c.position)
                .correlate(*_flat(scope))
                .subquery()
            )
            themes = select(d.array(rows.c.theme, rows.c.position)).select_from(rows).correlate(*_flat(scope))
            return d.embed(themes.scalar_subquery())
        raise NotCompilable(leaf.kind)

    def ref(self, plan: RefPlan, key: ColumnElement[Any], scope: list[FromClause]) -> ColumnElement[Any]:
        d = self.d
        if "Initiative" in plan.objects:
            source, cols = _source("Initiative")
            value = self.obj(plan.objects["Initiative"], cols, [*scope, source])
            return d.embed(
                select(value)
                .select_from(source)
                .where(cols["id"] == key)
                .correlate(*_flat(scope))
                .scalar_subquery()
            )
        participant = _T_PARTICIPANT.alias()
        m, o = _T_MUNICIPALITY.alias(), _T_ORGANIZATION.alias()
        base = {"name": participant.c.name}
        m_cols: Cols = {**{c.key: c for c in m.c}, **base}
        o_cols: Cols = {**{c.key: c for c in o.c}, **base}
        source = participant.outerjoin(m, m.c.id == participant.c.id).outerjoin(o, o.c.id == participant.c.id)
        inner = [*scope, source]
        value = case(
            (
                participant.c.type == ParticipantType.MUNICIPALITY.value,
                self.obj(plan.objects["Municipality"], m_cols, inner),
            ),
            else_=self.obj(plan.objects["Organization"], o_cols, inner),
        )
        return d.embed(
            select(d.embed(value))
            .select_from(source)
            .where(participant.c.id == key)
            .correlate(*_flat(scope))
            .scalar_subquery()
        )

    # ---- connections

    def connection(
        self, plan: ConnectionPlan, parent: ColumnElement[Any] | None, scope: list[FromClause]
    ) -> ColumnElement[Any]:
        d, i, p = self.d, plan.index, self.p
        source, cols = _source(plan.item_type)
        conditions = self.conditions(plan, cols)
        if parent is not None and plan.parent_column is not None:
            conditions.append(cols[plan.parent_column] == parent)
        has_after = self.shapes[i][0]
        key = cols["id"]
        page_conditions = [*conditions, key > p(i, "after", Integer)] if has_after else conditions
        columns = [cols[name].label(name) for name in ENTITY_COLUMNS[plan.item_type]]
        page_select = (
            select(*columns, func.row_number().over(order_by=key).label("page_rank"))
            .select_from(source)
            .where(*page_conditions)
            .order_by(key)
            .limit(p(i, "limit", Integer))
        )
        if scope:
            page_select = page_select.correlate(*_flat(scope))
        page = page_select.subquery(f"page{i}")
        page_cols: Cols = {name: page.c[name] for name in ENTITY_COLUMNS[plan.item_type]}
        first = p(i, "first", Integer)
        in_page = page.c.page_rank <= first
        inner_scope = [*scope, page]

        def cursor(id_: ColumnElement[Any]) -> ColumnElement[Any]:
            return d.base64(_cat(_text(f"c1:{plan.item_type}:"), d.text(id_)), urlsafe=True)

        pairs: list[tuple[str, ColumnElement[Any]]] = []
        aggregated = False
        """Whether the object aggregates over the page's rows (then it selects from the page)."""
        for part_key, part in plan.parts:
            what = part[0]
            if what == "typename":
                pairs.append((part_key, literal_column(f"'{part[1]}'")))
            elif what == "totalCount":
                count_source, count_cols = _source(plan.item_type)
                count_conditions = self.conditions(plan, count_cols)
                if parent is not None and plan.parent_column is not None:
                    count_conditions.append(count_cols[plan.parent_column] == parent)
                counted = select(func.count()).select_from(count_source).where(*count_conditions)
                if scope:
                    counted = counted.correlate(*_flat(scope))
                pairs.append((part_key, counted.scalar_subquery()))
            elif what == "pageInfo":
                info: list[tuple[str, ColumnElement[Any]]] = []
                for info_key, name in part[1]:
                    aggregated = aggregated or name in ("hasNextPage", "startCursor", "endCursor")
                    if name == "hasNextPage":
                        info.append((info_key, d.boolean(func.count() > first)))
                    elif name == "hasPreviousPage":
                        info.append((info_key, d.constant(bool(has_after))))
                    elif name == "startCursor":
                        info.append((info_key, cursor(func.min(page.c.id).filter(in_page))))
                    elif name == "endCursor":
                        info.append((info_key, cursor(func.max(page.c.id).filter(in_page))))
                    else:
                        info.append((info_key, literal_column("'PageInfo'")))
                pairs.append((part_key, d.obj(info)))
            elif what == "edges":
                aggregated = True
                edge: list[tuple[str, ColumnElement[Any]]] = []
                for edge_key, name in part[1]:
                    if name == "cursor":
                        edge.append((edge_key, cursor(page.c.id)))
                    elif name == "node":
                        edge.append((edge_key, self.obj(part[2], page_cols, inner_scope)))
                    else:
                        edge.append((edge_key, literal_column(f"'{plan.item_type}Edge'")))
                pairs.append((part_key, d.array(d.obj(edge), page.c.id, in_page)))
            else:
                aggregated = True
                pairs.append(
                    (part_key, d.array(self.obj(part[1], page_cols, inner_scope), page.c.id, in_page))
                )
        statement = select(d.obj(pairs))
        if aggregated:
            # An aggregate over the page: one row, even for an empty page. Without one (a pageInfo of only
            # hasPreviousPage or __typename, issue #15), selecting from the page would give a row per item:
            # none for an empty page (the connection answered null) and several for a longer one (on
            # PostgreSQL a CardinalityViolation).
            statement = statement.select_from(page)
        if scope:
            statement = statement.correlate(*_flat(scope))
        return d.embed(statement.scalar_subquery())

    # ---- the root field

    def root(self, root_shape: tuple[Any, ...]) -> Select[Any]:
        d, plan = self.d, self.plan
        if plan.kind == "connection":
            assert plan.connection is not None
            value: ColumnElement[Any] = self.connection(plan.connection, None, [])
        else:
            type_name = root_shape[0] if plan.kind != "single" else next(iter(plan.objects))
            source, cols = _source(type_name)
            key_column = {"Municipality": "code", "Involvement": "id"}.get(type_name, "slug")
            key = bindparam("root_key", type_=Integer if key_column == "id" else String)
            value = d.embed(
                select(self.obj(plan.objects[type_name], cols, [source]))
                .select_from(source)
                .where(cols[key_column] == key)
                .scalar_subquery()
            )
        if plan.kind == "node":
            # An unknown id answers null (JSON): only a failed lookup may leave the value NULL, which
            # sends the field to the resolvers, for their error.
            value = func.coalesce(cast(value, Text), literal("null", Text))
        if self.checks:
            value = case((and_(*self.checks), value), else_=null())
        return select(cast(value, Text))


_SQLITE_PARSER: list[sqlite3.Connection] = []
"""An in-memory SQLite database with the app's tables and functions, only to prepare statements in."""
_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_\w+\]")


def _parser() -> sqlite3.Connection:
    if not _SQLITE_PARSER:
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        engine = create_sync_engine("sqlite://", creator=lambda: connection, poolclass=StaticPool)
        Base.metadata.create_all(engine)
        connection.create_function("vk_b64", 1, sqlite_b64, deterministic=True)
        connection.create_function("vk_cursor", 1, sqlite_cursor, deterministic=True)
        _SQLITE_PARSER.append(connection)
    return _SQLITE_PARSER[0]


def sqlite_parses(statement: Select[Any]) -> bool:
    """Whether SQLite prepares the statement.

    Its parser has a fixed stack (YYSTACKDEPTH, 100 in the builds Python ships): a statement nested too
    deeply fails with "parser stack overflow" when it is prepared, and used to fall back to the resolvers
    on every request (issue #15: 814 times in one generated run). How deep is too deep depends on the
    grammar, not on a count we could keep (measured on SQLite 3.40.1: two levels of ``participant { ... on
    Municipality { involvements ...`` overflow at 24 nested parentheses, a CASE over several lookups at
    fewer), so the statement is prepared once, when it is built, in an in-memory database with the app's
    tables and functions (``EXPLAIN``, nothing runs; an empty database was not enough: a lookup's "no such
    table" could end the parse before its deep part, 4 overflows in a 2,500-document run). About 0.1 ms per
    new statement shape, which is then cached (schema/compiled/prepared.py); a statement SQLite cannot
    prepare is a documented fallback (``unmapped``), not a failed statement.
    """
    sql = _POSTCOMPILE.sub("?", str(statement.compile(dialect=_SQLITE)))
    try:
        _parser().execute("EXPLAIN " + sql, [None] * sql.count("?"))
    except sqlite3.Error as error:
        return "parser stack overflow" not in str(error)
    return True


_SQLITE = sqlite_dialect.dialect()


def build(
    dialect: Dialect, plan: RootPlan, root_shape: tuple[Any, ...], shapes: list[tuple[Any, ...]]
) -> Select[Any] | None:
    """The statement, or None when this database cannot take it (too deep for SQLite's parser)."""
    statement = Builder(dialect, plan, shapes).root(root_shape)
    if dialect.name == "sqlite" and not sqlite_parses(statement):
        return None
    return statement
