"""change_log in the API's terms (natural_key, before_values, after_values); webhooks and their deliveries

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 05:40:00

The new columns of existing change-log entries are filled from their raw values, as the change log now
records them for new entries (app.services.feed). A reference (an involvement's ``initiative_id``) is
resolved from the log itself, which names every logged object by global id next to its database key, and
from the current tables: so a reference to an object deleted since still gets its global id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.services.feed import api_values, global_id, natural_key

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFERRED = {"initiative_id": ("Initiative",), "participant_id": ("Municipality", "Organization")}


def _backfill() -> None:
    bind = op.get_bind()
    log = sa.table(
        "change_log",
        sa.column("sequence", sa.Integer),
        sa.column("entity_type", sa.String),
        sa.column("entity_id", sa.String),
        sa.column("before", sa.JSON),
        sa.column("after", sa.JSON),
        sa.column("natural_key", sa.String),
        sa.column("before_values", sa.JSON),
        sa.column("after_values", sa.JSON),
    )
    rows = bind.execute(
        sa.select(log.c.sequence, log.c.entity_type, log.c.entity_id, log.c.before, log.c.after).order_by(
            log.c.sequence
        )
    ).all()
    if not rows:
        return
    known: dict[tuple[str, int], str] = {}
    for type_name, table, key in (
        ("Initiative", "initiative", "slug"),
        ("Municipality", "municipality", "code"),
        ("Organization", "organization", "slug"),
    ):
        for database_key, value in bind.execute(sa.text(f"SELECT id, {key} FROM {table}")).all():
            known[type_name, int(database_key)] = global_id(type_name, value)
    for _sequence, entity_type, entity_id, before, after in rows:
        for values in (before, after):
            if values is not None and values.get("id") is not None:
                known.setdefault((entity_type, int(values["id"])), entity_id)

    def resolve(column: str, key: int) -> str | None:
        return next((known[t, key] for t in _REFERRED[column] if (t, key) in known), None)

    updates: list[dict[str, Any]] = [
        {
            "key": sequence,
            "natural_key": natural_key(entity_type, after if after is not None else before),
            "before_values": api_values(entity_id, before, resolve),
            "after_values": api_values(entity_id, after, resolve),
        }
        for sequence, entity_type, entity_id, before, after in rows
    ]
    bind.execute(
        log.update()
        .where(log.c.sequence == sa.bindparam("key"))
        .values(
            natural_key=sa.bindparam("natural_key"),
            before_values=sa.bindparam("before_values"),
            after_values=sa.bindparam("after_values"),
        ),
        updates,
    )


def upgrade() -> None:
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("natural_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("before_values", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("after_values", sa.JSON(), nullable=True))
    _backfill()

    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("entity_types", sa.JSON(), nullable=True),
        sa.Column("secret_salt", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("delivered_sequence", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhook.id"],
            name=op.f("fk_webhook_delivery_webhook_id_webhook"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index(
        "ix_webhook_delivery_webhook_id_id", "webhook_delivery", ["webhook_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_webhook_id_id", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_column("after_values")
        batch_op.drop_column("before_values")
        batch_op.drop_column("natural_key")
