"""Maps: the ``GeoJSON`` scalar and the boundaries of municipalities (``Municipality.boundary``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NewType

import orjson
import strawberry

GeoJSON = NewType("GeoJSON", object)
"""A GeoJSON geometry object, as the service sends it (a dict read from the stored JSON text)."""


def _parse_geojson(value: Any) -> object:
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise ValueError("a GeoJSON value must be an object with a `type`, e.g. {'type': 'Polygon', ...}")
    return value


GEOJSON_SCALAR = strawberry.scalar(
    name="GeoJSON",
    description="A GeoJSON geometry object (RFC 7946, WGS84 longitude/latitude), e.g. a Polygon or MultiPolygon.",
    specified_by_url="https://www.rfc-editor.org/rfc/rfc7946",
    serialize=lambda value: value,
    parse_value=_parse_geojson,
)
SCALARS: dict[object, Any] = {GeoJSON: GEOJSON_SCALAR}


def last_day(dissolved_on: dt.date | None, today: dt.date) -> dt.date:
    """A municipality's last day of existence: the day before its dissolution, or today while it exists."""
    return dissolved_on - dt.timedelta(days=1) if dissolved_on is not None else today


def boundary_on(periods: Sequence[Any], day: dt.date) -> GeoJSON | None:
    """The geometry of the period (rows of valid_from, valid_until, geometry) that holds on ``day``."""
    for period in periods:
        if period.valid_from <= day and (period.valid_until is None or day < period.valid_until):
            return GeoJSON(orjson.loads(period.geometry))
    return None
