"""The GraphQL schema of the Veerkracht API."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError, print_schema
from strawberry.types import ExecutionContext

from schema.changes import Subscription
from schema.errors import EXPECTED, classify
from schema.fusions import Fusion
from schema.limits import ConfiguredLimits, QueryCost
from schema.mutations import Mutation
from schema.participants import Municipality, Organization
from schema.provenance import SourceDocument
from schema.query import Query


class Schema(strawberry.federation.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Every error gets ``extensions.code``; only unexpected ones are logged (with their traceback).

        A client's mistake (bad argument, unknown code, invalid query) is answered, not logged as a fault.
        """
        unexpected = [error for error in errors if classify(error) not in EXPECTED]
        super().process_errors(unexpected, execution_context)


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Types reachable only through interfaces or `node`, listed so that they are always in the schema.
    types=[Municipality, Organization, Fusion, SourceDocument],
    # An Apollo Federation v2 subgraph: other provincial services can extend our entities.
    federation_version="2.11",
    # Query limits from the serving app's settings, checked before anything runs.
    extensions=[ConfiguredLimits, QueryCost],
)


def api_sdl() -> str:
    """The schema as clients see it (what ``export-schema`` prints and schema/schema.graphql holds).

    Without the federation directives (``@link``, ``@key``) that only gateways read: those are in the
    subgraph SDL, served by ``_service { sdl }`` and printed by ``export-schema --subgraph``.
    """
    return print_schema(schema._schema)


def subgraph_sdl() -> str:
    return schema.as_str()


__all__ = ["api_sdl", "schema", "subgraph_sdl"]
