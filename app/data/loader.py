"""Validate and load the bundled dataset (``app/data/*.yaml``; the format is in ``FORMAT.md``).

Everything is validated before anything is written: a typo anywhere (unknown code, unknown role, a quote
that is not in its source, a duplicate slug) stops the load with a message naming the file, the entry and
the problem, and the database is left untouched. Loading the same content again is a no-op; loading changed
content updates the rows in place by their natural keys (code, slug, name and date, ...).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.data.boundaries import BoundaryEntry, load_boundaries, read_boundaries
from app.models import (
    Citation,
    DatasetLoad,
    Fusion,
    FusionMunicipality,
    Initiative,
    InitiativeTheme,
    Involvement,
    Membership,
    Municipality,
    Organization,
    Participant,
    ReportedFigure,
    SourceDocument,
    UnresolvedMention,
)
from app.models.enums import (
    FusionKind,
    FusionSide,
    InitiativeKind,
    InitiativeStatus,
    OrganizationKind,
    PartnerRole,
)
from app.services.text import fold, normalise_whitespace, search_document

DATA_DIR = Path(__file__).parent
PROVINCE = "Noord-Brabant"
T = TypeVar("T")
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=100)]
Code = Annotated[str, StringConstraints(pattern=r"^GM\d{4}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CitationEntry(_Strict):
    document: Slug
    quote: Text


CITATIONS_OPTIONAL = "citations_optional"
"""Validation context key: when true, facts may come without citations (empty ``sources``, no ``source``).

Only the export/import format (docs/export-format.md) sets it, since facts written through the API may have no
citation; the bundled dataset always requires them.
"""


def _citations_optional(info: ValidationInfo) -> bool:
    return bool(isinstance(info.context, dict) and info.context.get(CITATIONS_OPTIONAL))


def _at_least_one(citations: list[CitationEntry], info: ValidationInfo) -> list[CitationEntry]:
    if not citations and not _citations_optional(info):
        raise PydanticCustomError(
            "too_short",
            "List should have at least 1 item after validation, not 0",
            {"field_type": "List", "min_length": 1, "actual_length": 0},
        )
    return citations


def _required(citation: CitationEntry | None, info: ValidationInfo) -> CitationEntry | None:
    if citation is None and not _citations_optional(info):
        raise PydanticCustomError("missing", "Field required")
    return citation


Sources = Annotated[list[CitationEntry], AfterValidator(_at_least_one)]


class _DocumentFields(_Strict):
    slug: Slug
    title: Text
    date: dt.date
    author: Text | None = None
    issuer: Text | None = None
    url: Text | None = None
    description: Text | None = None


class DocumentEntry(_DocumentFields):
    text_file: Text


class InlineDocumentEntry(_DocumentFields):
    """A document of the export/import format: its text inline (as written), or none."""

    text: Annotated[str, StringConstraints(min_length=1)] | None = None


class MunicipalityEntry(_Strict):
    code: Code
    name: Text
    founded_on: dt.date | None = None
    dissolved_on: dt.date | None = None
    sources: Sources


class FusionEntry(_Strict):
    name: Text
    kind: FusionKind
    effective_on: dt.date
    dissolved: Annotated[list[Code], Field(min_length=1)]
    resulting: Annotated[list[Code], Field(min_length=1)]
    sources: Sources


class OrganizationEntry(_Strict):
    slug: Slug
    name: Text
    kind: OrganizationKind
    website: Text | None = None
    description: Text | None = None
    members: list[Text] = []
    members_sources: list[CitationEntry] = []
    sources: Sources


class ReportedFigureEntry(_Strict):
    label: Text
    value: int
    unit: Text
    source: Annotated[CitationEntry | None, AfterValidator(_required)] = Field(
        default=None, validate_default=True
    )


class InvolvementEntry(_Strict):
    participant: Text
    role: PartnerRole
    description: Text | None = None
    sources: Sources


class UnresolvedMentionEntry(_Strict):
    name: Text
    role: PartnerRole
    note: Text
    sources: Sources


class InitiativeEntry(_Strict):
    slug: Slug
    name: Text
    kind: InitiativeKind
    status: InitiativeStatus
    summary: Text
    cross_over_themes: list[Text] = []
    sources: Sources
    reported_figures: list[ReportedFigureEntry] = []
    involvements: list[InvolvementEntry] = []
    unresolved_mentions: list[UnresolvedMentionEntry] = []


class SourcesFile(_Strict):
    documents: Annotated[list[DocumentEntry], Field(min_length=1)]


class MunicipalitiesFile(_Strict):
    municipalities: list[MunicipalityEntry]


class FusionsFile(_Strict):
    fusions: list[FusionEntry]


class OrganizationsFile(_Strict):
    organizations: list[OrganizationEntry]


class InitiativesFile(_Strict):
    initiatives: list[InitiativeEntry]


FILES: dict[str, type[_Strict]] = {
    "sources.yaml": SourcesFile,
    "municipalities.yaml": MunicipalitiesFile,
    "fusions.yaml": FusionsFile,
    "regions.yaml": OrganizationsFile,
    "organizations.yaml": OrganizationsFile,
    "initiatives.yaml": InitiativesFile,
}


class DatasetError(Exception):
    """The dataset is invalid; ``problems`` lists every problem found, each naming file and entry."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"the dataset has {len(problems)} problem(s); nothing was loaded:\n  " + "\n  ".join(problems)
        )


@dataclass
class Dataset:
    """The validated content of every file."""

    documents: Sequence[DocumentEntry | InlineDocumentEntry]
    document_texts: dict[str, str]
    municipalities: list[MunicipalityEntry]
    fusions: list[FusionEntry]
    organizations: list[OrganizationEntry]
    initiatives: list[InitiativeEntry]
    content_hash: str
    counts: dict[str, int] = field(default_factory=dict)
    raw_texts: dict[str, str] = field(default_factory=dict)
    """Document texts as written (``document_texts`` holds them whitespace-normalised, for quote checks)."""
    boundaries: list[BoundaryEntry] | None = None
    """The municipalities' boundaries (app/data/boundaries.py); None: leave those in the database as they are."""


def _entry_name(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("slug", "code", "name"):
            if isinstance(item.get(key), str):
                return f"entry {index} ({key} {item[key]!r})"
    return f"entry {index}"


def _validation_problems(file_name: str, raw: Any, error: ValidationError) -> list[str]:
    problems = []
    for detail in error.errors():
        location = list(detail["loc"])
        where = file_name
        if len(location) >= 2 and isinstance(location[1], int) and isinstance(raw, dict):
            items = raw.get(str(location[0]))
            item = items[location[1]] if isinstance(items, list) and location[1] < len(items) else None
            where += f": {location[0]} {_entry_name(item, location[1])}"
            location = location[2:]
        elif location:
            where += f": {location[0]}"
            location = location[1:]
        path = ".".join(str(part) for part in location)
        problems.append(f"{where}: {path + ': ' if path else ''}{detail['msg']}")
    return problems


def read_dataset(data_dir: Path = DATA_DIR) -> Dataset:
    """Parse and validate every file; raise :class:`DatasetError` listing all problems."""
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    digest = hashlib.sha256()
    for file_name, model in FILES.items():
        path = data_dir / file_name
        try:
            content = path.read_bytes()
        except OSError as exc:
            problems.append(f"{file_name}: cannot be read: {exc.strerror}")
            continue
        digest.update(file_name.encode() + b"\0" + content + b"\0")
        try:
            raw = yaml.safe_load(content)
        except yaml.YAMLError as exc:
            problems.append(f"{file_name}: is not valid YAML: {exc}")
            continue
        try:
            parsed[file_name] = model.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_validation_problems(file_name, raw, exc))
    if problems:
        raise DatasetError(problems)

    sources: SourcesFile = parsed["sources.yaml"]
    dataset = Dataset(
        documents=sources.documents,
        document_texts={},
        municipalities=parsed["municipalities.yaml"].municipalities,
        fusions=parsed["fusions.yaml"].fusions,
        organizations=parsed["regions.yaml"].organizations + parsed["organizations.yaml"].organizations,
        initiatives=parsed["initiatives.yaml"].initiatives,
        content_hash="",
    )
    for document in sources.documents:
        try:
            text_bytes = (data_dir / document.text_file).read_bytes()
        except OSError as exc:
            problems.append(
                f"sources.yaml: document {document.slug!r}: text_file {document.text_file!r} "
                f"cannot be read: {exc.strerror}"
            )
            continue
        digest.update(text_bytes)
        dataset.raw_texts[document.slug] = text_bytes.decode("utf-8")
        dataset.document_texts[document.slug] = normalise_whitespace(dataset.raw_texts[document.slug])
    dataset.boundaries, boundary_problems = read_boundaries(
        data_dir, digest, dataset.municipalities, dataset.raw_texts
    )
    problems.extend(boundary_problems)
    dataset.content_hash = digest.hexdigest()
    problems.extend(_cross_check(dataset))
    if problems:
        raise DatasetError(problems)
    return dataset


def _duplicates(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated = []
    for value in values:
        if value in seen:
            repeated.append(value)
        seen.add(value)
    return repeated


Locate = Callable[[object, str], str]
"""``locate(subject, default)``: where a problem's subject is (an entry, a citation, or a collection's name)."""


def _cross_check(
    dataset: Dataset, *, require_sources: bool = True, locate: Locate | None = None
) -> list[str]:
    """The problems between entries: unknown references, duplicates, quotes not found in their document.

    ``require_sources=False`` (the export/import format) accepts members without ``members_sources``;
    ``locate`` names where a problem is (by default the YAML file and entry).
    """
    problems: list[str] = []
    texts = dataset.document_texts
    # A document of the export/import format may have no text; quotes of it cannot be checked.
    textless = {d.slug for d in dataset.documents if isinstance(d, InlineDocumentEntry) and d.text is None}

    def at(subject: object, default: str) -> str:
        return locate(subject, default) if locate else default

    def check_citations(where: str, citations: Iterable[CitationEntry]) -> None:
        for citation in citations:
            text = texts.get(citation.document)
            cited = at(citation, where)
            if text is None:
                if citation.document not in textless:
                    problems.append(f"{cited}: cites unknown document {citation.document!r}")
            elif normalise_whitespace(citation.quote) not in text:
                problems.append(
                    f"{cited}: quote {citation.quote!r} is not found verbatim in document {citation.document!r}"
                )

    for slug in _duplicates(d.slug for d in dataset.documents):
        problems.append(f"{at('documents', 'sources.yaml')}: duplicate document slug {slug!r}")

    codes = {m.code: m for m in dataset.municipalities}
    for code in _duplicates(m.code for m in dataset.municipalities):
        problems.append(f"{at('municipalities', 'municipalities.yaml')}: duplicate code {code!r}")
    for municipality in dataset.municipalities:
        where = at(municipality, f"municipalities.yaml: municipality {municipality.code!r}")
        founded, dissolved = municipality.founded_on, municipality.dissolved_on
        if founded and dissolved and founded >= dissolved:
            problems.append(f"{where}: founded_on {founded} is not before dissolved_on {dissolved}")
        check_citations(where, municipality.sources)

    for fusion in dataset.fusions:
        where = at(fusion, f"fusions.yaml: fusion {fusion.name!r} ({fusion.effective_on})")
        for side, side_codes in (("dissolved", fusion.dissolved), ("resulting", fusion.resulting)):
            for code in side_codes:
                if code not in codes:
                    problems.append(f"{where}: {side} code {code!r} is not in municipalities.yaml")
        for code in set(fusion.dissolved) & set(fusion.resulting):
            problems.append(f"{where}: {code!r} is both dissolved and resulting")
        for code in fusion.dissolved:
            if code in codes and codes[code].dissolved_on != fusion.effective_on:
                problems.append(
                    f"{where}: dissolved {code!r} has dissolved_on {codes[code].dissolved_on}, "
                    f"not the fusion's effective_on {fusion.effective_on}"
                )
        if fusion.kind is FusionKind.MERGER:
            if len(fusion.resulting) != 1:
                problems.append(f"{where}: a MERGER has exactly one resulting municipality")
            elif (
                fusion.resulting[0] in codes and codes[fusion.resulting[0]].founded_on != fusion.effective_on
            ):
                problems.append(
                    f"{where}: resulting {fusion.resulting[0]!r} must have founded_on {fusion.effective_on}"
                )
        elif len(fusion.dissolved) != 1:
            problems.append(f"{where}: a SPLIT dissolves exactly one municipality")
        check_citations(where, fusion.sources)

    org_slugs = {o.slug for o in dataset.organizations}
    for slug in _duplicates(o.slug for o in dataset.organizations):
        problems.append(
            f"{at('organizations', 'organizations.yaml/regions.yaml')}: duplicate organization slug {slug!r}"
        )
    participants = set(codes) | org_slugs
    for organization in dataset.organizations:
        where = at(organization, f"organizations: organization {organization.slug!r}")
        for member in organization.members:
            if member not in participants:
                problems.append(
                    f"{where}: member {member!r} is no known municipality code or organization slug"
                )
            if member == organization.slug:
                problems.append(f"{where}: is listed as its own member")
        for member in _duplicates(organization.members):
            problems.append(f"{where}: member {member!r} is listed twice")
        if organization.members and not organization.members_sources and require_sources:
            problems.append(f"{where}: members are listed without members_sources")
        check_citations(where, organization.sources)
        check_citations(f"{where}: members_sources", organization.members_sources)

    for slug in _duplicates(i.slug for i in dataset.initiatives):
        problems.append(f"{at('initiatives', 'initiatives.yaml')}: duplicate initiative slug {slug!r}")
    for initiative in dataset.initiatives:
        where = at(initiative, f"initiatives.yaml: initiative {initiative.slug!r}")
        check_citations(where, initiative.sources)
        for theme in _duplicates(initiative.cross_over_themes):
            problems.append(f"{where}: cross-over theme {theme!r} is listed twice")
        for label in _duplicates(f.label for f in initiative.reported_figures):
            problems.append(f"{where}: reported figure {label!r} is listed twice")
        for figure in initiative.reported_figures:
            figure_where = at(figure, f"{where}: reported figure {figure.label!r}")
            check_citations(figure_where, [figure.source] if figure.source else [])
        seen: set[tuple[str, PartnerRole]] = set()
        for index, involvement in enumerate(initiative.involvements):
            inv_where = at(
                involvement, f"{where}: involvement {index} ({involvement.participant} as {involvement.role})"
            )
            if involvement.participant not in participants:
                problems.append(
                    f"{inv_where}: participant {involvement.participant!r} is no known municipality code "
                    "or organization slug"
                )
            key = (involvement.participant, involvement.role)
            if key in seen:
                problems.append(f"{inv_where}: duplicate involvement (same participant and role)")
            seen.add(key)
            check_citations(inv_where, involvement.sources)
        for mention in initiative.unresolved_mentions:
            check_citations(at(mention, f"{where}: unresolved mention {mention.name!r}"), mention.sources)
    return problems


# ---------------------------------------------------------------------------------------------- loading


async def _citations(
    session: AsyncSession, documents: dict[str, int], entries: Iterable[CitationEntry], **subject: int
) -> None:
    """Make the citations of one subject exactly ``entries`` (idempotent)."""
    ((column, subject_id),) = subject.items()
    wanted = [(documents[c.document], normalise_whitespace(c.quote)) for c in entries]
    existing = (await session.scalars(select(Citation).where(getattr(Citation, column) == subject_id))).all()
    have = {(c.document_id, c.quote): c for c in existing}
    for key, citation in have.items():
        if key not in wanted:
            await session.delete(citation)
    for document_id, quote in wanted:
        if (document_id, quote) not in have:
            session.add(Citation(document_id=document_id, quote=quote, **subject))


async def _upsert(session: AsyncSession, model: type[T], key: dict[str, Any], **values: Any) -> T:
    """The row of ``model`` with natural ``key``, created or updated to ``values`` (and flushed)."""
    row = await session.scalar(select(model).filter_by(**key))
    if row is None:
        row = model(**key, **values)
        session.add(row)
    else:
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
    await session.flush()
    return row


async def load_dataset(session: AsyncSession, dataset: Dataset) -> bool:
    """Write the dataset in the session's transaction. Returns False if this content was loaded before.

    The caller commits. Rows are matched by natural keys, so a second load of changed files updates
    in place instead of duplicating.
    """
    if await session.scalar(select(DatasetLoad.id).where(DatasetLoad.content_hash == dataset.content_hash)):
        return False

    documents: dict[str, int] = {}
    for entry in dataset.documents:
        document = await _upsert(
            session,
            SourceDocument,
            {"slug": entry.slug},
            title=entry.title,
            date=entry.date,
            author=entry.author,
            issuer=entry.issuer,
            url=entry.url,
            description=entry.description,
            text=dataset.raw_texts.get(entry.slug, dataset.document_texts.get(entry.slug)),
        )
        documents[entry.slug] = document.id

    participants: dict[str, int] = {}
    for m_entry in sorted(dataset.municipalities, key=lambda m: (fold(m.name), m.code)):
        municipality = await _upsert(
            session,
            Municipality,
            {"code": m_entry.code},
            name=m_entry.name,
            name_folded=fold(m_entry.name),
            province=PROVINCE,
            founded_on=m_entry.founded_on,
            dissolved_on=m_entry.dissolved_on,
        )
        participants[m_entry.code] = municipality.id
        await _citations(session, documents, m_entry.sources, participant_id=municipality.id)

    for o_entry in dataset.organizations:
        organization = await _upsert(
            session,
            Organization,
            {"slug": o_entry.slug},
            name=o_entry.name,
            name_folded=fold(o_entry.name),
            kind=o_entry.kind,
            website=o_entry.website,
            description=o_entry.description,
        )
        participants[o_entry.slug] = organization.id
        await _citations(session, documents, o_entry.sources, participant_id=organization.id)

    for o_entry in dataset.organizations:
        organization_id = participants[o_entry.slug]
        member_ids = [participants[member] for member in o_entry.members]
        await session.execute(
            delete(Membership).where(
                Membership.organization_id == organization_id, Membership.member_id.not_in(member_ids)
            )
        )
        for member_id in member_ids:
            membership = await _upsert(
                session, Membership, {"organization_id": organization_id, "member_id": member_id}
            )
            await _citations(session, documents, o_entry.members_sources, membership_id=membership.id)

    for f_entry in dataset.fusions:
        fusion = await _upsert(
            session, Fusion, {"name": f_entry.name, "effective_on": f_entry.effective_on}, kind=f_entry.kind
        )
        await session.execute(delete(FusionMunicipality).where(FusionMunicipality.fusion_id == fusion.id))
        sides = ((FusionSide.DISSOLVED, f_entry.dissolved), (FusionSide.RESULTING, f_entry.resulting))
        session.add_all(
            FusionMunicipality(fusion_id=fusion.id, municipality_id=participants[code], side=side)
            for side, codes in sides
            for code in codes
        )
        await _citations(session, documents, f_entry.sources, fusion_id=fusion.id)

    if dataset.boundaries is not None:
        await load_boundaries(session, dataset.boundaries, participants, documents)

    for i_entry in dataset.initiatives:
        await _load_initiative(session, documents, participants, i_entry)

    session.add(DatasetLoad(content_hash=dataset.content_hash, loaded_at=datetime.now(UTC)))
    await session.flush()
    return True


async def _load_initiative(
    session: AsyncSession, documents: dict[str, int], participants: dict[str, int], entry: InitiativeEntry
) -> None:
    initiative = await _upsert(
        session,
        Initiative,
        {"slug": entry.slug},
        name=entry.name,
        kind=entry.kind,
        status=entry.status,
        summary=entry.summary,
        search_folded=search_document(entry.name, entry.summary),
    )
    await _citations(session, documents, entry.sources, initiative_id=initiative.id)

    await session.execute(delete(InitiativeTheme).where(InitiativeTheme.initiative_id == initiative.id))
    session.add_all(
        InitiativeTheme(initiative_id=initiative.id, position=position, theme=theme, theme_folded=fold(theme))
        for position, theme in enumerate(entry.cross_over_themes)
    )

    labels = [f.label for f in entry.reported_figures]
    await session.execute(
        delete(ReportedFigure).where(
            ReportedFigure.initiative_id == initiative.id, ReportedFigure.label.not_in(labels)
        )
    )
    for f_entry in entry.reported_figures:
        figure = await _upsert(
            session,
            ReportedFigure,
            {"initiative_id": initiative.id, "label": f_entry.label},
            value=f_entry.value,
            unit=f_entry.unit,
        )
        sources = [f_entry.source] if f_entry.source else []
        await _citations(session, documents, sources, reported_figure_id=figure.id)

    for inv_entry in entry.involvements:
        key = {
            "initiative_id": initiative.id,
            "participant_id": participants[inv_entry.participant],
            "role": inv_entry.role,
        }
        involvement = await _upsert(session, Involvement, key, description=inv_entry.description)
        await _citations(session, documents, inv_entry.sources, involvement_id=involvement.id)

    for u_entry in entry.unresolved_mentions:
        key = {"initiative_id": initiative.id, "name": u_entry.name, "role": u_entry.role}
        mention = await _upsert(session, UnresolvedMention, key, note=u_entry.note)
        await _citations(session, documents, u_entry.sources, unresolved_mention_id=mention.id)


async def database_is_empty(session: AsyncSession) -> bool:
    return await session.scalar(select(Participant.id).limit(1)) is None
