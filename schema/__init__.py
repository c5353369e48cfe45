"""The GraphQL schema of the Veerkracht API."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from schema.changes import Subscription
from schema.errors import EXPECTED, classify
from schema.fusions import Fusion
from schema.mutations import Mutation
from schema.participants import Municipality, Organization
from schema.provenance import SourceDocument
from schema.query import Query


class Schema(strawberry.Schema):
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
)

__all__ = ["schema"]
