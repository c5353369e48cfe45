"""initiative: trigram index for the word search (PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 05:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no trigram index; its search scans, as before
    # pg_trgm ships with PostgreSQL and is a trusted extension (13+): the database's owner may create it.
    # Where the service's role may not, have it created beforehand; IF NOT EXISTS then needs no privilege.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_initiative_search_folded_trgm",
        "initiative",
        ["search_folded"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_folded": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_initiative_search_folded_trgm", table_name="initiative")
    # The extension stays: other objects in the database may use it.
