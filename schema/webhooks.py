"""Webhooks in the schema: register, list, delete and rewind endpoints, and read their delivery log.

Everything here needs a token with the write scope: a webhook's URL is an integration's configuration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Self

import strawberry
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.relay import GlobalID, GlobalIDValueError

from app.db import as_utc, utc_now
from app.models import Webhook as WebhookRow
from app.services.audit import last_sequence
from app.services.pagination import parse_key
from app.services.webhooks import ENTITY_TYPES, new_salt, signing_secret, url_problem
from app.services.writes import Problem
from schema.context import Info
from schema.errors import bad_input
from schema.mutations import UserError
from schema.nodes import integer_keys
from schema.permissions import CanWrite

MAX_DELIVERIES = 100


@strawberry.type(description="One attempt at delivering one change to a webhook.")
class WebhookDelivery:
    sequence: int = strawberry.field(description="The change delivered (its `Change.sequence`).")
    attempt: int = strawberry.field(
        description="1 for the first attempt at this change, 2 for the first retry, ..."
    )
    at: dt.datetime = strawberry.field(description="When the attempt was made.")
    succeeded: bool = strawberry.field(description="Whether the receiver accepted it (a 2xx answer).")
    status_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null when it gave none."
    )
    error: str | None = strawberry.field(
        description="Why it failed: the start of the receiver's answer, a timeout, a refused address, ..."
    )
    duration_ms: int = strawberry.field(description="How long the attempt took, in milliseconds.")


@strawberry.type(
    description="An HTTP endpoint of an integration that receives every committed change of the kinds it "
    "asked for, as a signed POST of the change (docs/webhooks.md), in sequence order."
)
class Webhook(relay.Node):
    pk: strawberry.Private[int]
    url: str = strawberry.field(description="Where the changes are POSTed.")
    entity_types: list[str] | None = strawberry.field(
        description="Entity types it receives (null: all), as in Change.entityType."
    )
    active: bool = strawberry.field(description="Whether changes are delivered to it.")
    created_at: dt.datetime = strawberry.field(description="When it was registered.")
    created_by: str = strawberry.field(description="The name of the token that registered it.")
    last_delivered_sequence: int = strawberry.field(
        description="The last change it has received or that was not of its types: it receives the ones "
        "after it, in order."
    )
    failed_attempts: int = strawberry.field(
        description="Failed attempts in a row at delivering the next change (0 when all is well)."
    )
    next_attempt_at: dt.datetime | None = strawberry.field(
        description="When the next retry is due, after a failure; null when nothing waits for a retry."
    )

    @classmethod
    def from_row(cls, row: WebhookRow) -> Self:
        return cls(
            pk=row.id,
            url=row.url,
            entity_types=row.entity_types,
            active=row.active,
            created_at=as_utc(row.created_at),
            created_by=row.created_by,
            last_delivered_sequence=row.delivered_sequence,
            failed_attempts=row.failures,
            next_attempt_at=None if row.next_attempt_at is None else as_utc(row.next_attempt_at),
        )

    @classmethod
    def resolve_id(cls, root: Self, *, info: Info) -> str:
        return str(root.pk)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        await CanWrite().has_permission(None, info)
        info.context.not_cacheable()
        keys = integer_keys(node_ids)
        async with info.context.sessionmaker() as session:
            rows = {
                row.id: row
                for row in (await session.scalars(select(WebhookRow).where(WebhookRow.id.in_(keys)))).all()
            }
        return [cls.from_row(rows[key]) if key in rows else None for key in keys]

    @strawberry.field(description="The delivery log: the latest attempts first.")
    async def deliveries(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description=f"How many (at most {MAX_DELIVERIES}).")] = 20,
    ) -> list[WebhookDelivery]:
        if not 0 <= first <= MAX_DELIVERIES:
            raise bad_input("first", f"must be between 0 and {MAX_DELIVERIES} (got {first})")
        rows = await info.context.loaders.webhook_deliveries(first).load(self.pk)
        return [
            WebhookDelivery(
                sequence=row.sequence,
                attempt=row.attempt,
                at=as_utc(row.at),
                succeeded=row.succeeded,
                status_code=row.status_code,
                error=row.error,
                duration_ms=row.duration_ms,
            )
            for row in rows
        ]


ClientMutationId = strawberry.field(
    default=None, description="Any string; returned unchanged in the payload (Relay)."
)


@strawberry.input(description="A webhook to register.")
class CreateWebhookInput:
    url: str = strawberry.field(description="An http:// or https:// URL to POST the changes to.")
    entity_types: list[str] | None = strawberry.field(
        default=None,
        description=f"Only changes of these entity types ({', '.join(ENTITY_TYPES)}); omit for all.",
    )
    client_mutation_id: str | None = ClientMutationId


@strawberry.input(description="A webhook to delete.")
class DeleteWebhookInput:
    id: strawberry.ID = strawberry.field(description="The webhook's id.")
    client_mutation_id: str | None = ClientMutationId


@strawberry.input(description="Changes to deliver again to a webhook.")
class RedeliverWebhookInput:
    id: strawberry.ID = strawberry.field(description="The webhook's id.")
    from_sequence: int = strawberry.field(
        description="Deliver again every change (of its types) from this sequence on, in order; at most one "
        "past its `lastDeliveredSequence`."
    )
    client_mutation_id: str | None = ClientMutationId


@strawberry.type(description="The result of a webhook mutation.")
class WebhookPayload:
    webhook: Webhook | None = strawberry.field(description="The webhook; null when refused.")
    secret: str | None = strawberry.field(
        description="The signing secret, shown only in this answer (createWebhook): keep it to verify the "
        "`Veerkracht-Signature` header of each delivery."
    )
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    client_mutation_id: str | None = strawberry.field(description="The input's clientMutationId.")


@strawberry.type(description="The result of deleting a webhook.")
class DeleteWebhookPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The deleted webhook's id; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    client_mutation_id: str | None = strawberry.field(description="The input's clientMutationId.")


def _error(path: tuple[str, ...], message: str, code: str = "INVALID") -> list[UserError]:
    return [UserError.of(Problem(path, message, code))]


def _key(value: strawberry.ID) -> int | None:
    try:
        global_id = GlobalID.from_id(value)
    except GlobalIDValueError:
        return None
    return parse_key(global_id.node_id) if global_id.type_name == "Webhook" else None


async def _find(session: AsyncSession, value: strawberry.ID) -> WebhookRow | list[UserError]:
    key = _key(value)
    row = None if key is None else await session.get(WebhookRow, key)
    if row is None:
        return _error(("input", "id"), "There is no webhook with this id.", "NOT_FOUND")
    return row


@strawberry.type(description="Webhook queries (write scope).")
class WebhookQuery:
    @strawberry.field(permission_classes=[CanWrite], description="Every registered webhook, oldest first.")
    async def webhooks(self, info: Info) -> list[Webhook]:
        info.context.not_cacheable()
        async with info.context.sessionmaker() as session:
            rows = (await session.scalars(select(WebhookRow).order_by(WebhookRow.id))).all()
        return [Webhook.from_row(row) for row in rows]


@strawberry.type(description="Webhook mutations (write scope).")
class WebhookMutation:
    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Register a webhook: from now on every committed change of the given types is POSTed "
        "to it, signed with the secret this answer gives (only here).",
    )
    async def create_webhook(
        self,
        info: Info,
        input: Annotated[CreateWebhookInput, strawberry.argument(description="The webhook.")],
    ) -> WebhookPayload:
        settings = info.context.settings
        echo = input.client_mutation_id
        problem = url_problem(input.url, allow_private=settings.webhook_allow_private_addresses)
        if problem:
            return WebhookPayload(
                webhook=None, secret=None, errors=_error(("input", "url"), problem), client_mutation_id=echo
            )
        types = input.entity_types
        if types is not None:
            if not types:
                return WebhookPayload(
                    webhook=None, secret=None, client_mutation_id=echo,
                    errors=_error(("input", "entityTypes"), "Name at least one entity type, or leave entityTypes out for all."),
                )  # fmt: skip
            for index, name in enumerate(types):
                if name not in ENTITY_TYPES:
                    return WebhookPayload(
                        webhook=None, secret=None, client_mutation_id=echo,
                        errors=_error(
                            ("input", "entityTypes", str(index)),
                            f"{name[:50]!r} is not an entity type of the change feed; use one of {', '.join(ENTITY_TYPES)}.",
                        ),
                    )  # fmt: skip
            types = list(dict.fromkeys(types))
        if settings.webhook_key is None:
            return WebhookPayload(
                webhook=None, secret=None, client_mutation_id=echo,
                errors=_error(
                    ("input",),
                    "This service cannot sign webhooks: its operators have not set VEERKRACHT_WEBHOOK_KEY.",
                ),
            )  # fmt: skip
        identity = await info.context.identity()
        assert identity is not None  # CanWrite ran first
        salt = new_salt()
        async with info.context.sessionmaker() as session, session.begin():
            row = WebhookRow(
                url=input.url, entity_types=types, secret_salt=salt, created_at=utc_now(),
                created_by=identity.name, active=True, delivered_sequence=await last_sequence(session),
                failures=0,
            )  # fmt: skip
            session.add(row)
            await session.flush()
        return WebhookPayload(
            webhook=Webhook.from_row(row),
            secret=signing_secret(settings.webhook_key.get_secret_value(), salt),
            errors=[],
            client_mutation_id=echo,
        )

    @strawberry.mutation(permission_classes=[CanWrite], description="Delete a webhook and its delivery log.")
    async def delete_webhook(
        self, info: Info, input: Annotated[DeleteWebhookInput, strawberry.argument(description="Which.")]
    ) -> DeleteWebhookPayload:
        async with info.context.sessionmaker() as session, session.begin():
            found = await _find(session, input.id)
            if isinstance(found, list):
                return DeleteWebhookPayload(
                    deleted_id=None, errors=found, client_mutation_id=input.client_mutation_id
                )
            await session.execute(delete(WebhookRow).where(WebhookRow.id == found.id))
        return DeleteWebhookPayload(
            deleted_id=input.id, errors=[], client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Deliver changes again: the webhook goes back to `fromSequence` and receives every change "
        "of its types from there on, in order, at once (a pending retry's wait is cut short).",
    )
    async def redeliver_webhook(
        self,
        info: Info,
        input: Annotated[RedeliverWebhookInput, strawberry.argument(description="What to redeliver.")],
    ) -> WebhookPayload:
        echo = input.client_mutation_id
        async with info.context.sessionmaker() as session, session.begin():
            found = await _find(session, input.id)
            if isinstance(found, list):
                return WebhookPayload(webhook=None, secret=None, errors=found, client_mutation_id=echo)
            if not 1 <= input.from_sequence <= found.delivered_sequence + 1:
                return WebhookPayload(
                    webhook=None, secret=None, client_mutation_id=echo,
                    errors=_error(
                        ("input", "fromSequence"),
                        f"Give a sequence from 1 to {found.delivered_sequence + 1} (one past the last "
                        f"delivered); got {input.from_sequence}.",
                    ),
                )  # fmt: skip
            found.delivered_sequence = input.from_sequence - 1
            found.failures = 0
            found.next_attempt_at = None
            found.active = True
        if info.context.broker is not None:
            info.context.broker.wake()
        return WebhookPayload(
            webhook=Webhook.from_row(found), secret=None, errors=[], client_mutation_id=echo
        )
