"""API tokens and the change log (audit trail and change feed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models._types import enum_column
from app.models.enums import ChangeOperation, TokenScope


class ApiToken(Base):
    """A named API token. Only a SHA-256 hash of the token is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    scope: Mapped[TokenScope] = mapped_column(enum_column(TokenScope, "token_scope"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_empty"),)


class ChangeCounter(Base):
    """One row holding the last change sequence handed out.

    Writers increment it in their transaction; the row lock is held until commit, so sequences are
    handed out in commit order and a rolled-back transaction gives its number back: no gaps.
    """

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class Change(Base):
    """One committed change to one object, in commit order."""

    __tablename__ = "change_log"

    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    operation: Mapped[ChangeOperation] = mapped_column(enum_column(ChangeOperation, "change_operation"))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(300))
    """The object's global id (still meaningful after a delete)."""
    actor: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Raw column values before (the deprecated ``Change.before``)."""
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Raw column values after (the deprecated ``Change.after``)."""
    natural_key: Mapped[str | None] = mapped_column(String(300))
    """The object's code or slug, for the types that have one (app.services.feed)."""
    before_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The values before in the API's terms: GraphQL field names, global ids (app.services.feed)."""
    after_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The values after in the API's terms."""


Index("ix_change_log_entity", Change.entity_type, Change.entity_id)
