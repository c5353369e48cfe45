"""The change log: every committed write, who made it, with before and after values, in commit order.

Recorded by one SQLAlchemy ``after_flush`` hook, so mutations, imports and the dataset loader are all logged
the same way, in the writing transaction itself (a rolled-back write leaves no trace).

Sequences are gapless and follow commit order: a writing transaction first locks the single
``change_counter`` row (:func:`lock_change_log`) and holds that lock until it commits, so writers take
turns and a rolled-back transaction hands its numbers back. Locking first, before any other row, also
means two writers can never hold each other's rows (no deadlocks). Writes are serialised: right for an
editorial dataset with a few writers, and what "no gaps, commit order" requires.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import event, insert, inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from app.db import utc_now
from app.models import (
    Change,
    ChangeCounter,
    Fusion,
    Initiative,
    Involvement,
    Municipality,
    Organization,
    SourceDocument,
)
from app.models.enums import ChangeOperation
from app.services.feed import REFERENCES, Resolve, api_values, global_id, natural_key

NOTIFY_CHANNEL = "veerkracht_changes"
SYSTEM_ACTOR = "system"

DATA_VERSION = select(ChangeCounter.last_sequence).where(ChangeCounter.id == 1)
"""The data version: every committed write advances it (the response cache stores answers under it)."""

# What is logged, under which GraphQL type name, with which key inside its global id.
_TRACKED: dict[type, tuple[str, str]] = {
    Municipality: ("Municipality", "code"),
    Organization: ("Organization", "slug"),
    Initiative: ("Initiative", "slug"),
    Involvement: ("Involvement", "id"),
    Fusion: ("Fusion", "id"),
    SourceDocument: ("SourceDocument", "slug"),
}
# Derived or internal columns that say nothing a client does not see in the others.
_HIDDEN = {"name_folded", "search_folded", "type", "text"}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _snapshot(obj: Any, *, before: bool = False) -> dict[str, Any]:
    state = inspect(obj)
    values = {}
    for attribute in state.mapper.column_attrs:
        if attribute.key in _HIDDEN:
            continue
        value = getattr(obj, attribute.key)
        if before:
            history = state.attrs[attribute.key].history
            if history.deleted:
                value = history.deleted[0]
        values[attribute.key] = _plain(value)
    return values


def _tracked(obj: Any) -> tuple[str, str] | None:
    for model, description in _TRACKED.items():
        if isinstance(obj, model):
            return description
    return None


Entry = tuple[ChangeOperation, str, str, dict[str, Any] | None, dict[str, Any] | None]

_LOOKUP_CHUNK = 500
"""Keys per ``IN (...)`` when looking references up (each is a statement parameter)."""


def _resolver(session: Session, entries: list[Entry]) -> Resolve:
    """Global ids for the references (initiative_id, participant_id) in ``entries``' values.

    Looked up in one statement per referenced table and flush (an import of thousands of involvements
    flushes them together: two statements, not two per involvement). An object deleted in this same flush
    is no longer in its table: the session still holds it.
    """
    wanted: dict[str, set[int]] = {column: set() for column in REFERENCES}
    for _operation, _type, _id, before, after in entries:
        for values in (before, after):
            for column in REFERENCES:
                if values is not None and values.get(column) is not None:
                    wanted[column].add(int(values[column]))
    found: dict[tuple[str, int], str] = {}
    for obj in session.deleted:
        if isinstance(obj, Initiative):
            found["initiative_id", obj.id] = global_id("Initiative", obj.slug)
        elif isinstance(obj, Municipality):
            found["participant_id", obj.id] = global_id("Municipality", obj.code)
        elif isinstance(obj, Organization):
            found["participant_id", obj.id] = global_id("Organization", obj.slug)
    connection = session.connection()
    lookups = {
        "initiative_id": [("Initiative", Initiative.id, Initiative.slug)],
        "participant_id": [
            ("Municipality", Municipality.id, Municipality.code),
            ("Organization", Organization.id, Organization.slug),
        ],
    }
    for column, keys in wanted.items():
        missing = sorted(key for key in keys if (column, key) not in found)
        for start in range(0, len(missing), _LOOKUP_CHUNK):
            chunk = missing[start : start + _LOOKUP_CHUNK]
            for type_name, key_column, natural in lookups[column]:
                for key, value in connection.execute(
                    select(key_column, natural).where(key_column.in_(chunk))
                ).all():
                    found[column, key] = global_id(type_name, value)
    return lambda column, key: found.get((column, key))


def _record_changes(session: Session, _flush_context: UOWTransaction) -> None:
    entries: list[Entry] = []
    for obj in session.new:
        if tracked := _tracked(obj):
            entries.append(
                (
                    ChangeOperation.CREATED,
                    tracked[0],
                    global_id(tracked[0], getattr(obj, tracked[1])),
                    None,
                    _snapshot(obj),
                )
            )
    for obj in session.dirty:
        if (tracked := _tracked(obj)) and session.is_modified(obj, include_collections=False):
            before, after = _snapshot(obj, before=True), _snapshot(obj)
            if before != after:
                key = before[tracked[1]] if tracked[1] in before else getattr(obj, tracked[1])
                entries.append(
                    (ChangeOperation.UPDATED, tracked[0], global_id(tracked[0], key), before, after)
                )
    for obj in session.deleted:
        if tracked := _tracked(obj):
            entries.append(
                (
                    ChangeOperation.DELETED,
                    tracked[0],
                    global_id(tracked[0], getattr(obj, tracked[1])),
                    _snapshot(obj),
                    None,
                )
            )
    if not entries:
        return
    resolve = _resolver(session, entries)
    connection = session.connection()
    last = connection.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(last_sequence=ChangeCounter.last_sequence + len(entries))
        .returning(ChangeCounter.last_sequence)
    ).scalar_one()
    first = last - len(entries) + 1
    actor = str(session.info.get("actor", SYSTEM_ACTOR))
    moment = utc_now()
    connection.execute(
        insert(Change),
        [
            {
                "sequence": first + offset,
                "at": moment,
                "operation": operation,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "actor": actor,
                "before": before,
                "after": after,
                "natural_key": natural_key(entity_type, after if after is not None else before),
                "before_values": api_values(entity_id, before, resolve),
                "after_values": api_values(entity_id, after, resolve),
            }
            for offset, (operation, entity_type, entity_id, before, after) in enumerate(entries)
        ],
    )
    if connection.dialect.name == "postgresql":
        # Delivered to every listening instance when (and only if) this transaction commits.
        connection.execute(
            text("SELECT pg_notify(:channel, :sequence)"), {"channel": NOTIFY_CHANNEL, "sequence": str(last)}
        )


event.listen(Session, "after_flush", _record_changes)


async def lock_change_log(session: AsyncSession) -> None:
    """Take this transaction's turn to write (see the module docstring); call before the first write.

    PostgreSQL: lock the counter row until commit. SQLite: start the transaction as a writer
    (``BEGIN IMMEDIATE``), so that concurrent writers wait their turn instead of failing with "database
    is locked" when two readers both try to become the writer.
    """
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("BEGIN IMMEDIATE"))
    else:
        await session.execute(
            select(ChangeCounter.last_sequence).where(ChangeCounter.id == 1).with_for_update()
        )


async def last_sequence(session: AsyncSession) -> int:
    return int(await session.scalar(DATA_VERSION) or 0)
