"""Webhooks: integrations' HTTP endpoints, each with its place in the change log (the outbox)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Webhook(Base):
    """An endpoint that receives every committed change of the types it asked for, in sequence order.

    The change log is the outbox: ``delivered_sequence`` is how far this endpoint has got. Delivery moves it
    forward in the same statement that logs the attempt, so a restart resumes where it stood.
    """

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    entity_types: Mapped[list[str] | None] = mapped_column(JSON)
    """Only changes of these types (null: all)."""
    secret_salt: Mapped[str] = mapped_column(String(64))
    """The signing secret is derived from this and the service's ``webhook_key`` (app.services.webhooks):
    the database alone does not hold it."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    delivered_sequence: Mapped[int] = mapped_column(Integer)
    """The last sequence handled (delivered, or skipped as not of its types)."""
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    """Failed attempts in a row at delivering the change after ``delivered_sequence``."""
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """Not before this moment (the backoff after a failure); null: as soon as there is something."""


class WebhookDelivery(Base):
    """One attempt at delivering one change to one webhook (the delivery log)."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


Index("ix_webhook_delivery_webhook_id_id", WebhookDelivery.webhook_id, WebhookDelivery.id)
