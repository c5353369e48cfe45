"""The write side of the contract: every mutation needs a write token and is one transaction."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from strawberry.relay import GlobalID, GlobalIDValueError

import schema.enums  # noqa: F401  (registers the GraphQL enums)
from app.models import Initiative as InitiativeRow
from app.models import Involvement as InvolvementRow
from app.models import Municipality as MunicipalityRow
from app.models import Organization as OrganizationRow
from app.models.enums import FusionKind, InitiativeKind, InitiativeStatus, OrganizationKind, PartnerRole
from app.services import writes
from app.services.audit import lock_change_log
from app.services.pagination import parse_key
from app.services.text import storable
from app.services.writes import Problem, Rejected
from schema.citing import CitationInput, citation_specs, sources_description
from schema.context import Info
from schema.fusions import Fusion
from schema.initiatives import Initiative, Involvement
from schema.participants import Organization
from schema.permissions import CanWrite

T = TypeVar("T")


@strawberry.enum(description="What kind of problem a UserError is.")
class UserErrorCode(enum.Enum):
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="Something the input names does not exist.")
    DUPLICATE = strawberry.enum_value("DUPLICATE", description="It exists already.")
    INVALID = strawberry.enum_value("INVALID", description="A value is not acceptable; the message says why.")
    CONFLICT = strawberry.enum_value(
        "CONFLICT", description="The object changed since the version the client sent; read it again."
    )
    SOURCE_REQUIRED = strawberry.enum_value(
        "SOURCE_REQUIRED",
        description="A fact was given without a source: cite at least one document in `sources`.",
    )
    QUOTE_NOT_FOUND = strawberry.enum_value(
        "QUOTE_NOT_FOUND",
        description="A quote does not occur in the text of the document it cites (compared verbatim, "
        "runs of whitespace as one space).",
    )


@strawberry.type(description="An expected failure of a mutation: nothing was written.")
class UserError:
    field: list[str] = strawberry.field(description='Path into the input, e.g. ["input", "participantId"].')
    message: str = strawberry.field(description="A sentence a person can act on.")
    code: UserErrorCode = strawberry.field(description="The kind of problem.")

    @classmethod
    def of(cls, problem: Problem) -> UserError:
        return cls(field=list(problem.field), message=problem.message, code=UserErrorCode[problem.code])


def _problem(path: tuple[str, ...], message: str, code: str = "INVALID") -> Rejected:
    return Rejected([Problem(path, message, code)])


async def _run(info: Info, work: Callable[[AsyncSession], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run ``work`` as one transaction in the caller's name; all of it or none of it."""
    identity = await info.context.identity()
    assert identity is not None  # CanWrite ran first
    try:
        async with info.context.sessionmaker() as session:
            session.info["actor"] = identity.name
            async with session.begin():
                await lock_change_log(session)
                result = await work(session)
    except Rejected as rejected:
        return None, [UserError.of(problem) for problem in rejected.problems]
    except StaleDataError:
        return None, [
            UserError.of(
                Problem(
                    ("input", "version"),
                    "Het object is veranderd terwijl deze wijziging liep; lees het opnieuw en probeer het nog eens.",
                    "CONFLICT",
                )
            )
        ]
    except IntegrityError:
        return None, [
            UserError.of(
                Problem(
                    ("input",),
                    "A concurrent change made this write conflict with existing data; read again and retry.",
                    "DUPLICATE",
                )
            )
        ]
    if info.context.broker is not None:
        info.context.broker.wake()
    return result, []


async def _load(
    session: AsyncSession, value: strawberry.ID, path: tuple[str, ...], types: dict[str, Any]
) -> Any:
    """The row a global id names, if it is one of ``types`` (type name → (model, key column))."""
    try:
        global_id = GlobalID.from_id(value)
    except GlobalIDValueError:
        raise _problem(path, f"{value!r} is geen id van deze API.") from None
    if global_id.type_name not in types:
        expected = " or ".join(types)
        raise _problem(
            path, f"Dit is de id van een {global_id.type_name}; hier is de id van een {expected} nodig."
        )
    model, column = types[global_id.type_name]
    key: Any = global_id.node_id
    if column == "id":
        key = parse_key(key)
    # A key no row can have (see parse_key and storable) is not sent to the database, which would refuse it.
    found = key is not None and (column == "id" or storable(key))
    row = await session.scalar(select(model).where(getattr(model, column) == key)) if found else None
    if row is None:
        raise _problem(path, f"Er is geen {global_id.type_name} met deze id.", "NOT_FOUND")
    return row


INITIATIVE = {"Initiative": (InitiativeRow, "slug")}
INVOLVEMENT = {"Involvement": (InvolvementRow, "id")}
PARTICIPANTS = {"Municipality": (MunicipalityRow, "code"), "Organization": (OrganizationRow, "slug")}

CLIENT_MUTATION_ID = "Any string of the client's; the payload gives it back unchanged (Relay)."
ECHOED = "The `clientMutationId` of the input, unchanged."


@strawberry.input(description="A new initiative.")
class CreateInitiativeInput:
    slug: str = strawberry.field(description='Stable, lower-case, hyphenated identifier: "pilot-altena".')
    name: str = strawberry.field(description="Its name.")
    kind: InitiativeKind = strawberry.field(description="What sort of initiative it is.")
    status: InitiativeStatus = strawberry.field(
        default=InitiativeStatus.ACTIVE, description="Where it stands."
    )
    summary: str = strawberry.field(description="What it is, in a sentence or two.")
    cross_over_themes: list[str] = strawberry.field(
        default_factory=list, description="Policy programmes it crosses over with."
    )
    sources: list[CitationInput] | None = strawberry.field(
        default=None, description=sources_description("the initiative")
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Changes to an initiative; omitted fields stay as they are.")
class UpdateInitiativeInput:
    id: strawberry.ID = strawberry.field(description="The initiative's id.")
    version: int = strawberry.field(description="The version you read; a stale one gives CONFLICT.")
    name: str | None = strawberry.field(default=None, description="New name.")
    kind: InitiativeKind | None = strawberry.field(default=None, description="New kind.")
    status: InitiativeStatus | None = strawberry.field(default=None, description="New status.")
    summary: str | None = strawberry.field(default=None, description="New summary.")
    cross_over_themes: list[str] | None = strawberry.field(
        default=None, description="The new list of themes (replaces it)."
    )
    sources: list[CitationInput] | None = strawberry.field(
        default=None,
        description="The new citations (they replace the old ones; at least one, else SOURCE_REQUIRED).",
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="The initiative to delete.")
class DeleteInitiativeInput:
    id: strawberry.ID = strawberry.field(description="The initiative's id.")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="A participant's part in an initiative.")
class AddInvolvementInput:
    initiative_id: strawberry.ID = strawberry.field(description="The initiative's id.")
    participant_id: strawberry.ID = strawberry.field(description="A Municipality or Organization id.")
    role: PartnerRole = strawberry.field(description="The part it plays.")
    description: str | None = strawberry.field(
        default=None, description='Detail for this involvement: "3 wijken".'
    )
    sources: list[CitationInput] | None = strawberry.field(
        default=None, description=sources_description("the involvement")
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="Changes to an involvement; omitted fields stay as they are.")
class UpdateInvolvementInput:
    id: strawberry.ID = strawberry.field(description="The involvement's id.")
    version: int = strawberry.field(description="The version you read; a stale one gives CONFLICT.")
    role: PartnerRole | None = strawberry.field(default=None, description="The new role.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="The new description; null removes it."
    )
    sources: list[CitationInput] | None = strawberry.field(
        default=None,
        description="The new citations (they replace the old ones; at least one, else SOURCE_REQUIRED).",
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="The involvement to remove.")
class RemoveInvolvementInput:
    id: strawberry.ID = strawberry.field(description="The involvement's id.")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="A new organisation.")
class CreateOrganizationInput:
    slug: str = strawberry.field(description='Stable, lower-case, hyphenated identifier: "stichting-zet".')
    name: str = strawberry.field(description="Its name.")
    kind: OrganizationKind = strawberry.field(description="What sort of organisation it is.")
    website: str | None = strawberry.field(default=None, description="Its website (http:// or https://).")
    sources: list[CitationInput] | None = strawberry.field(
        default=None, description=sources_description("the organisation")
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.input(description="A municipal reorganisation to record.")
class RecordFusionInput:
    name: str = strawberry.field(description='"Altena"; "Opheffing Haaren" for a split.')
    kind: FusionKind = strawberry.field(description="MERGER or SPLIT.")
    effective_on: dt.date = strawberry.field(description="The first day of the new situation.")
    dissolved_codes: list[str] = strawberry.field(
        description="CBS codes of the existing municipalities that are dissolved."
    )
    resulting_codes: list[str] = strawberry.field(
        description="For a MERGER: the code of the one new municipality; for a SPLIT: the existing municipalities that take over."
    )
    resulting_name: str | None = strawberry.field(
        default=None, description="For a MERGER: the new municipality's name."
    )
    sources: list[CitationInput] | None = strawberry.field(
        default=None,
        description=sources_description("the reorganisation (and, for a MERGER, the new municipality)"),
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.type(description="The result of an initiative mutation.")
class InitiativePayload:
    initiative: Initiative | None = strawberry.field(
        description="The initiative as written; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    client_mutation_id: str | None = strawberry.field(default=None, description=ECHOED)


@strawberry.type(description="The result of an involvement mutation.")
class InvolvementPayload:
    involvement: Involvement | None = strawberry.field(
        description="The involvement as written; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    client_mutation_id: str | None = strawberry.field(default=None, description=ECHOED)


@strawberry.type(description="The result of an organisation mutation.")
class OrganizationPayload:
    organization: Organization | None = strawberry.field(
        description="The organisation as written; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    client_mutation_id: str | None = strawberry.field(default=None, description=ECHOED)


@strawberry.type(description="The result of recording a fusion.")
class FusionPayload:
    fusion: Fusion | None = strawberry.field(description="The fusion as recorded; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    client_mutation_id: str | None = strawberry.field(default=None, description=ECHOED)


@strawberry.type(description="The result of a deletion.")
class DeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The id of what was deleted; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    client_mutation_id: str | None = strawberry.field(default=None, description=ECHOED)


InputArg = Annotated[T, strawberry.argument(description="What to write.")]
DEPRECATED_ID = "Use `input: {id: ...}`: every mutation takes one `input`."


def _removal_target(
    id_: strawberry.ID | None, input_: DeleteInitiativeInput | RemoveInvolvementInput | None
) -> tuple[strawberry.ID, tuple[str, ...]]:
    """The id a removal names, by its `input` or by the deprecated `id` argument (exactly one of them)."""
    if (id_ is None) == (input_ is None):
        raise _problem(("input",), "Give the id in `input: {id: ...}` (or, deprecated, as `id`), once.")
    if input_ is not None:
        return input_.id, ("input", "id")
    assert id_ is not None
    return id_, ("id",)


async def _pair(
    session: AsyncSession, initiative_id: strawberry.ID, participant_id: strawberry.ID
) -> tuple[InitiativeRow, Any]:
    """The initiative and participant an involvement input names, with every problem of both."""
    problems: list[Problem] = []
    initiative = participant = None
    try:
        initiative = await _load(session, initiative_id, ("input", "initiativeId"), INITIATIVE)
    except Rejected as rejected:
        problems += rejected.problems
    try:
        participant = await _load(session, participant_id, ("input", "participantId"), PARTICIPANTS)
    except Rejected as rejected:
        problems += rejected.problems
    if problems or initiative is None or participant is None:
        raise Rejected(problems)
    return initiative, participant


@strawberry.type(
    description="Changes to the data. Each needs a token with the write scope and is all or nothing. "
    "Every mutation takes one `input` and returns a payload with the object, `errors` and the input's "
    "`clientMutationId`; a mutation that adds a fact needs at least one citation in `input.sources`."
)
class Mutation:
    @strawberry.mutation(permission_classes=[CanWrite], description="Create an initiative.")
    async def create_initiative(
        self, info: Info, input: InputArg[CreateInitiativeInput]
    ) -> InitiativePayload:
        row, errors = await _run(
            info,
            lambda session: writes.create_initiative(
                session, slug=input.slug, name=input.name, kind=input.kind, status=input.status,
                summary=input.summary, cross_over_themes=input.cross_over_themes,
                sources=citation_specs(input.sources),
            ),
        )  # fmt: skip
        return InitiativePayload(
            initiative=Initiative.from_row(row) if row else None,
            errors=errors,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Change an initiative (optimistic: send the version you read).",
    )
    async def update_initiative(
        self, info: Info, input: InputArg[UpdateInitiativeInput]
    ) -> InitiativePayload:
        async def work(session: AsyncSession) -> InitiativeRow:
            initiative = await _load(session, input.id, ("input", "id"), INITIATIVE)
            return await writes.update_initiative(
                session, initiative, version=input.version, name=input.name, kind=input.kind,
                status=input.status, summary=input.summary, cross_over_themes=input.cross_over_themes,
                sources=citation_specs(input.sources),
            )  # fmt: skip

        row, errors = await _run(info, work)
        return InitiativePayload(
            initiative=Initiative.from_row(row) if row else None,
            errors=errors,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        permission_classes=[CanWrite], description="Delete an initiative and its involvements."
    )
    async def delete_initiative(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The initiative's id.", deprecation_reason=DEPRECATED_ID),
        ] = None,
        input: Annotated[
            DeleteInitiativeInput | None, strawberry.argument(description="What to delete.")
        ] = None,
    ) -> DeletePayload:
        client_mutation_id = input.client_mutation_id if input is not None else None

        async def work(session: AsyncSession) -> strawberry.ID:
            target, path = _removal_target(id, input)
            initiative = await _load(session, target, path, INITIATIVE)
            await writes.delete_initiative(session, initiative)
            return target

        deleted, errors = await _run(info, work)
        return DeletePayload(deleted_id=deleted, errors=errors, client_mutation_id=client_mutation_id)

    @strawberry.mutation(
        permission_classes=[CanWrite], description="Record that a participant is involved in an initiative."
    )
    async def add_involvement(self, info: Info, input: InputArg[AddInvolvementInput]) -> InvolvementPayload:
        async def work(session: AsyncSession) -> InvolvementRow:
            initiative, participant = await _pair(session, input.initiative_id, input.participant_id)
            return await writes.add_involvement(
                session,
                initiative=initiative,
                participant=participant,
                role=input.role,
                description=input.description,
                sources=citation_specs(input.sources),
            )

        row, errors = await _run(info, work)
        return InvolvementPayload(
            involvement=Involvement.from_row(row) if row else None,
            errors=errors,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Change an involvement's role, description or sources (optimistic: send the version "
        "you read).",
    )
    async def update_involvement(
        self, info: Info, input: InputArg[UpdateInvolvementInput]
    ) -> InvolvementPayload:
        async def work(session: AsyncSession) -> InvolvementRow:
            involvement = await _load(session, input.id, ("input", "id"), INVOLVEMENT)
            change_description = input.description is not strawberry.UNSET
            return await writes.update_involvement(
                session,
                involvement,
                version=input.version,
                role=input.role,
                description=input.description if change_description else None,
                change_description=change_description,
                sources=citation_specs(input.sources),
            )

        row, errors = await _run(info, work)
        return InvolvementPayload(
            involvement=Involvement.from_row(row) if row else None,
            errors=errors,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(permission_classes=[CanWrite], description="Remove an involvement.")
    async def remove_involvement(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The involvement's id.", deprecation_reason=DEPRECATED_ID),
        ] = None,
        input: Annotated[
            RemoveInvolvementInput | None, strawberry.argument(description="What to remove.")
        ] = None,
    ) -> DeletePayload:
        client_mutation_id = input.client_mutation_id if input is not None else None

        async def work(session: AsyncSession) -> strawberry.ID:
            target, path = _removal_target(id, input)
            involvement = await _load(session, target, path, INVOLVEMENT)
            await session.delete(involvement)
            await session.flush()
            return target

        deleted, errors = await _run(info, work)
        return DeletePayload(deleted_id=deleted, errors=errors, client_mutation_id=client_mutation_id)

    @strawberry.mutation(permission_classes=[CanWrite], description="Create an organisation.")
    async def create_organization(
        self, info: Info, input: InputArg[CreateOrganizationInput]
    ) -> OrganizationPayload:
        row, errors = await _run(
            info,
            lambda session: writes.create_organization(
                session, slug=input.slug, name=input.name, kind=input.kind, website=input.website,
                sources=citation_specs(input.sources),
            ),
        )  # fmt: skip
        return OrganizationPayload(
            organization=Organization.from_row(row) if row else None,
            errors=errors,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Record a reorganisation: dissolves the municipalities on effectiveOn and, for a MERGER, "
        "creates the new one. From then on `current` and `includePredecessors` follow it.",
    )
    async def record_fusion(self, info: Info, input: InputArg[RecordFusionInput]) -> FusionPayload:
        row, errors = await _run(
            info,
            lambda session: writes.record_fusion(
                session, name=input.name, kind=input.kind, effective_on=input.effective_on,
                dissolved_codes=input.dissolved_codes, resulting_codes=input.resulting_codes,
                resulting_name=input.resulting_name, sources=citation_specs(input.sources),
            ),
        )  # fmt: skip
        return FusionPayload(
            fusion=Fusion.from_row(row) if row else None,
            errors=errors,
            client_mutation_id=input.client_mutation_id,
        )
