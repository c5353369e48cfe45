"""The municipalities of a date as a GeoJSON FeatureCollection, with how each took part in initiatives.

A municipality that existed on the date stands for its own involvements and, territorially, for those of
the municipalities it was formed from or received territory from (its predecessors, through every merger
and split) and for those of the municipality it merged into (its successors, through mergers only: after a
split only part of its territory went to each receiver). Each involvement says which of the three it is
(``via``: ``self``, ``predecessor`` or ``successor``), and names the municipality the source records it for.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Fusion,
    FusionMunicipality,
    Initiative,
    Involvement,
    Municipality,
    MunicipalityBoundary,
    SourceDocument,
)
from app.models.enums import FusionKind, FusionSide


@dataclass(frozen=True)
class _Fusions:
    predecessors: dict[int, set[int]]
    """Municipality id -> the ids it was formed from or took territory from (one step back)."""
    merged_into: dict[int, set[int]]
    """Municipality id -> the id of the municipality a merger put it in (one step forward)."""


def _closure(start: int, step: dict[int, set[int]]) -> set[int]:
    seen: set[int] = set()
    pending = list(step.get(start, ()))
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(step.get(current, ()))
    return seen


async def _fusions(session: AsyncSession) -> _Fusions:
    rows = (
        await session.execute(
            select(
                FusionMunicipality.fusion_id,
                FusionMunicipality.municipality_id,
                FusionMunicipality.side,
                Fusion.kind,
            ).join(Fusion, Fusion.id == FusionMunicipality.fusion_id)
        )
    ).all()
    sides: dict[int, dict[FusionSide, list[int]]] = defaultdict(lambda: defaultdict(list))
    kinds: dict[int, FusionKind] = {}
    for fusion_id, municipality_id, side, kind in rows:
        sides[fusion_id][side].append(municipality_id)
        kinds[fusion_id] = kind
    predecessors: dict[int, set[int]] = defaultdict(set)
    merged_into: dict[int, set[int]] = defaultdict(set)
    for fusion_id, by_side in sides.items():
        for resulting in by_side[FusionSide.RESULTING]:
            predecessors[resulting].update(by_side[FusionSide.DISSOLVED])
            if kinds[fusion_id] is FusionKind.MERGER:
                for dissolved in by_side[FusionSide.DISSOLVED]:
                    merged_into[dissolved].add(resulting)
    return _Fusions(predecessors=predecessors, merged_into=merged_into)


async def initiative_exists(session: AsyncSession, slug: str) -> bool:
    return await session.scalar(select(Initiative.id).where(Initiative.slug == slug)) is not None


async def municipalities_geojson(session: AsyncSession, on: dt.date, initiative: str | None) -> bytes:
    """The FeatureCollection (RFC 7946) of the municipalities that existed on ``on`` and have a boundary then.

    Four statements whatever the date: the municipalities with their boundary (and its source), the
    fusions, the involvements of municipalities, and nothing else.
    """
    existed = and_(
        or_(Municipality.founded_on.is_(None), Municipality.founded_on <= on),
        or_(Municipality.dissolved_on.is_(None), Municipality.dissolved_on > on),
    )
    shapes = (
        await session.execute(
            select(
                Municipality.id,
                Municipality.code,
                Municipality.name,
                Municipality.founded_on,
                Municipality.dissolved_on,
                MunicipalityBoundary.geometry,
                MunicipalityBoundary.valid_from,
                MunicipalityBoundary.valid_until,
                MunicipalityBoundary.quote,
                SourceDocument.title,
                SourceDocument.url,
            )
            .join(MunicipalityBoundary, MunicipalityBoundary.municipality_id == Municipality.id)
            .join(SourceDocument, SourceDocument.id == MunicipalityBoundary.document_id)
            .where(
                existed,
                MunicipalityBoundary.valid_from <= on,
                or_(MunicipalityBoundary.valid_until.is_(None), MunicipalityBoundary.valid_until > on),
            )
            .order_by(Municipality.code)
        )
    ).all()
    fusions = await _fusions(session)
    involvement_query = (
        select(
            Involvement.participant_id,
            Involvement.role,
            Involvement.description,
            Initiative.slug,
            Initiative.name,
            Municipality.code,
            Municipality.name,
        )
        .join(Initiative, Initiative.id == Involvement.initiative_id)
        .join(Municipality, Municipality.id == Involvement.participant_id)
        .order_by(Involvement.id)
    )
    if initiative is not None:
        involvement_query = involvement_query.where(Initiative.slug == initiative)
    involvements: dict[int, list[Any]] = defaultdict(list)
    for involvement in (await session.execute(involvement_query)).all():
        involvements[involvement[0]].append(involvement)

    features = []
    for row in shapes:
        related = [(row.id, "self")]
        related += [(other, "predecessor") for other in sorted(_closure(row.id, fusions.predecessors))]
        related += [(other, "successor") for other in sorted(_closure(row.id, fusions.merged_into))]
        items = [
            {
                "initiative": slug,
                "initiativeName": initiative_name,
                "role": role.value,
                "description": description,
                "participant": {"code": code, "name": name},
                "via": via,
            }
            for other, via in related
            for _, role, description, slug, initiative_name, code, name in involvements.get(other, ())
        ]
        properties: dict[str, Any] = {
            "code": row.code,
            "name": row.name,
            "foundedOn": _date(row.founded_on),
            "dissolvedOn": _date(row.dissolved_on),
            "involved": bool(items),
            "initiativeCount": len({item["initiative"] for item in items}),
            "involvements": items,
            "boundary": {
                "validFrom": _date(row.valid_from),
                "validUntil": _date(row.valid_until),
                "source": {"title": row.title, "url": row.url, "quote": row.quote},
            },
        }
        if initiative is not None:
            properties["roles"] = sorted({item["role"] for item in items})
            properties["via"] = sorted({item["via"] for item in items})
        features.append(
            {
                "type": "Feature",
                "id": row.code,
                "geometry": orjson.Fragment(row.geometry),
                "properties": properties,
            }
        )
    return orjson.dumps(
        {"type": "FeatureCollection", "on": on.isoformat(), "initiative": initiative, "features": features}
    )


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None
