"""The municipalities' boundaries of the bundled dataset: ``boundaries.yaml`` and ``boundaries/*.geojson``.

Read and checked with the rest of the dataset (``read_dataset``), loaded in its transaction
(``load_dataset``). The format, and how dates map onto the year files, is in FORMAT.md ("Boundaries").
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import MunicipalityBoundary

if TYPE_CHECKING:
    from hashlib import _Hash

    from app.data.loader import MunicipalityEntry

INDEX_FILE = "boundaries.yaml"

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=100)]
Position = Annotated[list[float], Field(min_length=2, max_length=2)]
Ring = Annotated[list[Position], Field(min_length=4)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MapEntry(_Strict):
    file: Annotated[str, StringConstraints(pattern=r"^boundaries/[a-z0-9_-]+\.geojson$")]
    shows: dt.date
    """The day whose municipal division the file shows; it is used from then until the next map's day."""
    document: Slug


class BoundariesFile(_Strict):
    maps: Annotated[list[MapEntry], Field(min_length=1)]


class _Polygon(BaseModel):
    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1)]


class _MultiPolygon(BaseModel):
    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[Annotated[list[Ring], Field(min_length=1)]], Field(min_length=1)]


class _FeatureProperties(BaseModel):
    statcode: Annotated[str, StringConstraints(pattern=r"^GM\d{4}$")]
    statnaam: Annotated[str, StringConstraints(min_length=1)]


class _Feature(BaseModel):
    type: Literal["Feature"]
    properties: _FeatureProperties
    geometry: Annotated[_Polygon | _MultiPolygon, Field(discriminator="type")]


class _FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[_Feature]


@dataclass(frozen=True)
class BoundaryEntry:
    """One municipality's shape for one period: ``valid_until`` is the first day it no longer holds."""

    code: str
    valid_from: dt.date
    valid_until: dt.date | None
    geometry: str
    """The GeoJSON geometry as compact JSON text, as served."""
    document: str
    quote: str


def _rings(geometry: _Polygon | _MultiPolygon) -> list[list[list[float]]]:
    polygons = [geometry.coordinates] if isinstance(geometry, _Polygon) else geometry.coordinates
    return [ring for polygon in polygons for ring in polygon]


def read_boundaries(
    data_dir: Path,
    digest: _Hash,
    municipalities: Sequence[MunicipalityEntry],
    raw_texts: dict[str, str],
) -> tuple[list[BoundaryEntry], list[str]]:
    """The boundaries of ``boundaries.yaml``, checked against the municipalities; and the problems found.

    Every municipality has a shape for each period of each map in which it existed, and every shape
    belongs to a municipality of the dataset that existed on the day the map shows. Each problem names the
    file and the entry.
    """
    problems: list[str] = []
    try:
        content = (data_dir / INDEX_FILE).read_bytes()
    except OSError as exc:
        return [], [f"{INDEX_FILE}: cannot be read: {exc.strerror}"]
    digest.update(INDEX_FILE.encode() + b"\0" + content + b"\0")
    try:
        index = BoundariesFile.model_validate(yaml.safe_load(content))
    except (yaml.YAMLError, ValidationError) as exc:
        return [], [f"{INDEX_FILE}: {exc}"]
    days = [entry.shows for entry in index.maps]
    if days != sorted(set(days)):
        return [], [f"{INDEX_FILE}: the maps must be in order of `shows`, each day once: {days}"]

    by_code = {m.code: m for m in municipalities}
    entries: list[BoundaryEntry] = []
    for position, map_entry in enumerate(index.maps):
        start = map_entry.shows
        end = index.maps[position + 1].shows if position + 1 < len(index.maps) else None
        name = map_entry.file
        where = f"{INDEX_FILE}: map {position} ({name})"
        text = raw_texts.get(map_entry.document)
        if text is None:
            problems.append(f"{where}: unknown document {map_entry.document!r} (not in sources.yaml)")
            continue
        try:
            raw = (data_dir / name).read_bytes()
            digest.update(name.encode() + b"\0" + raw + b"\0")
            collection = _FeatureCollection.model_validate_json(raw)
        except OSError as exc:
            problems.append(f"{where}: cannot be read: {exc.strerror}")
            continue
        except ValidationError as exc:
            problems.append(
                f"{name}: is not a FeatureCollection of polygons with statcode and statnaam: {exc}"
            )
            continue
        period = f"used for {start} until {end - dt.timedelta(days=1) if end else 'a newer map'}"
        seen: set[str] = set()
        for number, feature in enumerate(collection.features):
            code, statnaam = feature.properties.statcode, feature.properties.statnaam
            at = f"{name}: feature {number} (statcode {code}, statnaam {statnaam!r})"
            municipality = by_code.get(code)
            if municipality is None:
                problems.append(f"{at}: no municipality with this code in municipalities.yaml")
                continue
            if code in seen:
                problems.append(f"{at}: a second shape for this municipality")
                continue
            seen.add(code)
            if not _existed_on(municipality, start):
                problems.append(f"{at}: {municipality.name} did not exist on {start}, the day this map shows")
                continue
            open_rings = [i for i, ring in enumerate(_rings(feature.geometry)) if ring[0] != ring[-1]]
            if open_rings:
                problems.append(f"{at}: rings {open_rings} are not closed (last position = first)")
                continue
            quote = _quote(text, code, statnaam)
            if quote is None:
                problems.append(
                    f"{at}: document {map_entry.document!r} has no properties entry with "
                    f'"statcode":"{code}" and "statnaam":{json.dumps(statnaam, ensure_ascii=False)}'
                )
                continue
            dissolved = municipality.dissolved_on
            entries.append(
                BoundaryEntry(
                    code=code,
                    valid_from=start,
                    valid_until=min(end, dissolved) if end and dissolved else end or dissolved,
                    geometry=json.dumps(
                        feature.geometry.model_dump(), ensure_ascii=False, separators=(",", ":")
                    ),
                    document=map_entry.document,
                    quote=quote,
                )
            )
        for municipality in municipalities:
            if municipality.code in seen or not _existed_during(municipality, start, end):
                continue
            lived = f"existed from {municipality.founded_on or 'before 2015'} until " + (
                f"{municipality.dissolved_on - dt.timedelta(days=1)}"
                if municipality.dissolved_on
                else "today"
            )
            problems.append(
                f"{name}: no shape for {municipality.code} {municipality.name}, which {lived}; this map is "
                f"{period}"
                + (
                    f" (it was founded after {start}: add a map that shows {municipality.founded_on})"
                    if municipality.founded_on and municipality.founded_on > start
                    else ""
                )
            )
    return entries, problems


def _existed_on(municipality: MunicipalityEntry, day: dt.date) -> bool:
    founded, dissolved = municipality.founded_on, municipality.dissolved_on
    return (founded is None or founded <= day) and (dissolved is None or day < dissolved)


def _existed_during(municipality: MunicipalityEntry, start: dt.date, end: dt.date | None) -> bool:
    founded, dissolved = municipality.founded_on, municipality.dissolved_on
    return (dissolved is None or start < dissolved) and (founded is None or end is None or founded < end)


def _quote(text: str, code: str, statnaam: str) -> str | None:
    """The verbatim ``"properties":{...}`` of the document that ties ``code`` to ``statnaam``."""
    pattern = r'"properties":\{[^{}]*"statcode":"' + re.escape(code) + r'"[^{}]*\}'
    found = re.findall(pattern, text)
    name = '"statnaam":' + json.dumps(statnaam, ensure_ascii=False)
    matching = [str(entry) for entry in found if name in entry]
    return matching[0] if len(matching) == 1 else None


async def load_boundaries(
    session: AsyncSession,
    entries: Sequence[BoundaryEntry],
    participants: dict[str, int],
    documents: dict[str, int],
) -> None:
    """Make the boundaries exactly ``entries`` (they come only from the bundled dataset)."""
    await session.execute(delete(MunicipalityBoundary))
    session.add_all(
        MunicipalityBoundary(
            municipality_id=participants[entry.code],
            valid_from=entry.valid_from,
            valid_until=entry.valid_until,
            geometry=entry.geometry,
            document_id=documents[entry.document],
            quote=entry.quote,
        )
        for entry in entries
    )
    await session.flush()
