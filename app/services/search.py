"""One search over initiatives, organisations and municipalities, in Dutch (issue 12).

What it finds: words in names (and municipality aliases), initiative summaries, organisation descriptions,
involvement descriptions, reported-figure labels and the quotes of their sources, ignoring case, accents and
punctuation, with Dutch stemming (Snowball's Dutch stemmer, the ``snowballstemmer`` package): ``wijk`` finds
"3 wijken", ``bewoner`` finds "bewoners".

How, and why this way. The obvious tools differ per database: PostgreSQL's ``to_tsvector('dutch', ...)`` and
SQLite's FTS5 stem, tokenise and rank differently (FTS5 ships no Dutch stemmer; its ``bm25`` is not
PostgreSQL's ``ts_rank``), so the same search would answer differently on the two. Here the analysis (fold,
split, stem) and the ranking are this module's, in Python, over rows read with plain SELECTs, so both
databases give the same answer by construction (tests/test_search.py runs every case on both).

The index is built from the database when the data version (``change_counter.last_sequence``, raised by
every committed write, as for the response cache) has moved, and kept for that version only: one index per
database, replaced, never accumulated. Measured on the bundled dataset (97 entries, 224 texts, 13 kB of
text) on SQLite: building takes ~45 ms (8 SELECTs; with pure-Python Snowball it was ~240 ms, of which
200 ms stemming, hence PyStemmer, the C build of the same Snowball algorithms, which snowballstemmer uses
when installed, with identical stems) and holds ~250 kB; a search on a built index takes ~0.4 ms. Its size
follows the data (not the requests); ``MAX_INDEX_BYTES`` bounds it, and beyond that the search refuses with
a clear error rather than hold more.
"""

from __future__ import annotations

import asyncio
import html
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import snowballstemmer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import (
    ChangeCounter,
    Citation,
    Initiative,
    Involvement,
    Municipality,
    MunicipalityAlias,
    Organization,
    ReportedFigure,
    UnresolvedMention,
)

MAX_INDEX_BYTES = 64 * 1024 * 1024
"""Largest index kept (the texts it holds, counted in UTF-8 bytes)."""
MAX_QUERY_WORDS = 20
SNIPPET_CHARS = 160

WEIGHTS = {"name": 3.0, "alias": 3.0, "summary": 2.0, "description": 2.0, "label": 1.5, "quote": 1.0}
"""A hit in a name counts more than one in a summary or description, which counts more than one in a quote."""

_WORD = re.compile(r"\w+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


class SearchTooLarge(Exception):
    """The data has grown beyond what the in-memory index may hold."""


@cache
def _stemmer() -> Any:
    """Snowball's Dutch stemmer (PyStemmer's C build when installed; the same stems)."""
    return snowballstemmer.stemmer("dutch")


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_ALNUM.sub("", stripped.casefold())


def tokens(text: str) -> list[tuple[str, int, int]]:
    """The stems of ``text``'s words, each with its start and end in ``text``: ``"3 wijken"`` →
    ``[("3", 0, 1), ("wijk", 2, 8)]``. Case, accents and punctuation do not matter."""
    stem = _stemmer().stemWord
    found = []
    for match in _WORD.finditer(text):
        folded = _fold(match.group())
        if folded:
            found.append((stem(folded), match.start(), match.end()))
    return found


def query_stems(text: str) -> list[str]:
    """The distinct stems of a search text, in order."""
    return list(dict.fromkeys(stem for stem, _, _ in tokens(text)))


@dataclass(frozen=True)
class Field:
    kind: str
    """name, alias, summary, description, label or quote."""
    text: str
    stems: frozenset[str]


@dataclass
class Entry:
    type_name: str
    """Initiative, Organization or Municipality."""
    pk: int
    name: str
    fields: list[Field] = field(default_factory=list)

    def add(self, kind: str, text: str | None) -> None:
        if text:
            self.fields.append(Field(kind, text, frozenset(stem for stem, _, _ in tokens(text))))


@dataclass(frozen=True)
class Hit:
    entry: Entry
    rank: float
    field: Field
    snippet: str


TYPE_ORDER = {"Initiative": 0, "Organization": 1, "Municipality": 2}


@dataclass
class SearchIndex:
    version: int
    entries: list[Entry]
    postings: dict[str, set[int]]
    """stem -> positions in ``entries`` of the entries that have it in some field."""

    @classmethod
    def build(cls, version: int, entries: list[Entry]) -> SearchIndex:
        size = sum(len(f.text.encode()) for e in entries for f in e.fields)
        if size > MAX_INDEX_BYTES:
            raise SearchTooLarge(size)
        postings: dict[str, set[int]] = defaultdict(set)
        for position, entry in enumerate(entries):
            for f in entry.fields:
                for stem in f.stems:
                    postings[stem].add(position)
        return cls(version, entries, dict(postings))

    def search(self, stems: list[str]) -> list[Hit]:
        """Entries with every stem in some field, best first. Per stem: the weight of the best field holding
        it, plus a tenth for each further field holding it (a name beats many quotes, and among equals the
        entry that says it more often wins); ties by type (initiatives, organisations, municipalities), name."""
        if not stems:
            return []
        found = set.intersection(*(self.postings.get(stem, set()) for stem in stems))
        hits = []
        for position in found:
            entry = self.entries[position]
            rank = 0.0
            for stem in stems:
                weights = sorted((WEIGHTS[f.kind] for f in entry.fields if stem in f.stems), reverse=True)
                rank += weights[0] + 0.1 * (len(weights) - 1)
            best = max(
                (f for f in entry.fields if f.stems & set(stems)),
                key=lambda f: (WEIGHTS[f.kind] * len(f.stems & set(stems)), -entry.fields.index(f)),
            )
            hits.append(Hit(entry, round(rank, 3), best, snippet(best.text, set(stems))))
        hits.sort(key=lambda h: (-h.rank, TYPE_ORDER[h.entry.type_name], _fold(h.entry.name), h.entry.pk))
        return hits


def snippet(text: str, stems: set[str]) -> str:
    """Up to ``SNIPPET_CHARS`` characters of ``text`` around its first hit, HTML-escaped, with every word
    that matched in ``<mark>``...``</mark>`` (safe to show as HTML; plain text after removing the tags)."""
    spans = [(start, end) for stem, start, end in tokens(text) if stem in stems]
    if not spans:
        return html.escape(text[:SNIPPET_CHARS])
    first = spans[0][0]
    begin = max(0, first - SNIPPET_CHARS // 3)
    if begin:
        space = text.rfind(" ", 0, begin + 1)
        begin = space + 1 if space >= 0 and first - space < SNIPPET_CHARS // 2 else begin
    end = min(len(text), begin + SNIPPET_CHARS)
    parts = ["…" if begin else ""]
    cursor = begin
    for start, stop in spans:
        if start < begin or stop > end:
            continue
        parts += [html.escape(text[cursor:start]), "<mark>", html.escape(text[start:stop]), "</mark>"]
        cursor = stop
    parts += [html.escape(text[cursor:end]), "…" if end < len(text) else ""]
    return "".join(parts)


async def _read(session: AsyncSession) -> list[Entry]:
    initiatives: dict[int, Entry] = {}
    for pk, name, summary in await session.execute(
        select(Initiative.id, Initiative.name, Initiative.summary).order_by(Initiative.id)
    ):
        entry = initiatives[pk] = Entry("Initiative", pk, name)
        entry.add("name", name)
        entry.add("summary", summary)
    participants: dict[int, Entry] = {}
    for pk, name in await session.execute(
        select(Municipality.id, Municipality.name).order_by(Municipality.id)
    ):
        participants[pk] = Entry("Municipality", pk, name)
        participants[pk].add("name", name)
    for municipality_id, alias in await session.execute(
        select(MunicipalityAlias.municipality_id, MunicipalityAlias.name).order_by(MunicipalityAlias.id)
    ):
        participants[municipality_id].add("alias", alias)
    for pk, name, description in await session.execute(
        select(Organization.id, Organization.name, Organization.description).order_by(Organization.id)
    ):
        participants[pk] = Entry("Organization", pk, name)
        participants[pk].add("name", name)
        participants[pk].add("description", description)
    of_involvement: dict[int, int] = {}
    for pk, initiative_id, description in await session.execute(
        select(Involvement.id, Involvement.initiative_id, Involvement.description).order_by(Involvement.id)
    ):
        of_involvement[pk] = initiative_id
        initiatives[initiative_id].add("description", description)
    of_figure: dict[int, int] = {}
    for pk, initiative_id, label in await session.execute(
        select(ReportedFigure.id, ReportedFigure.initiative_id, ReportedFigure.label).order_by(
            ReportedFigure.id
        )
    ):
        of_figure[pk] = initiative_id
        initiatives[initiative_id].add("label", label)
    of_mention: dict[int, int] = {
        pk: initiative_id
        for pk, initiative_id in await session.execute(
            select(UnresolvedMention.id, UnresolvedMention.initiative_id)
        )
    }
    # Quotes of initiatives (and of their involvements, figures and mentions) and of organisations; a
    # municipality's quotes are its code's source lines ("name: 'Altena', vrCode: ..."), not words to find.
    seen: set[tuple[str, int, str]] = set()
    rows = await session.execute(
        select(
            Citation.initiative_id,
            Citation.involvement_id,
            Citation.reported_figure_id,
            Citation.unresolved_mention_id,
            Citation.participant_id,
            Citation.quote,
        ).order_by(Citation.id)
    )
    for cited_initiative, involvement_id, figure_id, mention_id, participant_id, quote in rows:
        owner = (
            cited_initiative
            or of_involvement.get(involvement_id or 0)
            or of_figure.get(figure_id or 0)
            or of_mention.get(mention_id or 0)
        )
        target = initiatives.get(owner) if owner else None
        if target is None and participant_id in participants:
            target = participants[participant_id]
            if target.type_name != "Organization":
                target = None
        if target is not None and (target.type_name, target.pk, quote) not in seen:
            seen.add((target.type_name, target.pk, quote))
            target.add("quote", quote)
    return [*initiatives.values(), *participants.values()]


class SearchIndexes:
    """The search index of one database, rebuilt when its data version moves (one per app: app.state)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.current: SearchIndex | None = None
        self.lock = asyncio.Lock()

    async def index(self) -> SearchIndex:
        """The index of the current data version (built once per version, one build at a time)."""
        async with self.sessionmaker() as session:
            version = await _version(session)
        current = self.current
        if current is not None and current.version == version:
            return current
        async with self.lock:
            current = self.current
            if current is not None and current.version >= version:
                return current
            async with self.sessionmaker() as session:
                # The version first, then the rows: the rows are at least that new. A write committed in
                # between raises the version, and the next search builds again.
                version = await _version(session)
                self.current = SearchIndex.build(version, await _read(session))
            return self.current


async def _version(session: AsyncSession) -> int:
    return int(await session.scalar(select(ChangeCounter.last_sequence).where(ChangeCounter.id == 1)) or 0)
