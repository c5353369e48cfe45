"""Source documents and the citations that tie every fact to a verbatim quote."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

# The kinds of fact a citation can support; exactly one of these columns is set on each citation.
CITATION_SUBJECTS = (
    "participant_id",
    "membership_id",
    "fusion_id",
    "initiative_id",
    "involvement_id",
    "reported_figure_id",
    "unresolved_mention_id",
)


class SourceDocument(Base):
    """A document facts are taken from: the memo, or a reference listing."""

    __tablename__ = "source_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    date: Mapped[dt.date]
    author: Mapped[str | None] = mapped_column(String(300))
    issuer: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(1000))
    description: Mapped[str | None] = mapped_column(Text)
    """In Dutch; ``description_en`` is its English translation."""
    description_en: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    """The document's text, where it is held: quotes are checked against it."""


class Citation(Base):
    """A verbatim quote of a source document supporting one fact."""

    __tablename__ = "citation"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("source_document.id", ondelete="RESTRICT"))
    quote: Mapped[str] = mapped_column(Text)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership.id", ondelete="CASCADE"), index=True
    )
    fusion_id: Mapped[int | None] = mapped_column(ForeignKey("fusion.id", ondelete="CASCADE"), index=True)
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), index=True
    )
    involvement_id: Mapped[int | None] = mapped_column(
        ForeignKey("involvement.id", ondelete="CASCADE"), index=True
    )
    reported_figure_id: Mapped[int | None] = mapped_column(
        ForeignKey("reported_figure.id", ondelete="CASCADE"), index=True
    )
    unresolved_mention_id: Mapped[int | None] = mapped_column(
        ForeignKey("unresolved_mention.id", ondelete="CASCADE"), index=True
    )

    __table_args__ = (
        CheckConstraint("length(quote) > 0", name="quote_not_empty"),
        CheckConstraint(
            " + ".join(f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)" for column in CITATION_SUBJECTS)
            + " = 1",
            name="one_subject",
        ),
    )


class DatasetLoad(Base):
    """Which version of the bundled dataset was loaded, so that loading again is a no-op."""

    __tablename__ = "dataset_load"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
