"""A second provincial subgraph, for the federation test: an impact monitor that extends our entities.

uvicorn --factory tests.federation.monitor_subgraph:create_app --port PORT
"""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

BUDGETS = {"pilot-altena": 120_000, "veerkrachtdialoog": 45_000}
SCORES = {"GM1959": 7.5, "GM0855": 6.8}


@strawberry.federation.type(
    keys=["slug"], description="An initiative of the Veerkracht subgraph, with its budget."
)
class Initiative:
    slug: str

    @strawberry.field(description="Budget in euros, as the impact monitor knows it.")
    def budget_eur(self) -> int | None:
        return BUDGETS.get(self.slug)

    @classmethod
    def resolve_reference(cls, slug: str) -> Initiative:
        return cls(slug=slug)


@strawberry.federation.type(
    keys=["code"], description="A municipality of the Veerkracht subgraph, with a score."
)
class Municipality:
    code: str

    @strawberry.field(description="Resilience score from the impact monitor.")
    def monitor_score(self) -> float | None:
        return SCORES.get(self.code)

    @classmethod
    def resolve_reference(cls, code: str) -> Municipality:
        return cls(code=code)


@strawberry.type
class Query:
    @strawberry.field(description="The initiatives the monitor follows.")
    def monitored_initiatives(self) -> list[Initiative]:
        return [Initiative(slug=slug) for slug in BUDGETS]


schema = strawberry.federation.Schema(query=Query, types=[Municipality], federation_version="2.11")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"])])
