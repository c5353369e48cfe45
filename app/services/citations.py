"""Facts need sources, also when written: the citations a write must carry, checked before anything is kept.

A citation is a verbatim quote of a document: one the API holds (its quote is checked against the
document's text where the API has it, whitespace normalised as the dataset loader does), or a new document
given with its title, web address and date (its text is not held, so its quote cannot be checked).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Citation, SourceDocument
from app.services.text import fold_words, normalise_whitespace, storable

SOURCE_REQUIRED = "SOURCE_REQUIRED"
"""A fact without a citation."""
QUOTE_NOT_FOUND = "QUOTE_NOT_FOUND"
"""A quote that does not occur in the document's text."""

WEB_ADDRESS = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
MAX_CITATIONS = 100
MAX_QUOTE = 5000
MAX_TITLE = 500
MAX_URL = 1000
MAX_NAME = 300

Report = Callable[[Sequence[str], str, str], None]
"""Where a problem goes: (input path, message, code)."""


@dataclass(frozen=True)
class NewDocument:
    title: str
    url: str
    date: dt.date
    author: str | None = None
    issuer: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class CitationSpec:
    """One citation as a client gives it: a quote of an existing document (by slug) or of a new one."""

    path: tuple[str, ...]
    """Where it is in the input: ("input", "sources", "0")."""
    quote: str
    document_slug: str | None = None
    new_document: NewDocument | None = None


@dataclass(frozen=True)
class Checked:
    """A citation that passed: its document (held, or to be created) and its normalised quote."""

    quote: str
    document: SourceDocument | None
    new_document: NewDocument | None


_DUTCH = {"quote": "quote (het citaat)", "title": "titel", "author": "auteur", "issuer": "uitgever"}
"""What a check is about, in Dutch: messages for people are Dutch (issue 12)."""


def _text(report: Report, path: Sequence[str], value: str | None, what: str, maximum: int) -> bool:
    if value is None:
        return True
    if not value.strip():
        report(path, f"De {_DUTCH.get(what, what)} mag niet leeg zijn.", "INVALID")
    elif not storable(value):
        report(
            path,
            f"De {_DUTCH.get(what, what)} bevat een NUL-teken of een losse surrogaat; haal dat weg.",
            "INVALID",
        )
    elif len(value) > maximum:
        report(path, f"De {_DUTCH.get(what, what)} is langer dan {maximum} tekens.", "INVALID")
    else:
        return True
    return False


async def check(
    session: AsyncSession,
    report: Report,
    specs: Sequence[CitationSpec] | None,
    path: Sequence[str] = ("input", "sources"),
    *,
    required: bool = True,
) -> list[Checked]:
    """The citations, checked; every problem goes to ``report``. ``required``: at least one is needed."""
    if not specs:
        if required:
            report(
                path,
                "Noem minstens één bron voor dit feit in `sources`: de `documentId` van een document dat deze "
                "API heeft, met een letterlijk `quote` eruit, of een `newDocument` (title, url, date) met het citaat.",
                SOURCE_REQUIRED,
            )
        return []
    if len(specs) > MAX_CITATIONS:
        report(path, f"Geef hoogstens {MAX_CITATIONS} bronnen (gekregen: {len(specs)}).", "INVALID")
        return []
    slugs = {spec.document_slug for spec in specs if spec.document_slug is not None}
    wanted = [slug for slug in slugs if storable(slug)]
    documents = (
        {
            row.slug: row
            for row in (
                await session.scalars(select(SourceDocument).where(SourceDocument.slug.in_(wanted)))
            ).all()
        }
        if wanted
        else {}
    )
    texts: dict[str, str] = {}
    checked: list[Checked] = []
    for spec in specs:
        if (spec.document_slug is None) == (spec.new_document is None):
            report(spec.path, "Geef precies één van `documentId` en `newDocument`.", "INVALID")
            continue
        quote_ok = _text(report, (*spec.path, "quote"), spec.quote, "quote", MAX_QUOTE)
        quote = normalise_whitespace(spec.quote) if quote_ok else ""
        if spec.document_slug is not None:
            document = documents.get(spec.document_slug)
            if document is None:
                report((*spec.path, "documentId"), "Er is geen brondocument met deze id.", "NOT_FOUND")
                continue
            if quote_ok and document.text is not None:
                if document.slug not in texts:
                    texts[document.slug] = normalise_whitespace(document.text)
                if quote not in texts[document.slug]:
                    report(
                        (*spec.path, "quote"),
                        f"Het citaat staat niet in {document.title!r}: het moeten de eigen woorden van het "
                        "document zijn, letterlijk (witruimte telt als één spatie; OCR-fouten blijven staan).",
                        QUOTE_NOT_FOUND,
                    )
                    continue
            if quote_ok:
                checked.append(Checked(quote, document, None))
            continue
        new = spec.new_document
        assert new is not None
        new_path = (*spec.path, "newDocument")
        ok = _text(report, (*new_path, "title"), new.title, "title", MAX_TITLE)
        if not WEB_ADDRESS.fullmatch(new.url) or len(new.url) > MAX_URL or not storable(new.url):
            report(
                (*new_path, "url"),
                f"{new.url!r} is geen webadres dat begint met http:// of https:// "
                f"(hoogstens {MAX_URL} tekens).",
                "INVALID",
            )
            ok = False
        for name in ("author", "issuer"):
            ok = _text(report, (*new_path, name), getattr(new, name), name, MAX_NAME) and ok
        ok = _text(report, (*new_path, "description"), new.description, "description", MAX_QUOTE) and ok
        if ok and quote_ok:
            checked.append(Checked(quote, None, new))
    return checked


async def _document(
    session: AsyncSession, new: NewDocument, made: dict[NewDocument, SourceDocument]
) -> SourceDocument:
    """The row of a new document: one already held with the same address and date, or a new one."""
    if new in made:
        return made[new]
    found = await session.scalar(
        select(SourceDocument)
        .where(SourceDocument.url == new.url, SourceDocument.date == new.date)
        .order_by(SourceDocument.id)
        .limit(1)
    )
    if found is None:
        base = "-".join(fold_words(new.title))[:80].strip("-") or "document"
        base = f"{base}-{new.date.isoformat()}"
        taken = set(
            (
                await session.scalars(select(SourceDocument.slug).where(SourceDocument.slug.startswith(base)))
            ).all()
        )
        slug, number = base, 1
        while slug in taken:
            number += 1
            slug = f"{base}-{number}"
        found = SourceDocument(
            slug=slug,
            title=new.title.strip(),
            date=new.date,
            url=new.url,
            author=new.author.strip() if new.author else None,
            issuer=new.issuer.strip() if new.issuer else None,
            description=new.description.strip() if new.description else None,
        )
        session.add(found)
        await session.flush()
    made[new] = found
    return found


async def attach(session: AsyncSession, checked: Sequence[Checked], **subject: int) -> None:
    """Write the citations of one fact, ``subject`` naming it: ``initiative_id=5``."""
    made: dict[NewDocument, SourceDocument] = {}
    seen: set[tuple[int, str]] = set()
    for citation in checked:
        document = citation.document
        if document is None:
            assert citation.new_document is not None
            document = await _document(session, citation.new_document, made)
        if (document.id, citation.quote) in seen:
            continue  # the same quote twice says nothing more
        seen.add((document.id, citation.quote))
        session.add(Citation(document_id=document.id, quote=citation.quote, **subject))
    await session.flush()


async def replace(session: AsyncSession, checked: Sequence[Checked], **subject: int) -> None:
    """The fact's citations become ``checked``."""
    ((column, value),) = subject.items()
    await session.execute(delete(Citation).where(getattr(Citation, column) == value))
    await attach(session, checked, **subject)
