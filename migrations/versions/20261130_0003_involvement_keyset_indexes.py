"""involvement: (participant_id, id) and (initiative_id, id) indexes for keyset pages

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 03:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The composite indexes serve everything the single-column ones did (their first column), and the
    # keyset pages ordered by id besides.
    with op.batch_alter_table("involvement", schema=None) as batch_op:
        batch_op.create_index("ix_involvement_participant_id_id", ["participant_id", "id"], unique=False)
        batch_op.create_index("ix_involvement_initiative_id_id", ["initiative_id", "id"], unique=False)
        batch_op.drop_index("ix_involvement_participant_id")
        batch_op.drop_index("ix_involvement_initiative_id")


def downgrade() -> None:
    with op.batch_alter_table("involvement", schema=None) as batch_op:
        batch_op.create_index("ix_involvement_initiative_id", ["initiative_id"], unique=False)
        batch_op.create_index("ix_involvement_participant_id", ["participant_id"], unique=False)
        batch_op.drop_index("ix_involvement_initiative_id_id")
        batch_op.drop_index("ix_involvement_participant_id_id")
