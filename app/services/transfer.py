"""Export and import of all data, with citations (the format is in ``docs/export-format.md``).

The export format is the bundled dataset's format (``app/data/FORMAT.md``) as data instead of YAML files: one
JSON object, or a directory of CSV files that holds the same values table by table. An import is validated
as a whole with the dataset's own models and cross-checks before anything is written; every problem is
reported with its place (a JSON path, or a CSV file and line), and a file with any problem writes nothing.
A valid file is written in one transaction by the dataset loader, merging by natural keys.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import enum
import hashlib
import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import migrate
from app.data.loader import (
    CITATIONS_OPTIONAL,
    Dataset,
    DatasetError,
    FusionEntry,
    InitiativeEntry,
    InlineDocumentEntry,
    MunicipalityEntry,
    OrganizationEntry,
    _cross_check,
    load_dataset,
)
from app.db import create_sessionmaker
from app.models import (
    Change,
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
    ReportedFigure,
    SourceDocument,
    UnresolvedMention,
)
from app.models.enums import Basis, FusionSide
from app.models.provenance import CITATION_SUBJECTS
from app.services.audit import last_sequence, lock_change_log
from app.services.nesting import MAX_JSON_DEPTH, nested_deeper_than
from app.services.text import normalise_whitespace

FORMAT = "veerkracht-export"
VERSION = 1
ACTOR = "import"

Json = dict[str, Any]
Location = tuple[str | int, ...]
"""A place in the JSON-shaped object: ``("initiatives", 3, "involvements", 0, "role")``."""

ENTRY_MODELS: dict[str, type[BaseModel]] = {
    "documents": InlineDocumentEntry,
    "municipalities": MunicipalityEntry,
    "fusions": FusionEntry,
    "organizations": OrganizationEntry,
    "initiatives": InitiativeEntry,
}
COLLECTIONS = tuple(ENTRY_MODELS)
# The entries others refer to, by this key: when such an entry is itself invalid, the references to it are
# not reported as well.
REFERENCED_BY = {"documents": "slug", "municipalities": "code", "organizations": "slug"}
_CONTEXT = {CITATIONS_OPTIONAL: True}


# --------------------------------------------------------------------------------------------------- export


def _compact(**values: Any) -> Json:
    """An entry as the format writes it: absent values (None) are left out; lists are always there."""
    return {key: value for key, value in values.items() if value is not None}


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


async def export_data(session: AsyncSession) -> Json:
    """Everything in the database, in the export format, in a fixed order.

    Top-level entries are ordered by natural key; lists inside an entry by the order they were written in
    (row id), except fusion sides (by code) and themes (by position). Keys are compared in Python, by code
    point, so that the order does not depend on the database's collation. Reads with a constant number of
    queries, whatever the size of the data.
    """
    documents = sorted(await session.scalars(select(SourceDocument)), key=lambda d: d.slug)
    document_slugs = {document.id: document.slug for document in documents}

    citations: dict[tuple[str, int], list[Json]] = defaultdict(list)
    subject_columns = [getattr(Citation, column) for column in CITATION_SUBJECTS]
    rows = await session.execute(
        select(Citation.document_id, Citation.quote, *subject_columns).order_by(Citation.id)
    )
    for document_id, quote, *subjects in rows:
        column, subject_id = next(
            (c, s) for c, s in zip(CITATION_SUBJECTS, subjects, strict=True) if s is not None
        )
        citations[column, subject_id].append({"document": document_slugs[document_id], "quote": quote})

    def cited(column: str, subject_id: int) -> list[Json]:
        return list(citations.get((column, subject_id), []))

    municipalities = sorted(await session.scalars(select(Municipality)), key=lambda m: m.code)
    organizations = sorted(await session.scalars(select(Organization)), key=lambda o: o.slug)
    keys = {m.id: m.code for m in municipalities} | {o.id: o.slug for o in organizations}

    members: dict[int, list[str]] = defaultdict(list)
    members_sources: dict[int, list[Json]] = defaultdict(list)
    memberships = await session.execute(
        select(Membership.id, Membership.organization_id, Membership.member_id).order_by(Membership.id)
    )
    for membership_id, organization_id, member_id in memberships:
        members[organization_id].append(keys[member_id])
        # The format cites an organisation's members together: the citations of all its memberships.
        for citation in cited("membership_id", membership_id):
            if citation not in members_sources[organization_id]:
                members_sources[organization_id].append(citation)

    fusions = sorted(await session.scalars(select(Fusion)), key=lambda f: (f.effective_on, f.name))
    sides: dict[tuple[int, FusionSide], list[str]] = defaultdict(list)
    side_rows = await session.execute(
        select(FusionMunicipality.fusion_id, FusionMunicipality.side, Municipality.code).join(
            Municipality, Municipality.id == FusionMunicipality.municipality_id
        )
    )
    for fusion_id, side, code in side_rows:
        sides[fusion_id, side].append(code)
    for codes in sides.values():
        codes.sort()

    initiatives = sorted(await session.scalars(select(Initiative)), key=lambda i: i.slug)
    themes: dict[int, list[str]] = defaultdict(list)
    theme_rows = await session.execute(
        select(InitiativeTheme.initiative_id, InitiativeTheme.theme).order_by(
            InitiativeTheme.initiative_id, InitiativeTheme.position
        )
    )
    for initiative_id, theme in theme_rows:
        themes[initiative_id].append(theme)
    figures: dict[int, list[Json]] = defaultdict(list)
    for figure in await session.scalars(select(ReportedFigure).order_by(ReportedFigure.id)):
        source = cited("reported_figure_id", figure.id)
        figures[figure.initiative_id].append(
            _compact(
                label=figure.label,
                label_en=figure.label_en,
                value=figure.value,
                unit=figure.unit,
                unit_en=figure.unit_en,
                source=source[0] if source else None,
            )
        )
    involvements: dict[int, list[Json]] = defaultdict(list)
    for involvement in await session.scalars(select(Involvement).order_by(Involvement.id)):
        involvements[involvement.initiative_id].append(
            _compact(
                participant=keys[involvement.participant_id],
                role=involvement.role.value,
                description=involvement.description,
                description_en=involvement.description_en,
                **_basis(involvement),
                sources=cited("involvement_id", involvement.id),
            )
        )
    mentions: dict[int, list[Json]] = defaultdict(list)
    for mention in await session.scalars(select(UnresolvedMention).order_by(UnresolvedMention.id)):
        mentions[mention.initiative_id].append(
            _compact(
                name=mention.name,
                role=mention.role.value,
                note=mention.note,
                note_en=mention.note_en,
                sources=cited("unresolved_mention_id", mention.id),
            )
        )

    return {
        "format": FORMAT,
        "version": VERSION,
        "documents": [
            _compact(
                slug=d.slug,
                title=d.title,
                date=_iso(d.date),
                author=d.author,
                issuer=d.issuer,
                url=d.url,
                description=d.description,
                description_en=d.description_en,
                text=d.text,
            )
            for d in documents
        ],
        "municipalities": [
            _compact(
                code=m.code,
                name=m.name,
                founded_on=_iso(m.founded_on),
                dissolved_on=_iso(m.dissolved_on),
                **_basis(m),
                sources=cited("participant_id", m.id),
            )
            for m in municipalities
        ],
        "fusions": [
            _compact(
                name=f.name,
                kind=f.kind.value,
                effective_on=_iso(f.effective_on),
                dissolved=sides[f.id, FusionSide.DISSOLVED],
                resulting=sides[f.id, FusionSide.RESULTING],
                sources=cited("fusion_id", f.id),
            )
            for f in fusions
        ],
        "organizations": [
            _compact(
                slug=o.slug,
                name=o.name,
                kind=o.kind.value,
                website=o.website,
                description=o.description,
                description_en=o.description_en,
                **_basis(o),
                members=members[o.id],
                members_as_of=_iso(o.members_as_of),
                members_sources=members_sources[o.id],
                sources=cited("participant_id", o.id),
            )
            for o in organizations
        ],
        "initiatives": [
            _compact(
                slug=i.slug,
                name=i.name,
                kind=i.kind.value,
                status=i.status.value,
                summary=i.summary,
                summary_en=i.summary_en,
                **_basis(i),
                cross_over_themes=themes[i.id],
                sources=cited("initiative_id", i.id),
                reported_figures=figures[i.id],
                involvements=involvements[i.id],
                unresolved_mentions=mentions[i.id],
            )
            for i in initiatives
        ],
    }


def _basis(row: Initiative | Involvement | Organization | Municipality) -> Json:
    """An interpretation's basis and note (nothing for a quoted fact: QUOTED is the default)."""
    if row.basis is Basis.QUOTED:
        return {}
    return _compact(basis=row.basis.value, basis_note=row.basis_note, basis_note_en=row.basis_note_en)


async def export_database(engine: AsyncEngine) -> Json:
    """:func:`export_data` from one consistent snapshot of the database."""
    async with create_sessionmaker(engine)() as session:
        if engine.dialect.name == "postgresql":
            await session.connection(
                execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            )
        else:
            await session.execute(text("BEGIN"))  # SQLite: one read transaction for every query
        try:
            return await export_data(session)
        finally:
            await session.rollback()


def json_text(data: Json) -> str:
    """The JSON form: UTF-8 text, indented, keys in the format's order, ending in a newline."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write_json(data: Json, path: Path) -> None:
    path.write_text(json_text(data), encoding="utf-8")


# --------------------------------------------------------------------------------------------- CSV shape

CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "documents.csv": (
        "slug",
        "title",
        "date",
        "author",
        "issuer",
        "url",
        "description",
        "description_en",
        "text",
    ),
    "municipalities.csv": (
        "code",
        "name",
        "founded_on",
        "dissolved_on",
        "basis",
        "basis_note",
        "basis_note_en",
    ),
    "fusions.csv": ("name", "effective_on", "kind"),
    "fusion_municipalities.csv": ("fusion", "fusion_effective_on", "side", "code"),
    "organizations.csv": (
        "slug",
        "name",
        "kind",
        "website",
        "description",
        "description_en",
        "basis",
        "basis_note",
        "basis_note_en",
        "members_as_of",
    ),
    "memberships.csv": ("organization", "member"),
    "initiatives.csv": (
        "slug",
        "name",
        "kind",
        "status",
        "summary",
        "summary_en",
        "basis",
        "basis_note",
        "basis_note_en",
    ),
    "initiative_themes.csv": ("initiative", "theme"),
    "reported_figures.csv": ("initiative", "label", "label_en", "value", "unit", "unit_en"),
    "involvements.csv": (
        "initiative",
        "participant",
        "role",
        "description",
        "description_en",
        "basis",
        "basis_note",
        "basis_note_en",
    ),
    "unresolved_mentions.csv": ("initiative", "name", "role", "note", "note_en"),
    "citations.csv": ("subject_type", "subject_key_1", "subject_key_2", "subject_key_3", "document", "quote"),
}
# What a citation row can be about: subject_type -> (the file that holds the subject, its key columns there).
CITATION_SUBJECT_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "municipality": ("municipalities.csv", ("code",)),
    "fusion": ("fusions.csv", ("name", "effective_on")),
    "organization": ("organizations.csv", ("slug",)),
    "organization_members": ("organizations.csv", ("slug",)),
    "initiative": ("initiatives.csv", ("slug",)),
    "reported_figure": ("reported_figures.csv", ("initiative", "label")),
    "involvement": ("involvements.csv", ("initiative", "participant", "role")),
    "unresolved_mention": ("unresolved_mentions.csv", ("initiative", "name", "role")),
}
_KEY_COLUMNS = ("subject_key_1", "subject_key_2", "subject_key_3")
KEYED_FILES = {"documents.csv", "municipalities.csv", "organizations.csv"}
"""The files of the entries others refer to (by their first column)."""


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def csv_tables(data: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """The rows (without header) of every CSV file for a JSON-shaped object; rows keep the lists' order."""
    tables: dict[str, list[list[str]]] = {name: [] for name in CSV_COLUMNS}

    def row(file_name: str, *values: Any) -> None:
        tables[file_name].append([_cell(value) for value in values])

    def cite(subject_type: str, key: Sequence[Any], citations: Iterable[Mapping[str, Any]]) -> None:
        padded = [*key, *[None] * (len(_KEY_COLUMNS) - len(key))]
        for citation in citations:
            row("citations.csv", subject_type, *padded, citation.get("document"), citation.get("quote"))

    for d in data.get("documents", []):
        row(
            "documents.csv",
            *(d.get(column) for column in CSV_COLUMNS["documents.csv"]),
        )
    for m in data.get("municipalities", []):
        row("municipalities.csv", *(m.get(column) for column in CSV_COLUMNS["municipalities.csv"]))
        cite("municipality", [m.get("code")], m.get("sources", []))
    for f in data.get("fusions", []):
        key = [f.get("name"), f.get("effective_on")]
        row("fusions.csv", *key, f.get("kind"))
        for side in ("dissolved", "resulting"):
            for code in f.get(side, []):
                row("fusion_municipalities.csv", *key, side, code)
        cite("fusion", key, f.get("sources", []))
    for o in data.get("organizations", []):
        slug = o.get("slug")
        row("organizations.csv", *(o.get(column) for column in CSV_COLUMNS["organizations.csv"]))
        for member in o.get("members", []):
            row("memberships.csv", slug, member)
        cite("organization", [slug], o.get("sources", []))
        cite("organization_members", [slug], o.get("members_sources", []))
    for i in data.get("initiatives", []):
        slug = i.get("slug")
        row("initiatives.csv", *(i.get(column) for column in CSV_COLUMNS["initiatives.csv"]))
        for theme in i.get("cross_over_themes", []):
            row("initiative_themes.csv", slug, theme)
        cite("initiative", [slug], i.get("sources", []))
        for figure in i.get("reported_figures", []):
            row(
                "reported_figures.csv",
                slug,
                *(figure.get(c) for c in CSV_COLUMNS["reported_figures.csv"][1:]),
            )
            source = figure.get("source")
            cite("reported_figure", [slug, figure.get("label")], [source] if source else [])
        for inv in i.get("involvements", []):
            key = [slug, inv.get("participant"), inv.get("role")]
            row("involvements.csv", *key, *(inv.get(c) for c in CSV_COLUMNS["involvements.csv"][3:]))
            cite("involvement", key, inv.get("sources", []))
        for mention in i.get("unresolved_mentions", []):
            key = [slug, mention.get("name"), mention.get("role")]
            row(
                "unresolved_mentions.csv",
                *key,
                *(mention.get(c) for c in CSV_COLUMNS["unresolved_mentions.csv"][3:]),
            )
            cite("unresolved_mention", key, mention.get("sources", []))
    return tables


_FORMULA = re.compile(r"'*[=+\-@\t\r]")
"""A cell a spreadsheet could take for a formula (OWASP, CSV injection), after any quotes already added."""


def neutralised(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text: with a ``'`` in front when it begins with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return (or with quotes followed by one of those, so that reading
    takes exactly one off again: :func:`restored`)."""
    return "'" + cell if _FORMULA.match(cell) else cell


def restored(cell: str) -> str:
    """The value :func:`neutralised` was given: lossless for every string."""
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell, 1) else cell


class CsvDialect(enum.StrEnum):
    """How the CSV files are written; ``import`` reads both."""

    PLAIN = "plain"
    """Comma separated, UTF-8 without a byte order mark, LF line ends (RFC 4180 apart from the line ends)."""
    EXCEL_NL = "excel-nl"
    """What Excel with Dutch regional settings opens by a double click: semicolon separated (the comma is
    the Dutch decimal separator, so Excel there splits on ';'), UTF-8 *with* a byte order mark (without it
    Excel reads the file as Windows-1252 and "Stérk" comes out as "StÃ©rk"), CRLF line ends."""


_DIALECTS: dict[CsvDialect, tuple[str, str, str]] = {
    # dialect: (delimiter, line end, encoding)
    CsvDialect.PLAIN: (",", "\n", "utf-8"),
    CsvDialect.EXCEL_NL: (";", "\r\n", "utf-8-sig"),
}


def csv_files(data: Mapping[str, Any], dialect: CsvDialect = CsvDialect.PLAIN) -> dict[str, bytes]:
    """The CSV form as file name -> content (what the directory and the zip archive hold)."""
    delimiter, line_end, encoding = _DIALECTS[dialect]
    files: dict[str, bytes] = {}
    for file_name, rows in csv_tables(data).items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
        writer.writerow(CSV_COLUMNS[file_name])
        writer.writerows([neutralised(cell) for cell in row] for row in rows)
        files[file_name] = buffer.getvalue().encode(encoding)
    return files


def write_csv_directory(
    data: Mapping[str, Any], directory: Path, dialect: CsvDialect = CsvDialect.PLAIN
) -> None:
    """Write the CSV form: one file per table in ``directory`` (created if needed), in ``dialect``."""
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, content in csv_files(data, dialect).items():
        (directory / file_name).write_bytes(content)


def csv_zip(data: Mapping[str, Any], dialect: CsvDialect = CsvDialect.PLAIN) -> bytes:
    """The CSV form as one zip archive (deflated), the files at its top level."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file_name, content in csv_files(data, dialect).items():
            archive.writestr(file_name, content)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- validation


def json_path(location: Location) -> str:
    """``("initiatives", 3, "involvements", 0, "role")`` → ``initiatives[3].involvements[0].role``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _error_text(detail: Mapping[str, Any]) -> str:
    message = str(detail["msg"])
    value = detail.get("input")
    if detail["type"] != "missing" and isinstance(value, str | int | float | bool):
        shown = repr(value)
        message += f" (got {shown if len(shown) <= 80 else shown[:77] + '...'})"
    return message


def _pruned(
    model: type[BaseModel], item: Any, error: ValidationError
) -> tuple[BaseModel, dict[Location, list[int]]] | None:
    """The entry without the list elements its errors are in, validated; None when the entry itself is bad.

    An involvement with an unknown role, say, is left out, so that the rest of its initiative is still
    checked against everything else. Also returns, per pruned list, the original indexes of what is left.
    """
    targets: set[Location] = set()
    for detail in error.errors():
        location = tuple(detail["loc"])
        indexes = [n for n, part in enumerate(location) if isinstance(part, int)]
        if not indexes:
            return None
        targets.add(location[: indexes[-1] + 1])
    targets = {t for t in targets if not any(t[:n] in targets for n in range(1, len(t)))}
    removed: dict[Location, set[int]] = defaultdict(set)
    for target in targets:
        parent, index = target[:-1], target[-1]
        if isinstance(index, int):  # always: a target ends at a list index
            removed[parent].add(index)
    pruned = copy.deepcopy(item)
    survivors: dict[Location, list[int]] = {}
    try:
        # Deepest lists first: removing from them leaves the indexes of the lists above unchanged.
        for parent in sorted(removed, key=len, reverse=True):
            container = pruned
            for part in parent:
                container = container[part]
            if not isinstance(container, list):
                return None
            survivors[parent] = [n for n in range(len(container)) if n not in removed[parent]]
            container[:] = [container[n] for n in survivors[parent]]
        return model.model_validate(pruned, context=_CONTEXT), survivors
    except (ValidationError, LookupError, TypeError):
        return None


def _register(
    paths: dict[int, Location], value: Any, location: Location, survivors: Mapping[Location, list[int]]
) -> None:
    """Remember the original place of every model inside a validated entry (for :func:`_cross_check`)."""
    if isinstance(value, BaseModel):
        paths[id(value)] = location
        for name in type(value).model_fields:
            _register(paths, getattr(value, name), (*location, name), survivors)
    elif isinstance(value, list):
        original = survivors.get(location[2:])  # survivors are relative to the entry
        for index, item in enumerate(value):
            _register(paths, item, (*location, index if original is None else original[index]), survivors)


def content_hash(raw: Any) -> str:
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{FORMAT}\0{canonical}".encode()).hexdigest()


def validate_data(
    raw: Any, describe: Callable[[Location], str] = json_path, unusable_keys: Iterable[str] = ()
) -> Dataset:
    """Validate a JSON-shaped object as a whole; raise :class:`DatasetError` listing every problem.

    ``describe`` names a place in the object (a JSON path by default; a CSV file and line for the CSV form).
    Entries are validated one by one with the dataset's models (citations may be missing), then checked
    against each other with the dataset's cross-checks. ``unusable_keys`` are keys of entries that could not
    be read at all: references to them are not reported as unknown.
    """
    if not isinstance(raw, dict):
        raise DatasetError(
            [f"{describe(())}: must be an object with the keys format, version, {', '.join(COLLECTIONS)}"]
        )
    if raw.get("format") != FORMAT:
        raise DatasetError([f"{describe(('format',))}: must be {FORMAT!r} (got {raw.get('format')!r})"])
    if raw.get("version") != VERSION:
        raise DatasetError(
            [
                f"{describe(('version',))}: {raw.get('version')!r} is not supported (this program reads {VERSION})"
            ]
        )
    problems = [
        f"{describe((key,))}: unknown key (the keys are format, version, {', '.join(COLLECTIONS)})"
        for key in raw
        if key not in {"format", "version", *COLLECTIONS}
    ]
    entries: dict[str, list[Any]] = {name: [] for name in COLLECTIONS}
    paths: dict[int, Location] = {}
    unusable = {repr(key) for key in unusable_keys}
    for name, model in ENTRY_MODELS.items():
        items = raw.get(name, [])
        if not isinstance(items, list):
            problems.append(f"{describe((name,))}: must be a list")
            continue
        for index, item in enumerate(items):
            location = (name, index)
            survivors: dict[Location, list[int]] = {}
            try:
                entry = model.model_validate(item, context=_CONTEXT)
            except ValidationError as exc:
                problems.extend(
                    f"{describe((*location, *detail['loc']))}: {_error_text(detail)}"
                    for detail in exc.errors()
                )
                result = _pruned(model, item, exc)
                if result is None:
                    key = item.get(REFERENCED_BY.get(name, "")) if isinstance(item, dict) else None
                    if isinstance(key, str):
                        unusable.add(repr(key))
                    continue
                entry, survivors = result
            entries[name].append(entry)
            _register(paths, entry, location, survivors)

    documents: list[InlineDocumentEntry] = entries["documents"]
    dataset = Dataset(
        documents=documents,
        document_texts={d.slug: normalise_whitespace(d.text) for d in documents if d.text is not None},
        raw_texts={d.slug: d.text for d in documents if d.text is not None},
        municipalities=entries["municipalities"],
        fusions=entries["fusions"],
        organizations=entries["organizations"],
        initiatives=entries["initiatives"],
        content_hash=content_hash(raw),
    )

    def locate(subject: object, default: str) -> str:
        if isinstance(subject, str):
            return describe((subject,))
        location = paths.get(id(subject))
        return default if location is None else describe(location)

    for problem in _cross_check(dataset, require_sources=False, locate=locate):
        # A reference to an entry that is itself invalid follows from a problem already reported.
        if not any(key in problem for key in unusable):
            problems.append(problem)
    if problems:
        raise DatasetError(problems)
    dataset.counts = {
        "documents": len(dataset.documents),
        "municipalities": len(dataset.municipalities),
        "fusions": len(dataset.fusions),
        "organizations": len(dataset.organizations),
        "initiatives": len(dataset.initiatives),
        "involvements": sum(len(i.involvements) for i in dataset.initiatives),
    }
    return dataset


def read_json(path: Path) -> Dataset:
    """Read and validate the JSON form; raise :class:`DatasetError` listing every problem."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise DatasetError([f"{path}: cannot be read: {exc.strerror}"]) from None
    try:
        raw = json.loads(content.decode("utf-8-sig"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as exc:
        raise DatasetError([f"{path}: is not UTF-8 text (byte {exc.start})"]) from None
    except json.JSONDecodeError as exc:
        raise DatasetError(
            [f"{path}: is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from None
    except ValueError as exc:
        raise DatasetError([f"{path}: is not valid JSON: {exc}"]) from None
    except RecursionError:
        raise DatasetError([_too_deep(path)]) from None
    if nested_deeper_than(raw):
        raise DatasetError([_too_deep(path)])
    return validate_data(raw)


def _too_deep(path: Path) -> str:
    return (
        f"{path}: is nested more than {MAX_JSON_DEPTH} levels deep (arrays or objects inside each other); "
        "an export is nested a few levels at most: is this a file that `veerkracht export` wrote?"
    )


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> Json:
    result: Json = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


# ---------------------------------------------------------------------------------------------- CSV reading


class _CsvBuilder:
    """Builds the JSON-shaped object from the CSV files, remembering the file and line of every value."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[str] = []
        self.unusable_files: list[str] = []
        """Files that cannot be used at all (missing, not UTF-8 or CSV, a wrong header)."""
        self.unusable_keys: list[str] = []
        """Keys of entries whose row could not be read."""
        self.raw: Json = {"format": FORMAT, "version": VERSION, **{name: [] for name in COLLECTIONS}}
        self.origins: dict[Location, str] = {(name,): f"{name}.csv" for name in COLLECTIONS}
        # File -> natural key (as written) -> place of its entry in the object. The first of duplicates
        # wins; the duplicate itself is reported by the cross-checks.
        self.keys: dict[str, dict[tuple[str, ...], Location]] = defaultdict(dict)

    def describe(self, location: Location) -> str:
        """The file and line a place in the object comes from, and the column or field inside it."""
        for length in range(len(location), 0, -1):
            origin = self.origins.get(location[:length])
            if origin is not None:
                rest = ".".join(str(part) for part in location[length:])
                return f"{origin}: {rest}" if rest else origin
        return json_path(location)

    def unusable(self, file_name: str, problem: str) -> None:
        self.unusable_files.append(file_name)
        self.problems.append(problem)

    def read(self, file_name: str) -> list[tuple[int, dict[str, str]]]:
        """The rows of one file, each with the line it starts on."""
        columns = CSV_COLUMNS[file_name]
        try:
            content = (self.directory / file_name).read_bytes()
        except OSError as exc:
            self.unusable(file_name, f"{file_name}: cannot be read: {exc.strerror}")
            return []
        try:
            decoded = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.unusable(file_name, f"{file_name}: is not UTF-8 text (byte {exc.start})")
            return []
        csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # document texts can be long
        # The excel-nl dialect separates by ';'. No column name holds ',' or ';', so the header says which.
        first_line = decoded.split("\n", 1)[0]
        delimiter = ";" if ";" in first_line and "," not in first_line else ","
        reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter)
        rows: list[tuple[int, dict[str, str]]] = []
        try:
            header = next(reader, None)
            if header is None or sorted(header) != sorted(columns):
                found = ",".join(header or []) or "nothing"
                self.unusable(
                    file_name,
                    f"{file_name} line 1: the header must name the columns {','.join(columns)} "
                    f"(in any order; found {found})",
                )
                return []
            start = reader.line_num + 1
            for record in reader:
                line, start = start, reader.line_num + 1
                if not record:
                    continue  # a blank line
                if len(record) != len(header):
                    self.problems.append(
                        f"{file_name} line {line}: has {len(record)} fields, the header has {len(header)}"
                    )
                    if file_name in KEYED_FILES:
                        self.unusable_keys.append(dict(zip(header, record, strict=False)).get(columns[0], ""))
                    continue
                rows.append((line, {name: restored(cell) for name, cell in zip(header, record, strict=True)}))
        except csv.Error as exc:
            self.unusable(file_name, f"{file_name} line {reader.line_num}: is not valid CSV: {exc}")
            return []
        return rows

    @staticmethod
    def values(row: Mapping[str, str], *columns: str) -> Json:
        """The row's values in ``columns``; an empty cell is an absent value."""
        return {column: row[column] for column in columns if row[column] != ""}

    def node(self, location: Location) -> Any:
        value: Any = self.raw
        for part in location:
            value = value[part]
        return value

    def add_entry(self, file_name: str, line: int, key: tuple[str, ...], entry: Json) -> None:
        collection = file_name.removesuffix(".csv")
        items: list[Json] = self.raw[collection]
        location: Location = (collection, len(items))
        items.append(entry)
        self.origins[location] = f"{file_name} line {line}"
        self.keys[file_name].setdefault(key, location)

    def add_child(
        self,
        file_name: str,
        line: int,
        parent: tuple[str, tuple[str, ...]],
        field: str,
        value: Any,
        key: tuple[str, ...] | None = None,
        column: str | None = None,
    ) -> None:
        """Append ``value`` to list ``field`` of the entry with key ``parent[1]`` in file ``parent[0]``.

        ``key`` is the natural key citations name the new element by; ``column`` the column a plain value
        (not an object) comes from.
        """
        parent_file, parent_key = parent
        parent_location = self.keys[parent_file].get(parent_key)
        if parent_location is None:
            what = ", ".join(repr(part) for part in parent_key)
            self.problems.append(f"{file_name} line {line}: {what} is not in {parent_file}")
            return
        items: list[Any] = self.node(parent_location)[field]
        location: Location = (*parent_location, field, len(items))
        items.append(value)
        self.origins[location] = f"{file_name} line {line}" + (f": {column}" if column else "")
        if key is not None:
            self.keys[file_name].setdefault(key, location)

    def build(self) -> Json:
        rows = {name: self.read(name) for name in CSV_COLUMNS}
        for line, row in rows["documents.csv"]:
            entry = self.values(row, *CSV_COLUMNS["documents.csv"])
            self.add_entry("documents.csv", line, (row["slug"],), entry)
        for line, row in rows["municipalities.csv"]:
            entry = self.values(row, *CSV_COLUMNS["municipalities.csv"]) | {"sources": []}
            self.add_entry("municipalities.csv", line, (row["code"],), entry)
        for line, row in rows["fusions.csv"]:
            entry = self.values(row, "name", "kind", "effective_on")
            entry |= {"dissolved": [], "resulting": [], "sources": []}
            self.add_entry("fusions.csv", line, (row["name"], row["effective_on"]), entry)
        for line, row in rows["fusion_municipalities.csv"]:
            side = row["side"]
            if side not in ("dissolved", "resulting"):
                self.problems.append(
                    f"fusion_municipalities.csv line {line}: side must be dissolved or resulting (got {side!r})"
                )
                continue
            fusion = ("fusions.csv", (row["fusion"], row["fusion_effective_on"]))
            code = row["code"]
            self.add_child("fusion_municipalities.csv", line, fusion, side, code, column="code")
        for line, row in rows["organizations.csv"]:
            entry = self.values(row, *CSV_COLUMNS["organizations.csv"])
            entry |= {"members": [], "members_sources": [], "sources": []}
            self.add_entry("organizations.csv", line, (row["slug"],), entry)
        for line, row in rows["memberships.csv"]:
            organization = ("organizations.csv", (row["organization"],))
            member = row["member"]
            self.add_child("memberships.csv", line, organization, "members", member, column="member")
        for line, row in rows["initiatives.csv"]:
            entry = self.values(row, *CSV_COLUMNS["initiatives.csv"])
            entry |= {
                "cross_over_themes": [],
                "sources": [],
                "reported_figures": [],
                "involvements": [],
                "unresolved_mentions": [],
            }
            self.add_entry("initiatives.csv", line, (row["slug"],), entry)
        for line, row in rows["initiative_themes.csv"]:
            initiative = ("initiatives.csv", (row["initiative"],))
            self.add_child(
                "initiative_themes.csv",
                line,
                initiative,
                "cross_over_themes",
                row["theme"],
                column="theme",
            )
        for line, row in rows["reported_figures.csv"]:
            initiative = ("initiatives.csv", (row["initiative"],))
            figure = self.values(row, *CSV_COLUMNS["reported_figures.csv"][1:])
            key: tuple[str, ...] = (row["initiative"], row["label"])
            self.add_child("reported_figures.csv", line, initiative, "reported_figures", figure, key)
        for line, row in rows["involvements.csv"]:
            initiative = ("initiatives.csv", (row["initiative"],))
            involvement = self.values(row, *CSV_COLUMNS["involvements.csv"][1:]) | {"sources": []}
            key = (row["initiative"], row["participant"], row["role"])
            self.add_child("involvements.csv", line, initiative, "involvements", involvement, key)
        for line, row in rows["unresolved_mentions.csv"]:
            initiative = ("initiatives.csv", (row["initiative"],))
            mention = self.values(row, *CSV_COLUMNS["unresolved_mentions.csv"][1:]) | {"sources": []}
            key = (row["initiative"], row["name"], row["role"])
            self.add_child("unresolved_mentions.csv", line, initiative, "unresolved_mentions", mention, key)
        for line, row in rows["citations.csv"]:
            self.add_citation(line, row)
        return self.raw

    def add_citation(self, line: int, row: Mapping[str, str]) -> None:
        where = f"citations.csv line {line}"
        subject_type = row["subject_type"]
        if subject_type not in CITATION_SUBJECT_TYPES:
            self.problems.append(
                f"{where}: subject_type must be one of {', '.join(CITATION_SUBJECT_TYPES)} "
                f"(got {subject_type!r})"
            )
            return
        file_name, key_columns = CITATION_SUBJECT_TYPES[subject_type]
        key = tuple(row[column] for column in _KEY_COLUMNS[: len(key_columns)])
        extra = [column for column in _KEY_COLUMNS[len(key_columns) :] if row[column]]
        if extra:
            self.problems.append(
                f"{where}: a {subject_type} is named by {len(key_columns)} key column(s) "
                f"({', '.join(key_columns)}); {', '.join(extra)} must be empty"
            )
            return
        subject = self.keys[file_name].get(key)
        if subject is None:
            what = ", ".join(f"{column} {value!r}" for column, value in zip(key_columns, key, strict=True))
            self.problems.append(
                f"{where}: there is no {subject_type.replace('_', ' ')} with {what} in {file_name}"
            )
            return
        citation = self.values(row, "document", "quote")
        entry: Json = self.node(subject)
        if subject_type == "reported_figure":
            if "source" in entry:
                self.problems.append(
                    f"{where}: a reported figure has one source, and this one has one already"
                )
                return
            entry["source"] = citation
            self.origins[(*subject, "source")] = where
            return
        field = "members_sources" if subject_type == "organization_members" else "sources"
        items: list[Json] = entry[field]
        self.origins[(*subject, field, len(items))] = where
        items.append(citation)


def read_csv_directory(directory: Path) -> Dataset:
    """Read and validate the CSV form; raise :class:`DatasetError` naming file and line of every problem."""
    builder = _CsvBuilder(directory)
    raw = builder.build()
    if builder.unusable_files:
        # Every reference to an entry of such a file would be reported too: stop at the file problems.
        raise DatasetError(builder.problems)
    try:
        dataset = validate_data(raw, builder.describe, builder.unusable_keys)
    except DatasetError as error:
        raise DatasetError([*builder.problems, *error.problems]) from None
    if builder.problems:
        raise DatasetError(builder.problems)
    return dataset


def read_file(path: Path) -> Dataset:
    """A directory is read as the CSV form, a file as the JSON form."""
    return read_csv_directory(path) if path.is_dir() else read_json(path)


# ------------------------------------------------------------------------------------------------ import


Progress = Callable[[str, int, int], None]
"""Told as an import goes on: ``(what, done, total)``, e.g. ``("involvements", 4000, 20118)``."""


class DatabaseNotReady(Exception):
    """The database named is not one to export from or import into; the message says why and what to do."""


def database_label(url: str) -> str:
    """The database a URL names, for people: a SQLite file's absolute path, else the URL without password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return f"SQLite {database or ':memory:'}"
        return f"SQLite file {Path(database).resolve()}"
    return parsed.render_as_string(hide_password=True)


def require_existing(url: str) -> None:
    """Refuse a SQLite file that does not exist, before anything connects (connecting would create it)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
    ):
        path = Path(database).resolve()
        if not path.is_file():
            raise DatabaseNotReady(
                f"there is no database at {path} (no such file). Name the database with --database-url or "
                "VEERKRACHT_DATABASE_URL; to start a new one, create it with `veerkracht db upgrade` first"
            )


async def require_migrated(engine: AsyncEngine, *, upgrade_older: bool) -> None:
    """Refuse an empty database (no tables); one at an older revision is migrated, or refused."""
    async with engine.connect() as connection:
        revision = await migrate.current_revision(connection)
    label = database_label(engine.url.render_as_string(hide_password=False))
    if revision is None:
        raise DatabaseNotReady(
            f"{label} is empty (no tables): it is not a Veerkracht database. If it is the right one, "
            "create the tables with `veerkracht db upgrade` first"
        )
    if revision != migrate.head_revision():
        if not upgrade_older:
            raise DatabaseNotReady(f"{label} is at revision {revision}: run `veerkracht db upgrade` first")
        async with migrate.bootstrap_lock(engine):
            await migrate.upgrade(engine)


async def import_dataset(
    engine: AsyncEngine, dataset: Dataset, *, dry_run: bool = False, progress: Progress | None = None
) -> dict[str, dict[str, int]]:
    """Write a validated file in one transaction, merging by natural keys (nothing absent is deleted).

    Returns what the import changed (or, with ``dry_run``, would change): per type of object, how many were
    created, updated and deleted, counted from the change log entries the write made. A dry run does all
    of the writing, so that the database's own checks run too, and then rolls it back.
    """
    async with create_sessionmaker(engine)() as session:
        transaction = await session.begin()
        try:
            session.info["actor"] = ACTOR
            await lock_change_log(session)
            first = await last_sequence(session)
            # Importing the same content again applies it again (it may undo later edits): forget the
            # earlier load.
            await session.execute(delete(DatasetLoad).where(DatasetLoad.content_hash == dataset.content_hash))
            await load_dataset(session, dataset, progress)
            rows = await session.execute(
                select(Change.entity_type, Change.operation, func.count())
                .where(Change.sequence > first)
                .group_by(Change.entity_type, Change.operation)
            )
            changed: dict[str, dict[str, int]] = defaultdict(dict)
            for entity_type, operation, count in rows:
                changed[entity_type][operation.value.lower()] = int(count)
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
    return dict(changed)


def describe_changes(changed: Mapping[str, Mapping[str, int]]) -> str:
    """``{"Initiative": {"created": 2, "updated": 1}}`` -> ``"Initiative: 2 created, 1 updated"``."""
    if not changed:
        return "nothing"
    return "; ".join(
        f"{entity}: " + ", ".join(f"{count} {operation}" for operation, count in sorted(operations.items()))
        for entity, operations in sorted(changed.items())
    )


async def import_file(engine: AsyncEngine, path: Path, *, dry_run: bool = False) -> dict[str, int]:
    """Validate the file (JSON) or directory (CSV) at ``path`` and write it; return what it held.

    Raises :class:`DatasetError` listing every problem when the file is invalid; then nothing is written.
    """
    dataset = await asyncio.to_thread(read_file, path)
    await import_dataset(engine, dataset, dry_run=dry_run)
    return dataset.counts
