"""Participants (org:Agent): municipalities and other organisations, and memberships between them."""

from __future__ import annotations

import datetime as dt
from typing import Any

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

from app.db import Base, utc_now
from app.models._types import enum_column
from app.models.enums import Basis, OrganizationKind, ParticipantType


class Participant(Base):
    """Anything that can take part in an initiative (joined-table inheritance root)."""

    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[ParticipantType] = mapped_column(enum_column(ParticipantType, "participant_type"))
    name: Mapped[str] = mapped_column(String(200))
    # Accent- and case-folded name with punctuation and spaces removed (see app.services.text.fold):
    # the same portable search works on SQLite and PostgreSQL without extensions.
    name_folded: Mapped[str] = mapped_column(String(200), index=True)

    __table_args__: tuple[Any, ...] = (CheckConstraint("length(name) > 0", name="name_not_empty"),)
    __mapper_args__ = {"polymorphic_on": "type"}


class Municipality(Participant):
    """A gemeente, identified by its CBS code."""

    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    province: Mapped[str] = mapped_column(String(100))
    founded_on: Mapped[dt.date | None]
    dissolved_on: Mapped[dt.date | None]
    basis: Mapped[Basis] = mapped_column(
        enum_column(Basis, "basis"), default=Basis.QUOTED, server_default=Basis.QUOTED.value
    )
    """INTERPRETED where a date goes beyond the source's words (Mill en Sint Hubert's end); see basis_note."""
    basis_note: Mapped[str | None] = mapped_column(Text)
    basis_note_en: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("code LIKE 'GM____'", name="code_format"),
        CheckConstraint(
            "founded_on IS NULL OR dissolved_on IS NULL OR founded_on < dissolved_on", name="date_order"
        ),
        CheckConstraint("(basis = 'INTERPRETED') = (basis_note IS NOT NULL)", name="basis_note"),
    )
    __mapper_args__ = {"polymorphic_identity": ParticipantType.MUNICIPALITY}


class Organization(Participant):
    """Any organisation other than a municipality."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind, "organization_kind"))
    website: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    """In Dutch; ``description_en`` is its English translation."""
    description_en: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[Basis] = mapped_column(
        enum_column(Basis, "basis"), default=Basis.QUOTED, server_default=Basis.QUOTED.value
    )
    """INTERPRETED where its name or kind goes beyond the source's words; ``basis_note`` says how."""
    basis_note: Mapped[str | None] = mapped_column(Text)
    basis_note_en: Mapped[str | None] = mapped_column(Text)
    members_as_of: Mapped[dt.date | None]
    """The date of the member list (a list from a later year than the memo carries its own date)."""
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    """Raised by one on every update; an update that names an older version is refused (optimistic)."""
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, onupdate=utc_now, server_default=func.current_timestamp()
    )

    __table_args__ = (
        CheckConstraint("length(slug) > 0", name="slug_not_empty"),
        CheckConstraint("(basis = 'INTERPRETED') = (basis_note IS NOT NULL)", name="basis_note"),
    )
    __mapper_args__ = {"polymorphic_identity": ParticipantType.ORGANIZATION, "version_id_col": version}


class Membership(Base):
    """A participant is a member of an organisation (org:Membership), e.g. a city of the B5."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)

    __table_args__ = (
        UniqueConstraint("organization_id", "member_id"),
        CheckConstraint("organization_id <> member_id", name="not_own_member"),
    )


Index("ix_membership_organization_id", Membership.organization_id)


class MunicipalityAlias(Base):
    """Another name people use for a municipality ("Den Bosch"), from a cited source (app/data/aliases.yaml)."""

    __tablename__ = "municipality_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)

    __table_args__ = (UniqueConstraint("municipality_id", "name"),)
