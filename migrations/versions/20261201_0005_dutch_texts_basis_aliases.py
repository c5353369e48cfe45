"""Dutch texts with English translations, the basis of facts (quoted/interpreted), municipality aliases

Revision ID: 0005
Revises: 0008
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = "0005"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASIS_NOTE_RULE = "(basis = 'INTERPRETED') = (basis_note IS NOT NULL)"


def _basis() -> sa.Enum:
    return sa.Enum(
        "QUOTED", "INTERPRETED", name="basis", native_enum=False, create_constraint=True, length=32
    )


def _basis_columns(batch_op: BatchOperations) -> None:
    batch_op.add_column(sa.Column("basis", _basis(), server_default="QUOTED", nullable=False))
    batch_op.add_column(sa.Column("basis_note", sa.Text(), nullable=True))
    batch_op.add_column(sa.Column("basis_note_en", sa.Text(), nullable=True))
    batch_op.create_check_constraint("basis_note", BASIS_NOTE_RULE)


def upgrade() -> None:
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_en", sa.Text(), nullable=True))
        _basis_columns(batch_op)
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description_en", sa.Text(), nullable=True))
        _basis_columns(batch_op)
        batch_op.add_column(sa.Column("members_as_of", sa.Date(), nullable=True))
    with op.batch_alter_table("involvement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description_en", sa.Text(), nullable=True))
        _basis_columns(batch_op)
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        _basis_columns(batch_op)
    with op.batch_alter_table("source_document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description_en", sa.Text(), nullable=True))
    with op.batch_alter_table("reported_figure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_en", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("unit_en", sa.String(length=100), nullable=True))
    with op.batch_alter_table("unresolved_mention", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note_en", sa.Text(), nullable=True))
    op.create_table(
        "municipality_alias",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_folded", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_municipality_alias_municipality_id_municipality"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality_alias")),
        sa.UniqueConstraint(
            "municipality_id", "name", name=op.f("uq_municipality_alias_municipality_id_name")
        ),
    )
    with op.batch_alter_table("municipality_alias", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_municipality_alias_name_folded"), ["name_folded"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("municipality_alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_municipality_alias_name_folded"))
    op.drop_table("municipality_alias")
    with op.batch_alter_table("unresolved_mention", schema=None) as batch_op:
        batch_op.drop_column("note_en")
    with op.batch_alter_table("source_document", schema=None) as batch_op:
        batch_op.drop_column("description_en")
    with op.batch_alter_table("reported_figure", schema=None) as batch_op:
        batch_op.drop_column("unit_en")
        batch_op.drop_column("label_en")
    for table in ("municipality", "involvement", "organization", "initiative"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint("basis_note", type_="check")
            batch_op.drop_constraint("basis", type_="check")
            batch_op.drop_column("basis_note_en")
            batch_op.drop_column("basis_note")
            batch_op.drop_column("basis")
            if table == "organization":
                batch_op.drop_column("members_as_of")
            if table == "initiative":
                batch_op.drop_column("summary_en")
            elif table != "municipality":
                batch_op.drop_column("description_en")
