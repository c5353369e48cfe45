"""Municipal reorganisations as change events (org:ChangeEvent)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models._types import enum_column
from app.models.enums import FusionKind, FusionSide


class Fusion(Base):
    """A gemeentelijke herindeling: municipalities dissolved, others resulting, on one day."""

    __tablename__ = "fusion"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[FusionKind] = mapped_column(enum_column(FusionKind, "fusion_kind"))
    effective_on: Mapped[dt.date]

    __table_args__ = (
        UniqueConstraint("name", "effective_on"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )


class FusionMunicipality(Base):
    """A municipality on one side of a fusion: org:originalOrganization or org:resultingOrganization."""

    __tablename__ = "fusion_municipality"

    fusion_id: Mapped[int] = mapped_column(ForeignKey("fusion.id", ondelete="CASCADE"), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipality.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    side: Mapped[FusionSide] = mapped_column(enum_column(FusionSide, "fusion_side"), primary_key=True)
