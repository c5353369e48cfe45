"""``search(text:)``: one search over initiatives, organisations and municipalities (app/services/search.py)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from app.services.search import MAX_QUERY_WORDS, SearchIndexes, SearchTooLarge, query_stems
from schema.context import Info
from schema.errors import bad_input
from schema.initiatives import Initiative
from schema.pagination import encode_cursor, page_request
from schema.participants import Municipality, Organization, participant_from_row

SearchResult = Annotated[
    Initiative | Organization | Municipality,
    strawberry.union(
        "SearchResult", description="What a search finds: an initiative, organisation or municipality."
    ),
]


@strawberry.enum(description="Where a search hit was found.")
class SearchField(enum.Enum):
    NAME = strawberry.enum_value("name", description="Its name.")
    ALIAS = strawberry.enum_value("alias", description='A name people use for a municipality ("Den Bosch").')
    SUMMARY = strawberry.enum_value("summary", description="An initiative's summary (in Dutch).")
    DESCRIPTION = strawberry.enum_value(
        "description", description="An organisation's description, or an involvement's (in Dutch)."
    )
    LABEL = strawberry.enum_value("label", description="The label of a number the source reports.")
    QUOTE = strawberry.enum_value("quote", description="A quote of its sources (the memo's own words).")


@strawberry.type(description="One thing a search found, with why: the matched text, its words marked.")
class SearchHit:
    node: SearchResult = strawberry.field(description="What was found.")
    rank: float = strawberry.field(
        description="Relevance, higher first: for each search word, the weight of the best text holding it "
        "(name 3, summary and description 2, label 1.5, quote 1) plus 0.1 for each further text holding it."
    )
    field: SearchField = strawberry.field(description="The text the snippet comes from (its best match).")
    snippet: str = strawberry.field(
        description="Up to 160 characters of that text around the first hit, HTML-escaped, each matched word "
        "in <mark>…</mark>: safe to show as HTML, plain text once the tags are removed."
    )


@strawberry.type(description="An edge of a search's results.")
class SearchHitEdge:
    cursor: str = strawberry.field(description="Pass as `after` for the hits after this one.")
    node: SearchHit = strawberry.field(description="The hit.")


@strawberry.type(description="A page of search hits, best first.")
class SearchHitConnection:
    total_count: int = strawberry.field(description="How many hits there are on all pages.")
    page_info: relay.PageInfo = strawberry.field(description="Whether more hits follow.")
    edges: list[SearchHitEdge] = strawberry.field(description="The hits of this page with their cursors.")

    @strawberry.field(description="The hits of this page, without the edges.")
    def nodes(self) -> list[SearchHit]:
        return [edge.node for edge in self.edges]


async def search(info: Info, text: str, first: int | None, after: str | None) -> SearchHitConnection:
    request = page_request("SearchHit", first, after, info.context.settings.max_page_size)
    if len(text) > 1000:
        raise bad_input("text", "is te lang: zoek met hoogstens 1000 tekens")
    stems = query_stems(text)
    if not stems:
        raise bad_input("text", "bevat geen woorden: zoek op minstens één woord of getal")
    if len(stems) > MAX_QUERY_WORDS:
        raise bad_input("text", f"heeft te veel woorden: zoek met hoogstens {MAX_QUERY_WORDS} woorden")
    try:
        state = getattr(getattr(info.context.request, "app", None), "state", None)
        indexes = getattr(state, "search_indexes", None) or SearchIndexes(info.context.sessionmaker)
        index = await indexes.index()
    except SearchTooLarge as error:
        raise bad_input(
            "text", "de zoekindex zou te groot worden; zoeken kan op deze gegevens niet"
        ) from error
    hits = index.search(stems)
    start = request.after or 0
    page = hits[start : start + request.first]
    edges = []
    for position, hit in enumerate(page, start=start + 1):
        node: Initiative | Organization | Municipality
        if hit.entry.type_name == "Initiative":
            node = Initiative.from_row(await info.context.loaders.initiative.load(hit.entry.pk))
        else:
            found = participant_from_row(await info.context.loaders.participant.load(hit.entry.pk))
            assert isinstance(found, Organization | Municipality)
            node = found
        value = SearchField(hit.field.kind)
        edges.append(
            SearchHitEdge(
                cursor=encode_cursor("SearchHit", position),
                node=SearchHit(node=node, rank=hit.rank, field=value, snippet=hit.snippet),
            )
        )
    return SearchHitConnection(
        total_count=len(hits),
        page_info=relay.PageInfo(
            has_next_page=start + len(page) < len(hits),
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        edges=edges,
    )
