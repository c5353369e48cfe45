"""From a GraphQL root field to a plan: which columns and relations each selected field maps onto.

A plan depends only on the document (not on variables); it is cached by the extension. Anything without a
mapping raises :class:`NotCompilable`, and the root field goes through the resolvers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLUnionType,
    InlineFragmentNode,
    SelectionNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_directive_values


class NotCompilable(Exception):
    """This root field (or this request's arguments for it) is answered by the resolvers."""


UNMAPPED_ARGUMENTS = frozenset({"includePredecessors", "municipality by name", "too deep"})
"""NotCompilable reasons documented as not compiled (schema/compiled/__init__.py); the rest are arguments
the resolvers answer with an error."""


@dataclass(eq=False)
class Leaf:
    """A scalar: ``kind`` is column, text (a column in the ``language`` asked), date, datetime, typename,
    gid, themes or active."""

    kind: str
    column: str = ""
    type_name: str = ""
    node: FieldNode | None = None
    definition: GraphQLField | None = None
    index: int = 0


@dataclass(eq=False)
class ObjectPlan:
    type_name: str
    fields: list[tuple[str, Any]]
    """(response key, Leaf | RefPlan | ConnectionPlan), in response order."""


@dataclass(eq=False)
class RefPlan:
    """A to-one relation of an involvement: ``initiative`` or ``participant``."""

    column: str
    """The foreign key on the involvement: initiative_id or participant_id."""
    objects: dict[str, ObjectPlan]
    """By concrete type name."""


@dataclass(eq=False)
class ConnectionPlan:
    kind: str
    """municipalities, initiatives, organizations or involvements (the root lists), or nested."""
    item_type: str
    node: FieldNode
    definition: GraphQLField
    index: int
    parent_column: str | None
    """For a nested list of involvements: participant_id or initiative_id."""
    parts: list[tuple[str, Any]] = field(default_factory=list)
    """(key, ("typename", name) | ("totalCount",) | ("pageInfo", [(key, what)]) |
    ("edges", [(key, what)], ObjectPlan | None) | ("nodes", ObjectPlan))."""


@dataclass(eq=False)
class RootPlan:
    kind: str
    """connection, single (municipality/initiative/organization by key) or node."""
    node: FieldNode
    definition: GraphQLField
    connection: ConnectionPlan | None = None
    objects: dict[str, ObjectPlan] = field(default_factory=dict)
    nodes: list[Any] = field(default_factory=list)
    """Every plan node with arguments (connections, active), by index."""


_COLUMNS: dict[str, dict[str, Leaf]] = {
    "Municipality": {
        "name": Leaf("column", "name"),
        "code": Leaf("column", "code"),
        "province": Leaf("column", "province"),
        "foundedOn": Leaf("date", "founded_on"),
        "dissolvedOn": Leaf("date", "dissolved_on"),
        "basis": Leaf("column", "basis"),
        "basisNote": Leaf("text", "basis_note"),
        "id": Leaf("gid", "code", "Municipality"),
    },
    "Organization": {
        "name": Leaf("column", "name"),
        "slug": Leaf("column", "slug"),
        "kind": Leaf("column", "kind"),
        "website": Leaf("column", "website"),
        "description": Leaf("text", "description"),
        "basis": Leaf("column", "basis"),
        "basisNote": Leaf("text", "basis_note"),
        "membersAsOf": Leaf("date", "members_as_of"),
        "version": Leaf("column", "version"),
        "updatedAt": Leaf("datetime", "updated_at"),
        "id": Leaf("gid", "slug", "Organization"),
    },
    "Initiative": {
        "slug": Leaf("column", "slug"),
        "name": Leaf("column", "name"),
        "kind": Leaf("column", "kind"),
        "status": Leaf("column", "status"),
        "summary": Leaf("text", "summary"),
        "basis": Leaf("column", "basis"),
        "basisNote": Leaf("text", "basis_note"),
        "version": Leaf("column", "version"),
        "updatedAt": Leaf("datetime", "updated_at"),
        "crossOverThemes": Leaf("themes", "id"),
        "id": Leaf("gid", "slug", "Initiative"),
    },
    "Involvement": {
        "role": Leaf("column", "role"),
        "description": Leaf("text", "description"),
        "basis": Leaf("column", "basis"),
        "basisNote": Leaf("text", "basis_note"),
        "version": Leaf("column", "version"),
        "updatedAt": Leaf("datetime", "updated_at"),
        "id": Leaf("gid", "id", "Involvement"),
    },
}
_INVOLVEMENTS_PARENT = {
    "Municipality": "participant_id",
    "Organization": "participant_id",
    "Initiative": "initiative_id",
}
_REFS = {
    "initiative": ("initiative_id", ("Initiative",)),
    "participant": ("participant_id", ("Municipality", "Organization")),
}
ROOT_CONNECTIONS = {
    "municipalities": "Municipality",
    "initiatives": "Initiative",
    "organizations": "Organization",
    "involvements": "Involvement",
}
ROOT_SINGLES = {"municipality": "Municipality", "initiative": "Initiative", "organization": "Organization"}
NODE_TYPES = ("Municipality", "Initiative", "Organization", "Involvement")


class Planner:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        """For ``@include``/``@skip``: without them, any directive makes the field NotCompilable."""
        self.indexed: list[Any] = []

    def included(self, node: SelectionNode) -> bool:
        """graphql-core's should_include_node; NotCompilable for any other directive. A plan built with
        variables holds for their directive outcomes only (schema.compiled.extension keys its cache by
        them)."""
        if not node.directives:
            return True
        if self.variables is None or any(d.name.value not in ("skip", "include") for d in node.directives):
            raise NotCompilable("directive")
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip["if"] is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include["if"] is False)

    # ------------------------------------------------------------------------------- field collection

    def collect(
        self, selection_sets: list[SelectionSetNode], runtime: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        """What graphql-core's CollectFields does for one runtime type; refuses any directive."""
        fields: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            self._collect(selection_set, runtime, fields, set())
        return fields

    def _matches(self, condition: str | None, runtime: GraphQLObjectType) -> bool:
        """graphql-core's does_fragment_condition_match: the type itself, an interface it implements, or a
        union it belongs to (``... on _Entity``: issue #15 found the unions missing here)."""
        if condition is None or condition == runtime.name:
            return True
        type_ = self.schema.get_type(condition)
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            return self.schema.is_sub_type(type_, runtime)
        return False

    def _collect(
        self,
        selection_set: SelectionSetNode,
        runtime: GraphQLObjectType,
        fields: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self.included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else None
                if self._matches(condition, runtime):
                    self._collect(selection.selection_set, runtime, fields, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None:
                    raise NotCompilable("unknown fragment")
                if fragment.directives:
                    raise NotCompilable("directive")
                if self._matches(fragment.type_condition.name.value, runtime):
                    self._collect(fragment.selection_set, runtime, fields, visited)

    def _index(self, item: Any) -> int:
        self.indexed.append(item)
        return len(self.indexed) - 1

    # ---------------------------------------------------------------------------------------- objects

    def object(self, nodes: list[FieldNode], type_name: str) -> ObjectPlan:
        runtime = self.schema.get_type(type_name)
        assert isinstance(runtime, GraphQLObjectType)
        sets = [node.selection_set for node in nodes if node.selection_set is not None]
        plan = ObjectPlan(type_name, [])
        for key, field_nodes in self.collect(sets, runtime).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                plan.fields.append((key, Leaf("typename", type_name=type_name)))
                continue
            definition = runtime.fields.get(name)
            if definition is None:
                raise NotCompilable(f"no field {type_name}.{name}")
            leaf = _COLUMNS.get(type_name, {}).get(name)
            if leaf is not None and leaf.kind == "text":
                # Its `language` argument is bound per request (a structural choice of column).
                text = Leaf("text", leaf.column, node=field_nodes[0], definition=definition)
                text.index = self._index(text)
                plan.fields.append((key, text))
            elif leaf is not None:
                plan.fields.append((key, leaf))
            elif name == "active" and type_name == "Municipality":
                active = Leaf("active", node=field_nodes[0], definition=definition)
                active.index = self._index(active)
                plan.fields.append((key, active))
            elif name == "involvements" and type_name in _INVOLVEMENTS_PARENT:
                plan.fields.append(
                    (
                        key,
                        self.connection(
                            field_nodes, definition, "nested", "Involvement", _INVOLVEMENTS_PARENT[type_name]
                        ),
                    )
                )
            elif name in _REFS and type_name == "Involvement":
                column, types = _REFS[name]
                plan.fields.append((key, RefPlan(column, {t: self.object(field_nodes, t) for t in types})))
            else:
                raise NotCompilable(f"no mapping for {type_name}.{name}")
        return plan

    def connection(
        self,
        nodes: list[FieldNode],
        definition: GraphQLField,
        kind: str,
        item_type: str,
        parent_column: str | None,
    ) -> ConnectionPlan:
        connection_type = self.schema.get_type(f"{item_type}Connection")
        assert isinstance(connection_type, GraphQLObjectType)
        plan = ConnectionPlan(kind, item_type, nodes[0], definition, 0, parent_column)
        plan.index = self._index(plan)
        sets = [node.selection_set for node in nodes if node.selection_set is not None]
        for key, field_nodes in self.collect(sets, connection_type).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                plan.parts.append((key, ("typename", connection_type.name)))
            elif name == "totalCount":
                plan.parts.append((key, ("totalCount",)))
            elif name == "pageInfo":
                page_info = self.schema.get_type("PageInfo")
                assert isinstance(page_info, GraphQLObjectType)
                subs = self._subs(field_nodes, page_info)
                plan.parts.append((key, ("pageInfo", subs)))
            elif name == "edges":
                edge_type = self.schema.get_type(f"{item_type}Edge")
                assert isinstance(edge_type, GraphQLObjectType)
                edge_sets = [n.selection_set for n in field_nodes if n.selection_set is not None]
                edge_fields = self.collect(edge_sets, edge_type)
                subs = []
                node_plan = None
                for edge_key, edge_nodes in edge_fields.items():
                    edge_name = edge_nodes[0].name.value
                    if edge_name == "node":
                        if node_plan is not None:
                            raise NotCompilable("node twice under different keys")
                        node_plan = self.object(edge_nodes, item_type)
                        subs.append((edge_key, "node"))
                    elif edge_name in ("cursor", "__typename"):
                        subs.append((edge_key, edge_name))
                    else:
                        raise NotCompilable(f"edge field {edge_name}")
                plan.parts.append((key, ("edges", subs, node_plan)))
            elif name == "nodes":
                plan.parts.append((key, ("nodes", self.object(field_nodes, item_type))))
            else:
                raise NotCompilable(f"connection field {name}")
        return plan

    def _subs(self, nodes: list[FieldNode], type_: GraphQLObjectType) -> list[tuple[str, str]]:
        sets = [node.selection_set for node in nodes if node.selection_set is not None]
        subs = []
        for key, field_nodes in self.collect(sets, type_).items():
            name = field_nodes[0].name.value
            if name not in ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"):
                raise NotCompilable(name)
            subs.append((key, name))
        return subs


def plan_root(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    nodes: list[FieldNode],
    variables: VariableValues | None = None,
) -> RootPlan:
    """The plan of one root field (all the field nodes of its response key, those the root's ``@include``/
    ``@skip`` kept); NotCompilable if none. ``variables`` only for the document's directives."""
    query = schema.query_type
    assert query is not None
    name = nodes[0].name.value
    definition = query.fields.get(name)
    if definition is None:
        raise NotCompilable(name)
    planner = Planner(schema, fragments, variables)
    if name in ROOT_CONNECTIONS:
        connection = planner.connection(nodes, definition, name, ROOT_CONNECTIONS[name], None)
        return RootPlan("connection", nodes[0], definition, connection=connection, nodes=planner.indexed)
    if name in ROOT_SINGLES:
        type_name = ROOT_SINGLES[name]
        objects = {type_name: planner.object(nodes, type_name)}
        return RootPlan("single", nodes[0], definition, objects=objects, nodes=planner.indexed)
    if name == "node":
        objects = {type_name: planner.object(nodes, type_name) for type_name in NODE_TYPES}
        return RootPlan("node", nodes[0], definition, objects=objects, nodes=planner.indexed)
    raise NotCompilable(name)
