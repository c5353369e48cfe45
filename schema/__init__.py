"""The GraphQL schema of the Veerkracht API."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import strawberry
from graphql import GraphQLError, print_schema
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.info import Info

from app.observability import current_request
from schema import execution as _execution  # noqa: F401  (first failure in document order, on import)
from schema.changes import Subscription
from schema.compiled import CompiledReads
from schema.errors import INTERNAL_SERVER_ERROR, bad_input, classify
from schema.fusions import Fusion
from schema.geo import SCALARS
from schema.limits import ConfiguredLimits, QueryCost
from schema.mutations import Mutation as DataMutation
from schema.operations import (
    CountedParserCache,
    CountedValidationCache,
    OperationPolicy,
    strip_suggestions,
)
from schema.participants import Municipality, Organization
from schema.permissions import FederationAccess
from schema.persisted import TrustedDocuments
from schema.provenance import SourceDocument
from schema.query import Query as DataQuery
from schema.webhooks import Webhook, WebhookMutation, WebhookQuery


def _document_order(error: GraphQLError) -> tuple[Any, ...]:
    """Where an error's field is in the document, then its path (list items in index order)."""
    location = (error.locations[0].line, error.locations[0].column) if error.locations else (1 << 62, 0)
    path = tuple((0, item, "") if isinstance(item, int) else (1, 0, item) for item in error.path or ())
    return (*location, path)


class Schema(strawberry.federation.Schema):
    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Strawberry's (its annotations make the `_entities` field: keep them), after checking each representation names an entity type of this subgraph (Strawberry
        looks ``__typename`` up unchecked: a malformed one would be an internal error)."""
        union = self._schema.get_type("_Entity")
        entities = {member.name for member in getattr(union, "types", [])}
        for index, representation in enumerate(representations):
            type_name = representation.get("__typename") if isinstance(representation, dict) else None
            if type_name not in entities:
                raise bad_input(
                    "representations",
                    f"item {index} must be an object whose `__typename` is one of {', '.join(sorted(entities))}",
                )
        return super().entities_resolver(info, representations)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Every error gets ``extensions.code``; only unexpected ones are logged (with their traceback).

        A client's mistake (bad argument, unknown code, invalid query) is answered, not logged as a fault.
        Each unexpected error gets an ``errorId``, logged with it; in production its message (which may
        hold SQL or internals) is replaced by one that gives only that id, for the operator to look up.
        """
        # Document order, on both paths (issue #15): graphql-core lists errors as its gathered fields finish,
        # and the compiled path (schema/compiled) as its root fields do. Sorted in place: ``errors`` is the
        # list the answer carries.
        errors.sort(key=_document_order)
        codes = [classify(error) for error in errors]
        settings = getattr(getattr(execution_context, "context", None), "settings", None)
        record = current_request.get()
        if record is not None and codes and record.outcome == "ok":
            record.outcome = codes[0]
        for error, code in zip(errors, codes, strict=True):
            if settings is not None and not settings.introspection:
                strip_suggestions(error)
            if code != INTERNAL_SERVER_ERROR:  # a client's mistake or a refusal: answered, not logged
                continue
            error_id = uuid.uuid4().hex
            if record is not None:
                record.error_ids.append(error_id)
            logger.error(
                "unexpected error %s in %s: %s",
                error_id,
                error.path or "the operation",
                error.message,
                exc_info=error.original_error or error,
                extra={"error_id": error_id},
            )
            error.extensions = {**(error.extensions or {}), "errorId": error_id}
            if settings is None or settings.environment == "production":
                error.message = (
                    f"Interne fout; hier staat niets over wat er misging. Geef foutnummer {error_id} door "
                    "aan de beheerders van de dienst: zij vinden het in de logs."
                )
                error.original_error = None


@strawberry.type(description="Who is involved in what in the programme Versterken Sociale Veerkracht.")
class Query(DataQuery, WebhookQuery):
    pass


@strawberry.type(
    description="Changes to the data. Each needs a token with the write scope and is all or nothing."
)
class Mutation(DataMutation, WebhookMutation):
    pass


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Types reachable only through interfaces or `node`, listed so that they are always in the schema.
    types=[Municipality, Organization, Fusion, SourceDocument, Webhook],
    # An Apollo Federation v2 subgraph: other provincial services can extend our entities.
    federation_version="2.11",
    config=StrawberryConfig(scalar_map=SCALARS),
    # Query limits from the serving app's settings, checked before anything runs.
    # Parse and validation caches: a client sends the same few documents again and again.
    extensions=[
        TrustedDocuments,
        ConfiguredLimits,
        OperationPolicy,
        FederationAccess,
        QueryCost,
        CompiledReads,
        lambda: CountedParserCache(maxsize=512),
        lambda: CountedValidationCache(maxsize=512),
    ],
)

logger = logging.getLogger("veerkracht.errors")


def api_sdl() -> str:
    """The schema as clients see it (what ``export-schema`` prints and schema/schema.graphql holds).

    Without the federation directives (``@link``, ``@key``) that only gateways read: those are in the
    subgraph SDL, served by ``_service { sdl }`` and printed by ``export-schema --subgraph``.
    """
    return print_schema(schema._schema)


def subgraph_sdl() -> str:
    return schema.as_str()


__all__ = ["api_sdl", "schema", "subgraph_sdl"]
