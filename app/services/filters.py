"""SQL conditions for the filters of the read API. Inputs are already validated and resolved to ids."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, select, true

from app.models import (
    Initiative,
    InitiativeTheme,
    Involvement,
    Membership,
    Municipality,
    MunicipalityAlias,
)
from app.models.enums import InitiativeKind, InitiativeStatus, PartnerRole


@dataclass(frozen=True)
class InvolvementCriteria:
    roles: tuple[PartnerRole, ...] | None = None
    initiative_id: int | None = None
    participant_ids: tuple[int, ...] | None = None
    """All of these must match (a municipality code and an organisation slug both given: AND)."""


def involvement_conditions(criteria: InvolvementCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.roles is not None:
        conditions.append(Involvement.role.in_(criteria.roles))
    if criteria.initiative_id is not None:
        conditions.append(Involvement.initiative_id == criteria.initiative_id)
    for participant_id in criteria.participant_ids or ():
        conditions.append(Involvement.participant_id == participant_id)
    return conditions


def active_on(day: dt.date) -> ColumnElement[bool]:
    """The municipality existed on ``day``: founded on or before it, dissolved after it."""
    return and_(
        or_(Municipality.founded_on.is_(None), Municipality.founded_on <= day),
        or_(Municipality.dissolved_on.is_(None), Municipality.dissolved_on > day),
    )


@dataclass(frozen=True)
class MunicipalityCriteria:
    active_on: dt.date | None = None
    name_folded: str | None = None
    involved: bool | None = None
    region_id: int | None = None
    participating_on: dt.date | None = None
    """Only those existing that day whose territory took part (app.services.territory)."""


def municipality_conditions(criteria: MunicipalityCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.active_on is not None:
        conditions.append(active_on(criteria.active_on))
    if criteria.name_folded is not None:
        # Its name, or a name people use for it (app/data/aliases.yaml): "den bosch" finds 's-Hertogenbosch.
        aliased = select(MunicipalityAlias.municipality_id).where(
            MunicipalityAlias.name_folded.contains(criteria.name_folded, autoescape=True)
        )
        conditions.append(
            or_(
                Municipality.name_folded.contains(criteria.name_folded, autoescape=True),
                Municipality.id.in_(aliased),
            )
        )
    if criteria.involved is not None:
        has_any = exists().where(Involvement.participant_id == Municipality.id)
        conditions.append(has_any if criteria.involved else ~has_any)
    if criteria.participating_on is not None:
        from app.services.territory import participating_on  # it builds on active_on, above

        conditions.append(participating_on(criteria.participating_on))
    if criteria.region_id is not None:
        conditions.append(
            Municipality.id.in_(
                select(Membership.member_id).where(Membership.organization_id == criteria.region_id)
            )
        )
    return conditions


@dataclass(frozen=True)
class InitiativeCriteria:
    kinds: tuple[InitiativeKind, ...] | None = None
    statuses: tuple[InitiativeStatus, ...] | None = None
    theme_folded: str | None = None
    participant_ids: tuple[int, ...] = ()
    roles: tuple[PartnerRole, ...] | None = None
    search_words: tuple[str, ...] = ()


def initiative_conditions(criteria: InitiativeCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.kinds is not None:
        conditions.append(Initiative.kind.in_(criteria.kinds))
    if criteria.statuses is not None:
        conditions.append(Initiative.status.in_(criteria.statuses))
    if criteria.theme_folded is not None:
        conditions.append(
            exists().where(
                InitiativeTheme.initiative_id == Initiative.id,
                InitiativeTheme.theme_folded == criteria.theme_folded,
            )
        )
    role_condition = Involvement.role.in_(criteria.roles) if criteria.roles is not None else true()
    for participant_id in criteria.participant_ids:
        conditions.append(
            exists().where(
                Involvement.initiative_id == Initiative.id,
                Involvement.participant_id == participant_id,
                role_condition,
            )
        )
    if criteria.roles is not None and not criteria.participant_ids:
        conditions.append(exists().where(Involvement.initiative_id == Initiative.id, role_condition))
    for word in criteria.search_words:
        conditions.append(Initiative.search_folded.contains(word, autoescape=True))
    return conditions
