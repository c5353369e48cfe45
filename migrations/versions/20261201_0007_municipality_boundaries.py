"""municipality_boundary: the municipalities' boundaries per period of the map

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "municipality_boundary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_from < valid_until",
            name=op.f("ck_municipality_boundary_period_order"),
        ),
        sa.CheckConstraint("length(quote) > 0", name=op.f("ck_municipality_boundary_quote_not_empty")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["source_document.id"],
            name=op.f("fk_municipality_boundary_document_id_source_document"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_municipality_boundary_municipality_id_municipality"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality_boundary")),
        sa.UniqueConstraint(
            "municipality_id", "valid_from", name=op.f("uq_municipality_boundary_municipality_id_valid_from")
        ),
    )


def downgrade() -> None:
    op.drop_table("municipality_boundary")
