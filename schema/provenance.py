"""Source documents and citations: where every fact comes from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Self

import strawberry
from strawberry import relay

from app.models import Citation as CitationRow
from app.models import SourceDocument as SourceDocumentRow
from app.models.enums import Language
from schema.context import Info
from schema.language import LanguageArg, in_language_or_none
from schema.nodes import load_nodes


@strawberry.type(description="A document the facts come from: the 2019 memo, or a reference listing.")
class SourceDocument(relay.Node):
    slug: strawberry.Private[str]
    title: str = strawberry.field(description="Title of the document.")
    date: dt.date = strawberry.field(description="Date of the document (or of the version that was used).")
    author: str | None = strawberry.field(description="Who wrote or signed it.")
    issuer: str | None = strawberry.field(description="The organisation that issued it.")
    url: str | None = strawberry.field(description="Where the public original can be found.")
    description_nl: strawberry.Private[str | None]
    description_en: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: SourceDocumentRow) -> Self:
        return cls(
            slug=row.slug,
            title=row.title,
            date=row.date,
            author=row.author,
            issuer=row.issuer,
            url=row.url,
            description_nl=row.description,
            description_en=row.description_en,
        )

    @strawberry.field(description="What it is, and which part of it was used.")
    def description(self, language: LanguageArg = Language.NL) -> str | None:
        return in_language_or_none(language, self.description_nl, self.description_en)

    @classmethod
    def resolve_id(cls, root: Self, *, info: Info) -> str:
        return root.slug

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await load_nodes(info, info.context.loaders.document_by_slug, node_ids, cls.from_row)


@strawberry.type(description="Where a fact comes from: a verbatim quote of a source document.")
class Citation:
    document_id: strawberry.Private[int]
    quote: str = strawberry.field(
        description="Verbatim text of the document (runs of whitespace normalised to one space). "
        "OCR errors of the source are kept."
    )

    @strawberry.field(description="The document quoted.")
    async def document(self, info: Info) -> SourceDocument:
        return SourceDocument.from_row(await info.context.loaders.document.load(self.document_id))

    @classmethod
    def from_row(cls, row: CitationRow) -> Self:
        return cls(document_id=row.document_id, quote=row.quote)


async def citations_of(info: Info, subject: str, subject_id: int) -> list[Citation]:
    """The citations of one fact; ``subject`` names the citation column, e.g. ``"fusion_id"``."""
    rows: list[Any] = await info.context.loaders.citations(subject).load(subject_id)
    return [Citation.from_row(row) for row in rows]
