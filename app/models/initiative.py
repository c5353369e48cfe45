"""Initiatives and who is involved in them in which role (an n-ary relation, like org:Membership)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, only_on, utc_now
from app.models._types import enum_column
from app.models.enums import Basis, InitiativeKind, InitiativeStatus, PartnerRole

BASIS_NOTE_RULE = "(basis = 'INTERPRETED') = (basis_note IS NOT NULL)"
"""An interpretation always has its note, and only an interpretation has one."""


class Initiative(Base):
    """A pilot, test bed, method, network, fund or exchange."""

    __tablename__ = "initiative"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[InitiativeKind] = mapped_column(enum_column(InitiativeKind, "initiative_kind"))
    status: Mapped[InitiativeStatus] = mapped_column(enum_column(InitiativeStatus, "initiative_status"))
    summary: Mapped[str] = mapped_column(Text)
    """In Dutch, the source language; ``summary_en`` is its English translation (null: none yet)."""
    summary_en: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[Basis] = mapped_column(
        enum_column(Basis, "basis"), default=Basis.QUOTED, server_default=Basis.QUOTED.value
    )
    """INTERPRETED where its status or summary goes beyond the source's words; ``basis_note`` says how."""
    basis_note: Mapped[str | None] = mapped_column(Text)
    basis_note_en: Mapped[str | None] = mapped_column(Text)
    # Folded name and summary words (app.services.text.fold_words) for portable word search.
    search_folded: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    """Raised by one on every update; an update that names an older version is refused (optimistic)."""
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, onupdate=utc_now, server_default=func.current_timestamp()
    )

    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("length(slug) > 0", name="slug_not_empty"),
        CheckConstraint(BASIS_NOTE_RULE, name="basis_note"),
        # The word search is `search_folded LIKE '%word%'`: a trigram index answers it without reading
        # every initiative (PostgreSQL's pg_trgm; migration 0004). SQLite has none and scans.
        only_on(
            "postgresql",
            Index(
                "ix_initiative_search_folded_trgm",
                "search_folded",
                postgresql_using="gin",
                postgresql_ops={"search_folded": "gin_trgm_ops"},
            ),
        ),
    )
    __mapper_args__ = {"version_id_col": version}


class InitiativeTheme(Base):
    """A policy programme the initiative crosses over with ("cross-over met Leegstand/Water")."""

    __tablename__ = "initiative_theme"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    theme: Mapped[str] = mapped_column(String(200))
    theme_folded: Mapped[str] = mapped_column(String(200), index=True)

    __table_args__ = (UniqueConstraint("initiative_id", "theme"),)


class ReportedFigure(Base):
    """A number the source reports without listing members (57 municipalities in a network)."""

    __tablename__ = "reported_figure"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(300))
    """In Dutch; ``label_en`` and ``unit_en`` are the English translations."""
    label_en: Mapped[str | None] = mapped_column(String(300))
    value: Mapped[int]
    unit: Mapped[str] = mapped_column(String(100))
    unit_en: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("initiative_id", "label"),)


class Involvement(Base):
    """One participant's part in one initiative, in one role."""

    __tablename__ = "involvement"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    role: Mapped[PartnerRole] = mapped_column(enum_column(PartnerRole, "partner_role"))
    description: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[Basis] = mapped_column(
        enum_column(Basis, "basis"), default=Basis.QUOTED, server_default=Basis.QUOTED.value
    )
    """INTERPRETED where the role goes beyond the source's words; ``basis_note`` says how."""
    basis_note: Mapped[str | None] = mapped_column(Text)
    basis_note_en: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    """Raised by one on every update; an update that names an older version is refused (optimistic)."""
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, onupdate=utc_now, server_default=func.current_timestamp()
    )

    __table_args__ = (
        UniqueConstraint("initiative_id", "participant_id", "role"),
        CheckConstraint(BASIS_NOTE_RULE, name="basis_note"),
        # A participant's (an initiative's) involvements are read as keyset pages ordered by id: with the
        # id in the index, PostgreSQL reads each page from it. With (participant_id) alone it walked the
        # primary key, filtering out 32,902 rows per municipality at the benchmark's 100x scale (180 ms a
        # statement; bench/README.md).
        Index("ix_involvement_participant_id_id", "participant_id", "id"),
        Index("ix_involvement_initiative_id_id", "initiative_id", "id"),
    )
    __mapper_args__ = {"version_id_col": version}


class UnresolvedMention(Base):
    """A name the source gives as a participant that matches no known participant (the memo's "Galderen").

    Kept as the source spells it, never resolved by guesswork.
    """

    __tablename__ = "unresolved_mention"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiative.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[PartnerRole] = mapped_column(enum_column(PartnerRole, "partner_role"))
    note: Mapped[str] = mapped_column(Text)
    note_en: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("initiative_id", "name", "role"),)
