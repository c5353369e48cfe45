"""Controlled vocabularies, shared by the database (CHECK constraints) and the GraphQL enums."""

from __future__ import annotations

import enum


class FusionKind(enum.StrEnum):
    MERGER = "MERGER"
    SPLIT = "SPLIT"


class OrganizationKind(enum.StrEnum):
    PROVINCE = "PROVINCE"
    WATER_BOARD = "WATER_BOARD"
    COMPANY = "COMPANY"
    FOUNDATION = "FOUNDATION"
    KNOWLEDGE_INSTITUTE = "KNOWLEDGE_INSTITUTE"
    NETWORK = "NETWORK"
    REGIONAL_PARTNERSHIP = "REGIONAL_PARTNERSHIP"
    PROGRAMME = "PROGRAMME"
    CITIZEN_GROUP = "CITIZEN_GROUP"
    OTHER = "OTHER"


class InitiativeKind(enum.StrEnum):
    PILOT = "PILOT"
    TEST_BED = "TEST_BED"
    METHOD = "METHOD"
    PROGRAMME = "PROGRAMME"
    NETWORK = "NETWORK"
    FUND = "FUND"
    KNOWLEDGE_EXCHANGE = "KNOWLEDGE_EXCHANGE"


class InitiativeStatus(enum.StrEnum):
    EXPLORING = "EXPLORING"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"


class PartnerRole(enum.StrEnum):
    INITIATOR = "INITIATOR"
    PARTNER = "PARTNER"
    PARTICIPANT = "PARTICIPANT"
    OBSERVER = "OBSERVER"
    EXPLORING = "EXPLORING"
    HOST = "HOST"
    REQUESTER = "REQUESTER"
    PROCESS_FACILITATOR = "PROCESS_FACILITATOR"
    COORDINATOR = "COORDINATOR"
    DESIGNER = "DESIGNER"
    EXECUTOR = "EXECUTOR"
    FUNDER = "FUNDER"
    MEMBER = "MEMBER"


class Basis(enum.StrEnum):
    """Whether a fact says what its source says (QUOTED) or goes beyond its words (INTERPRETED, with a note)."""

    QUOTED = "QUOTED"
    INTERPRETED = "INTERPRETED"


class Language(enum.StrEnum):
    """The languages descriptive texts are served in: Dutch (the source language) and English."""

    NL = "NL"
    EN = "EN"


class ParticipantType(enum.StrEnum):
    MUNICIPALITY = "municipality"
    ORGANIZATION = "organization"


class FusionSide(enum.StrEnum):
    DISSOLVED = "dissolved"
    RESULTING = "resulting"


class ChangeOperation(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class TokenScope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
