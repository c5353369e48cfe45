"""The GraphQL schema of the Veerkracht API."""

from __future__ import annotations

import strawberry

from schema.fusions import Fusion
from schema.participants import Municipality, Organization
from schema.provenance import SourceDocument
from schema.query import Query

schema = strawberry.Schema(
    query=Query,
    # Types reachable only through interfaces or `node`, listed so that they are always in the schema.
    types=[Municipality, Organization, Fusion, SourceDocument],
)

__all__ = ["schema"]
