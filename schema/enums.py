"""The GraphQL enums, with a description for every value (the model enums stay free of GraphQL)."""

from __future__ import annotations

import enum
from typing import TypeVar

import strawberry

from app.models.enums import (
    ChangeOperation,
    FusionKind,
    InitiativeKind,
    InitiativeStatus,
    OrganizationKind,
    PartnerRole,
)

E = TypeVar("E", bound=type[enum.Enum])


def graphql_enum(cls: E, description: str, values: dict[str, str]) -> E:
    """Register ``cls`` as a GraphQL enum; ``values`` describes each member and must name all of them."""
    if set(values) != set(cls.__members__):
        raise ValueError(f"{cls.__name__}: describe exactly its members {sorted(cls.__members__)}")
    strawberry.enum(cls, description=description)
    for value in cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values[value.name]
    return cls


graphql_enum(
    FusionKind,
    "How municipalities were reorganised.",
    {
        "MERGER": "The dissolved municipalities form one new municipality.",
        "SPLIT": "One municipality is dissolved and divided over existing ones.",
    },
)
graphql_enum(
    OrganizationKind,
    "What sort of organisation it is.",
    {
        "PROVINCE": "A province (Provincie Noord-Brabant).",
        "WATER_BOARD": "A water board (waterschap).",
        "COMPANY": "A company.",
        "FOUNDATION": "A foundation (stichting).",
        "KNOWLEDGE_INSTITUTE": "A knowledge or research institute.",
        "NETWORK": "A network or community of organisations and initiatives.",
        "REGIONAL_PARTNERSHIP": "A partnership of municipalities in a region (B5, Regio West-Brabant, ...).",
        "PROGRAMME": "A policy programme (Versterken Sociale Veerkracht).",
        "CITIZEN_GROUP": "Residents or their councils (dorpsraden, bewoners).",
        "OTHER": "Anything else.",
    },
)
graphql_enum(
    InitiativeKind,
    "What sort of initiative it is.",
    {
        "PILOT": "A pilot.",
        "TEST_BED": "A test bed (proeftuin).",
        "METHOD": "A method or tool, e.g. a dialogue game.",
        "PROGRAMME": "A programme of its own.",
        "NETWORK": "A network or community.",
        "FUND": "A fund.",
        "KNOWLEDGE_EXCHANGE": "Exchange of knowledge and networks.",
    },
)
graphql_enum(
    InitiativeStatus,
    "Where an initiative stands, as its source describes it.",
    {
        "EXPLORING": "Being explored or prepared.",
        "ACTIVE": "Running.",
        "COMPLETED": "Finished.",
    },
)
graphql_enum(
    PartnerRole,
    "The part a participant plays in an initiative, mapped from the source's words.",
    {
        "INITIATOR": 'Initiated or commissioned it ("gezamenlijk initiatief van", "in opdracht van").',
        "PARTNER": 'Works on it together with the others ("werken samen").',
        "PARTICIPANT": 'Takes part in it, is connected to it ("aangesloten").',
        "OBSERVER": 'Attends as a listener ("als toehoorder").',
        "EXPLORING": 'Explores a similar approach ("wordt een soortgelijke aanpak verkend").',
        "HOST": 'Where it was applied ("toegepast in").',
        "REQUESTER": 'Asked for it ("inspelend op de vraag van").',
        "PROCESS_FACILITATOR": 'Independent process facilitation ("procesbegeleider").',
        "COORDINATOR": 'Project coordination, monitoring and direction ("projectcoördinatie, monitoring en regie").',
        "DESIGNER": 'Designed or developed it ("ontwikkeld", "social designers").',
        "EXECUTOR": 'Carries it out ("uitgevoerd door").',
        "FUNDER": 'Funds or subsidises it ("gesubsidieerd vanuit").',
        "MEMBER": 'Member of a network or community ("lid van").',
    },
)
graphql_enum(
    ChangeOperation,
    "What a change did to its object.",
    {
        "CREATED": "The object was created.",
        "UPDATED": "The object was changed.",
        "DELETED": "The object was deleted.",
    },
)
