"""The change feed in the API's own terms: what one change-log entry says to a client.

A client knows objects by their global ids and natural keys (a municipality's CBS code, a slug) and their
values by GraphQL field names; never by database numbers. The change log therefore records, beside the
raw column values (kept for the deprecated ``before``/``after`` fields), each object's values as the API
names them: camelCase field names, enum values as GraphQL spells them, dates and moments in ISO 8601, and
every reference to another object as that object's global id. ``node(id:)`` fetches any of those ids.

:func:`feed_entry` is the one rendering of an entry: the ``changes`` query, the ``changes`` subscription
and webhook deliveries all send it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from app.models import Change

NATURAL_KEYS = {
    "Municipality": "code",
    "Organization": "slug",
    "Initiative": "slug",
    "SourceDocument": "slug",
}
"""The natural key of each logged type that has one (Involvement and Fusion are known by their id only)."""

REFERENCES = {"initiative_id": "initiative", "participant_id": "participant"}
"""Columns of logged rows that refer to another object, and the GraphQL field that names it."""

Resolve = Callable[[str, int], str | None]
"""(column, database key) → the global id of the object the column refers to."""


def global_id(type_name: str, key: object) -> str:
    """The Relay global id the API gives the object (base64 of ``Type:key``)."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def natural_key(entity_type: str, values: Mapping[str, Any] | None) -> str | None:
    column = NATURAL_KEYS.get(entity_type)
    if column is None or values is None:
        return None
    value = values.get(column)
    return None if value is None else str(value)


def api_values(entity_id: str, raw: Mapping[str, Any] | None, resolve: Resolve) -> dict[str, Any] | None:
    """The raw column values of a logged row, as the API names them (see the module docstring).

    ``raw`` is already plain JSON (enum values, ISO dates): only names and references change. The database
    key ``id`` becomes the object's global id; a reference column becomes the global id it refers to.
    """
    if raw is None:
        return None
    values: dict[str, Any] = {"id": entity_id}
    for column, value in raw.items():
        if column == "id":
            continue
        if column in REFERENCES:
            values[REFERENCES[column]] = None if value is None else resolve(column, int(value))
        else:
            values[camel(column)] = value
    return values


def _moment(value: dt.datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


def feed_entry(row: Change) -> dict[str, Any]:
    """One change as JSON, with the names of the GraphQL ``Change`` type (what a webhook receives)."""
    return {
        "sequence": row.sequence,
        "at": _moment(row.at),
        "operation": row.operation.value,
        "entityType": row.entity_type,
        "entityId": row.entity_id,
        "naturalKey": row.natural_key,
        "actor": row.actor,
        "beforeValues": row.before_values,
        "afterValues": row.after_values,
    }
