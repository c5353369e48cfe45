"""The sources a write cites: `CitationInput` and its translation into the services' terms."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.relay import GlobalID, GlobalIDValueError

from app.services.citations import CitationSpec, NewDocument
from app.services.writes import Problem, Rejected


@strawberry.input(
    description="A document to cite that the API does not hold yet: where it is published, and its date."
)
class NewSourceDocumentInput:
    title: str = strawberry.field(description="Its title.")
    url: str = strawberry.field(description="Where the public original is (http:// or https://).")
    date: dt.date = strawberry.field(description="Its date (or that of the version quoted).")
    author: str | None = strawberry.field(default=None, description="Who wrote or signed it.")
    issuer: str | None = strawberry.field(default=None, description="The organisation that issued it.")
    description: str | None = strawberry.field(
        default=None, description="What it is, and which part of it is quoted."
    )


@strawberry.input(
    description="Where a fact comes from: a verbatim quote of a document. Give exactly one of `documentId` "
    "(a document the API holds: the quote is checked against its text where the API has it) and "
    "`newDocument`."
)
class CitationInput:
    quote: str = strawberry.field(
        description="The document's own words, verbatim (runs of whitespace count as one space)."
    )
    document_id: strawberry.ID | None = strawberry.field(
        default=None, description="The `id` of a SourceDocument, e.g. from `sources { document { id } }`."
    )
    new_document: NewSourceDocumentInput | None = strawberry.field(
        default=None, description="A document the API does not hold yet."
    )


def sources_description(what: str) -> str:
    return (
        f"Where {what} comes from: at least one citation. Without one the write is refused with the code "
        "SOURCE_REQUIRED (the field is optional in the schema only so that older clients still validate)."
    )


def citation_specs(
    sources: list[CitationInput] | None, path: tuple[str, ...] = ("input", "sources")
) -> list[CitationSpec] | None:
    """The citations in the services' terms; a `documentId` that is no SourceDocument id is refused here."""
    if sources is None:
        return None
    problems: list[Problem] = []
    specs: list[CitationSpec] = []
    for index, source in enumerate(sources):
        at = (*path, str(index))
        slug = None
        if source.document_id is not None:
            try:
                global_id = GlobalID.from_id(source.document_id)
            except GlobalIDValueError:
                problems.append(Problem((*at, "documentId"), "This is not an id of this API.", "INVALID"))
                continue
            if global_id.type_name != "SourceDocument":
                problems.append(
                    Problem(
                        (*at, "documentId"),
                        f"The id is of a {global_id.type_name}; a SourceDocument id is needed.",
                        "INVALID",
                    )
                )
                continue
            slug = global_id.node_id
        new = source.new_document
        specs.append(
            CitationSpec(
                path=at,
                quote=source.quote,
                document_slug=slug,
                new_document=None
                if new is None
                else NewDocument(
                    title=new.title,
                    url=new.url,
                    date=new.date,
                    author=new.author,
                    issuer=new.issuer,
                    description=new.description,
                ),
            )
        )
    if problems:
        raise Rejected(problems)
    return specs
