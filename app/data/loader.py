"""Validate and load the bundled dataset (``app/data/*.yaml``; the format is in ``FORMAT.md``).

Everything is validated before anything is written: a typo anywhere (unknown code, unknown role, a quote
that is not in its source, a duplicate slug) stops the load with a message naming the file, the entry and
the problem, and the database is left untouched. Loading the same content again is a no-op; loading changed
content updates the rows in place by their natural keys (code, slug, name and date, ...).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
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
    MunicipalityAlias,
    Organization,
    Participant,
    ReportedFigure,
    SourceDocument,
    UnresolvedMention,
)
from app.models.enums import (
    Basis,
    FusionKind,
    FusionSide,
    InitiativeKind,
    InitiativeStatus,
    OrganizationKind,
    PartnerRole,
)
from app.models.provenance import CITATION_SUBJECTS as CITATION_SUBJECT_COLUMNS
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
    description_en: Text | None = None


class DocumentEntry(_DocumentFields):
    text_file: Text


class InlineDocumentEntry(_DocumentFields):
    """A document of the export/import format: its text inline (as written), or none."""

    text: Annotated[str, StringConstraints(min_length=1)] | None = None


class _Interpretable(_Strict):
    """A fact that may go beyond its source's words: ``basis: INTERPRETED`` with a note saying how."""

    basis: Basis = Basis.QUOTED
    basis_note: Text | None = None
    basis_note_en: Text | None = None


class MunicipalityEntry(_Interpretable):
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


class OrganizationEntry(_Interpretable):
    slug: Slug
    name: Text
    kind: OrganizationKind
    website: Text | None = None
    description: Text | None = None
    description_en: Text | None = None
    members: list[Text] = []
    members_as_of: dt.date | None = None
    members_sources: list[CitationEntry] = []
    sources: Sources


class ReportedFigureEntry(_Strict):
    label: Text
    label_en: Text | None = None
    value: int
    unit: Text
    unit_en: Text | None = None
    source: Annotated[CitationEntry | None, AfterValidator(_required)] = Field(
        default=None, validate_default=True
    )


class InvolvementEntry(_Interpretable):
    participant: Text
    role: PartnerRole
    description: Text | None = None
    description_en: Text | None = None
    sources: Sources


class UnresolvedMentionEntry(_Strict):
    name: Text
    role: PartnerRole
    note: Text
    note_en: Text | None = None
    sources: Sources


class InitiativeEntry(_Interpretable):
    slug: Slug
    name: Text
    kind: InitiativeKind
    status: InitiativeStatus
    summary: Text
    summary_en: Text | None = None
    cross_over_themes: list[Text] = []
    sources: Sources
    reported_figures: list[ReportedFigureEntry] = []
    involvements: list[InvolvementEntry] = []
    unresolved_mentions: list[UnresolvedMentionEntry] = []


class AliasEntry(_Strict):
    code: Code
    name: Text
    sources: Sources


class AliasesFile(_Strict):
    aliases: list[AliasEntry]


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
    "aliases.yaml": AliasesFile,
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
    aliases: list[AliasEntry] = field(default_factory=list)
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
        aliases=parsed["aliases.yaml"].aliases,
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

    def check_texts(where: str, entry: object, *fields: str) -> None:
        """Dutch is the source language: an English text translates a Dutch one, which the bundled dataset
        always has a translation of; an interpretation has its note (in both languages), a quoted fact none."""
        for name in fields:
            dutch, english = getattr(entry, name), getattr(entry, name + "_en")
            if english is not None and dutch is None:
                problems.append(f"{where}: {name}_en is given but the Dutch text {name} is missing")
            elif dutch is not None and english is None and require_sources:
                problems.append(f"{where}: {name} has no English translation ({name}_en)")
        if isinstance(entry, _Interpretable):
            if entry.basis is Basis.INTERPRETED and entry.basis_note is None:
                problems.append(f"{where}: basis INTERPRETED needs a basis_note (in Dutch) saying how")
            if entry.basis is Basis.QUOTED and (entry.basis_note or entry.basis_note_en):
                problems.append(f"{where}: a basis_note is only for basis INTERPRETED")
            elif entry.basis_note is not None and entry.basis_note_en is None and require_sources:
                problems.append(f"{where}: basis_note has no English translation (basis_note_en)")

    for document in dataset.documents:
        check_texts(at(document, f"sources.yaml: document {document.slug!r}"), document, "description")
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
        check_texts(where, municipality)
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
        if organization.members_as_of is not None and not organization.members:
            problems.append(f"{where}: members_as_of is given without members")
        check_texts(where, organization, "description")
        check_citations(where, organization.sources)
        check_citations(f"{where}: members_sources", organization.members_sources)

    for slug in _duplicates(i.slug for i in dataset.initiatives):
        problems.append(f"{at('initiatives', 'initiatives.yaml')}: duplicate initiative slug {slug!r}")
    for initiative in dataset.initiatives:
        where = at(initiative, f"initiatives.yaml: initiative {initiative.slug!r}")
        check_texts(where, initiative, "summary")
        check_citations(where, initiative.sources)
        for theme in _duplicates(initiative.cross_over_themes):
            problems.append(f"{where}: cross-over theme {theme!r} is listed twice")
        for label in _duplicates(f.label for f in initiative.reported_figures):
            problems.append(f"{where}: reported figure {label!r} is listed twice")
        for figure in initiative.reported_figures:
            figure_where = at(figure, f"{where}: reported figure {figure.label!r}")
            check_texts(figure_where, figure, "label", "unit")
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
            check_texts(inv_where, involvement, "description")
            check_citations(inv_where, involvement.sources)
        for mention in initiative.unresolved_mentions:
            mention_where = at(mention, f"{where}: unresolved mention {mention.name!r}")
            check_texts(mention_where, mention, "note")
            check_citations(mention_where, mention.sources)
    names = {fold(m.name) for m in dataset.municipalities}
    for alias in dataset.aliases:
        alias_where = f"aliases.yaml: alias {alias.name!r} ({alias.code})"
        if alias.code not in codes:
            problems.append(f"{alias_where}: code {alias.code!r} is not in municipalities.yaml")
        elif fold(alias.name) in names:
            problems.append(f"{alias_where}: is already the name of a municipality")
        check_citations(alias_where, alias.sources)
    for name in _duplicates(fold(a.name) for a in dataset.aliases):
        problems.append(f"aliases.yaml: alias {name!r} is listed twice")
    return problems


# ---------------------------------------------------------------------------------------------- loading


Progress = Callable[[str, int, int], None]
"""Called as a load goes on: ``(what, done, total)``, e.g. ``("involvements", 4000, 20118)``."""

_FLUSH_EVERY = 5000
"""New rows added between two flushes of the unit of work (each flush is one bulk INSERT per table)."""


@dataclass
class _Citations:
    """Every citation in the database by subject, and the citations a load wants each subject to have."""

    existing: dict[tuple[str, int], list[Citation]]
    wanted: list[tuple[str, Any, list[tuple[int, str]]]] = field(default_factory=list)

    def want(
        self, column: str, subject: Any, documents: dict[str, int], entries: Iterable[CitationEntry]
    ) -> None:
        """Make the citations of ``subject`` (a row that may not have its id yet) exactly ``entries``."""
        self.wanted.append(
            (column, subject, [(documents[c.document], normalise_whitespace(c.quote)) for c in entries])
        )

    def apply(self, session: AsyncSession) -> list[Citation]:
        """Delete the citations that are no longer wanted; return the new ones to add (ids are known now)."""
        new: list[Citation] = []
        for column, subject, wanted in self.wanted:
            have = {(c.document_id, c.quote): c for c in self.existing.get((column, subject.id), [])}
            for key, citation in have.items():
                if key not in wanted:
                    session.sync_session.delete(citation)
            new.extend(
                Citation(document_id=document_id, quote=quote, **{column: subject.id})
                for document_id, quote in wanted
                if (document_id, quote) not in have
            )
        return new


def _update(row: Any, **values: Any) -> None:
    """Set the values that differ (an unchanged row is not written, and not logged as changed)."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


async def _delete_where_in(session: AsyncSession, model: type[Any], column: Any, ids: Sequence[int]) -> None:
    """DELETE ... WHERE column IN (ids), in chunks that stay under SQLite's limit of bound parameters."""
    for start in range(0, len(ids), 1000):
        await session.execute(
            delete(model)
            .where(column.in_(ids[start : start + 1000]))
            .execution_options(synchronize_session=False)
        )


async def load_dataset(session: AsyncSession, dataset: Dataset, progress: Progress | None = None) -> bool:
    """Write the dataset in the session's transaction. Returns False if this content was loaded before.

    The caller commits. Rows are matched by natural keys, so a second load of changed files updates
    in place instead of duplicating.

    Written in bulk: every table's rows are read once (one SELECT per table), compared in Python, and the
    new and changed rows go out in a few flushes of the unit of work, each one multi-row INSERT per table
    (SQLAlchemy's "insertmanyvalues", ids returned in batches). Row by row (a SELECT and a flush per row, as
    before) 20,118 involvements took 3 minutes on PostgreSQL; in bulk a few seconds (bench/README.md,
    "Import"). The change log's ``after_flush`` hook records each flush's rows as usual, one INSERT of
    all their entries per flush, so an import is logged exactly as before.
    """
    if await session.scalar(select(DatasetLoad.id).where(DatasetLoad.content_hash == dataset.content_hash)):
        return False
    report = progress or (lambda what, done, total: None)
    with session.no_autoflush:
        await _load(session, dataset, report)
    return True


async def _load(session: AsyncSession, dataset: Dataset, report: Progress) -> None:
    # Everything that a natural key can match, read once.
    stored_documents = {d.slug: d for d in await session.scalars(select(SourceDocument))}
    stored_municipalities = {m.code: m for m in await session.scalars(select(Municipality))}
    stored_organizations = {o.slug: o for o in await session.scalars(select(Organization))}
    stored_memberships = {
        (m.organization_id, m.member_id): m for m in await session.scalars(select(Membership))
    }
    stored_fusions = {(f.name, f.effective_on): f for f in await session.scalars(select(Fusion))}
    stored_initiatives = {i.slug: i for i in await session.scalars(select(Initiative))}
    stored_figures = {(f.initiative_id, f.label): f for f in await session.scalars(select(ReportedFigure))}
    stored_involvements = {
        (i.initiative_id, i.participant_id, i.role): i for i in await session.scalars(select(Involvement))
    }
    stored_mentions = {
        (m.initiative_id, m.name, m.role): m for m in await session.scalars(select(UnresolvedMention))
    }
    by_subject: dict[tuple[str, int], list[Citation]] = {}
    for citation in await session.scalars(select(Citation).order_by(Citation.id)):
        column = next(c for c in CITATION_SUBJECT_COLUMNS if getattr(citation, c) is not None)
        by_subject.setdefault((column, getattr(citation, column)), []).append(citation)
    citations = _Citations(by_subject)

    def upsert(stored: dict[Any, T], model: type[T], key: dict[str, Any], **values: Any) -> T:
        """The row with natural ``key`` (a new one added to the session), set to ``values``."""
        lookup = tuple(key.values())
        row = stored.get(lookup[0] if len(lookup) == 1 else lookup)
        if row is None:
            row = model(**key, **values)
            session.add(row)
            stored[lookup[0] if len(lookup) == 1 else lookup] = row
        else:
            _update(row, **values)
        return row

    documents_total = len(dataset.documents)
    document_rows = []
    for entry in dataset.documents:
        values = {
            "title": entry.title,
            "date": entry.date,
            "author": entry.author,
            "issuer": entry.issuer,
            "url": entry.url,
            "description": entry.description,
            "description_en": entry.description_en,
            "text": dataset.raw_texts.get(entry.slug, dataset.document_texts.get(entry.slug)),
        }
        document_rows.append(upsert(stored_documents, SourceDocument, {"slug": entry.slug}, **values))
    await session.flush()
    documents = {row.slug: row.id for row in document_rows}
    report("documents", documents_total, documents_total)

    participants: dict[str, Any] = {}
    for m_entry in sorted(dataset.municipalities, key=lambda m: (fold(m.name), m.code)):
        values = {
            "name": m_entry.name,
            "name_folded": fold(m_entry.name),
            "province": PROVINCE,
            "founded_on": m_entry.founded_on,
            "dissolved_on": m_entry.dissolved_on,
            "basis": m_entry.basis,
            "basis_note": m_entry.basis_note,
            "basis_note_en": m_entry.basis_note_en,
        }
        municipality = upsert(stored_municipalities, Municipality, {"code": m_entry.code}, **values)
        participants[m_entry.code] = municipality
        citations.want("participant_id", municipality, documents, m_entry.sources)
    for o_entry in dataset.organizations:
        values = {
            "name": o_entry.name,
            "name_folded": fold(o_entry.name),
            "kind": o_entry.kind,
            "website": o_entry.website,
            "description": o_entry.description,
            "description_en": o_entry.description_en,
            "basis": o_entry.basis,
            "basis_note": o_entry.basis_note,
            "basis_note_en": o_entry.basis_note_en,
            "members_as_of": o_entry.members_as_of,
        }
        organization = upsert(stored_organizations, Organization, {"slug": o_entry.slug}, **values)
        participants[o_entry.slug] = organization
        citations.want("participant_id", organization, documents, o_entry.sources)
    await session.flush()
    report("participants", len(participants), len(participants))

    # Municipality aliases (aliases.yaml): exactly the dataset's, matched by (municipality, name).
    stored_aliases = {
        (a.municipality_id, a.name): a for a in await session.scalars(select(MunicipalityAlias))
    }
    wanted_aliases = {(participants[a.code].id, a.name) for a in dataset.aliases}
    for alias_key, alias in stored_aliases.items():
        if alias_key not in wanted_aliases:
            await session.delete(alias)
    for municipality_id, alias_name in sorted(wanted_aliases - set(stored_aliases)):
        session.add(
            MunicipalityAlias(municipality_id=municipality_id, name=alias_name, name_folded=fold(alias_name))
        )

    memberships_of: dict[int, dict[int, Membership]] = defaultdict(dict)
    for (organization_id, member_id), membership_row in stored_memberships.items():
        memberships_of[organization_id][member_id] = membership_row
    stale: list[int] = []
    for o_entry in dataset.organizations:
        organization_id = participants[o_entry.slug].id
        member_ids = {participants[member].id for member in o_entry.members}
        stale.extend(
            m.id for member, m in memberships_of.get(organization_id, {}).items() if member not in member_ids
        )
        for member in o_entry.members:
            membership = upsert(
                stored_memberships,
                Membership,
                {"organization_id": organization_id, "member_id": participants[member].id},
            )
            citations.want("membership_id", membership, documents, o_entry.members_sources)
    await _delete_where_in(session, Membership, Membership.id, stale)

    fusion_rows = []
    for f_entry in dataset.fusions:
        fusion = upsert(
            stored_fusions,
            Fusion,
            {"name": f_entry.name, "effective_on": f_entry.effective_on},
            kind=f_entry.kind,
        )
        fusion_rows.append(fusion)
        citations.want("fusion_id", fusion, documents, f_entry.sources)
    initiative_rows = []
    for i_entry in dataset.initiatives:
        values = {
            "name": i_entry.name,
            "kind": i_entry.kind,
            "status": i_entry.status,
            "summary": i_entry.summary,
            "summary_en": i_entry.summary_en,
            "basis": i_entry.basis,
            "basis_note": i_entry.basis_note,
            "basis_note_en": i_entry.basis_note_en,
            "search_folded": search_document(i_entry.name, i_entry.summary),
        }
        initiative = upsert(stored_initiatives, Initiative, {"slug": i_entry.slug}, **values)
        initiative_rows.append(initiative)
        citations.want("initiative_id", initiative, documents, i_entry.sources)
    await session.flush()
    report("initiatives", len(initiative_rows), len(initiative_rows))

    if dataset.boundaries is not None:
        codes = {code: row.id for code, row in participants.items()}
        await load_boundaries(session, dataset.boundaries, codes, documents)

    # A fusion's sides and an initiative's themes are replaced as a whole.
    await _delete_where_in(
        session, FusionMunicipality, FusionMunicipality.fusion_id, [f.id for f in fusion_rows]
    )
    for fusion, f_entry in zip(fusion_rows, dataset.fusions, strict=True):
        sides = ((FusionSide.DISSOLVED, f_entry.dissolved), (FusionSide.RESULTING, f_entry.resulting))
        session.add_all(
            FusionMunicipality(fusion_id=fusion.id, municipality_id=participants[code].id, side=side)
            for side, codes in sides
            for code in codes
        )
    await _delete_where_in(
        session, InitiativeTheme, InitiativeTheme.initiative_id, [i.id for i in initiative_rows]
    )
    figures_of: dict[int, dict[str, ReportedFigure]] = defaultdict(dict)
    for (initiative_id, label), figure_row in stored_figures.items():
        figures_of[initiative_id][label] = figure_row
    stale = []
    for initiative, i_entry in zip(initiative_rows, dataset.initiatives, strict=True):
        session.add_all(
            InitiativeTheme(
                initiative_id=initiative.id, position=position, theme=theme, theme_folded=fold(theme)
            )
            for position, theme in enumerate(i_entry.cross_over_themes)
        )
        labels = {f.label for f in i_entry.reported_figures}
        stale.extend(f.id for label, f in figures_of.get(initiative.id, {}).items() if label not in labels)
    await _delete_where_in(session, ReportedFigure, ReportedFigure.id, stale)

    involvements_total = sum(len(i.involvements) for i in dataset.initiatives)
    involvements_done = pending = 0
    for initiative, i_entry in zip(initiative_rows, dataset.initiatives, strict=True):
        for figure_entry in i_entry.reported_figures:
            figure = upsert(
                stored_figures,
                ReportedFigure,
                {"initiative_id": initiative.id, "label": figure_entry.label},
                value=figure_entry.value,
                unit=figure_entry.unit,
                label_en=figure_entry.label_en,
                unit_en=figure_entry.unit_en,
            )
            citations.want(
                "reported_figure_id", figure, documents, [figure_entry.source] if figure_entry.source else []
            )
        for inv_entry in i_entry.involvements:
            key: dict[str, Any] = {
                "initiative_id": initiative.id,
                "participant_id": participants[inv_entry.participant].id,
                "role": inv_entry.role,
            }
            involvement = upsert(
                stored_involvements,
                Involvement,
                key,
                description=inv_entry.description,
                description_en=inv_entry.description_en,
                basis=inv_entry.basis,
                basis_note=inv_entry.basis_note,
                basis_note_en=inv_entry.basis_note_en,
            )
            citations.want("involvement_id", involvement, documents, inv_entry.sources)
        for u_entry in i_entry.unresolved_mentions:
            key = {"initiative_id": initiative.id, "name": u_entry.name, "role": u_entry.role}
            mention = upsert(
                stored_mentions, UnresolvedMention, key, note=u_entry.note, note_en=u_entry.note_en
            )
            citations.want("unresolved_mention_id", mention, documents, u_entry.sources)
        involvements_done += len(i_entry.involvements)
        pending += (
            len(i_entry.involvements) + len(i_entry.reported_figures) + len(i_entry.unresolved_mentions)
        )
        if pending >= _FLUSH_EVERY:
            await session.flush()
            pending = 0
            report("involvements", involvements_done, involvements_total)
    await session.flush()
    report("involvements", involvements_total, involvements_total)

    new_citations = citations.apply(session)
    for start in range(0, len(new_citations), _FLUSH_EVERY):
        session.add_all(new_citations[start : start + _FLUSH_EVERY])
        await session.flush()
        report("citations", min(start + _FLUSH_EVERY, len(new_citations)), len(new_citations))
    session.add(DatasetLoad(content_hash=dataset.content_hash, loaded_at=datetime.now(UTC)))
    await session.flush()


async def database_is_empty(session: AsyncSession) -> bool:
    return await session.scalar(select(Participant.id).limit(1)) is None
