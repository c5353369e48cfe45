"""Municipal boundaries: one GeoJSON geometry per municipality and period of the map (bundled dataset)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class MunicipalityBoundary(Base):
    """A municipality's boundary from ``valid_from`` until the day before ``valid_until`` (open: still).

    A table of its own, not a column of ``municipality``: the geometries are kilobytes each, and nothing
    that reads municipalities (the resolvers, the compiled SQL of schema/compiled/) reads them unless a
    boundary is asked for. Each row cites the source entry it was taken from, like a citation: the document
    and the verbatim ``"properties":{...}`` text that ties the shape to the municipality's CBS code.
    """

    __tablename__ = "municipality_boundary"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    valid_from: Mapped[dt.date]
    valid_until: Mapped[dt.date | None]
    """The first day on which this shape no longer holds; null while it does."""
    geometry: Mapped[str] = mapped_column(Text)
    """A GeoJSON geometry object (RFC 7946: WGS84, exterior rings counterclockwise), as JSON text."""
    document_id: Mapped[int] = mapped_column(ForeignKey("source_document.id", ondelete="RESTRICT"))
    quote: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("municipality_id", "valid_from"),
        CheckConstraint("valid_until IS NULL OR valid_from < valid_until", name="period_order"),
        CheckConstraint("length(quote) > 0", name="quote_not_empty"),
    )
