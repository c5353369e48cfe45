"""Accent- and case-insensitive matching that behaves the same on SQLite and PostgreSQL.

Rather than rely on PostgreSQL's ``unaccent`` extension (absent on SQLite), names are folded in Python when
written and stored beside the original; queries fold the search term the same way and compare with LIKE.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """Whether both databases can hold ``text``: PostgreSQL refuses NUL characters in text, and no driver can
    encode an unpaired surrogate (JSON can carry one as an escape, ``"\\ud800"``).

    No stored value contains either, so a key with one matches nothing and a value with one must be refused.
    """
    return _UNSTORABLE.search(text) is None


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fold(text: str) -> str:
    """``"'s-Hertogenbosch"`` → ``"shertogenbosch"``; ``"Stérk Brabant"`` → ``"sterkbrabant"``."""
    return _NOT_ALNUM.sub("", _strip_accents(text).casefold())


def fold_words(text: str) -> list[str]:
    """The folded words of a text: ``"Stérk Brabant!"`` → ``["sterk", "brabant"]``."""
    return [word for word in (fold(part) for part in text.split()) if word]


def search_document(*texts: str) -> str:
    """What a word search looks in: folded words separated by single spaces, padded with spaces."""
    words = [word for text in texts for word in fold_words(text)]
    return " " + " ".join(words) + " "


def normalise_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space (how quotes are compared with their source)."""
    return " ".join(text.split())
