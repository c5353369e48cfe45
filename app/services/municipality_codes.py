"""Every Dutch municipality's CBS code, from a stored public source: to tell a client that a valid code
belongs to a municipality outside Noord-Brabant (``GM0363`` is Amsterdam), rather than only "not found".

The source is the bundled copy of minvws/nl-covid19-data-dashboard's ``gm.ts`` (document ``minvws-gm-2022``
in app/data/sources.yaml: the 345 municipalities of 1 January 2022), and its older version
(``minvws-gm-2021``, 352 of 1 January 2021) for codes dissolved in 2022. Each entry is quoted as it stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from app.data.loader import DATA_DIR
from app.services.text import normalise_whitespace

SOURCES = (
    ("minvws-gm-2022", "sources/minvws-dashboard-common-gm.ts.txt"),
    ("minvws-gm-2021", "sources/minvws-dashboard-app-gm-2021.ts.txt"),
)
BRABANT_SAFETY_REGIONS = frozenset({"VR20", "VR21", "VR22"})
"""Midden- en West-Brabant, Brabant-Noord and Brabant-Zuidoost: exactly the Noord-Brabant municipalities."""

_ENTRY = re.compile(
    r"""name: (?P<q>['"])(?P<name>.+?)(?P=q), (?:vrCode|safetyRegion): '(?P<region>VR\d\d)', gemcode: '(?P<code>GM\d{4})'"""
)


@dataclass(frozen=True)
class KnownMunicipality:
    code: str
    name: str
    in_noord_brabant: bool
    document: str
    """The slug of the source document."""
    quote: str
    """The entry's words in that document (after whitespace normalisation)."""


@cache
def dutch_municipalities() -> dict[str, KnownMunicipality]:
    """Code -> municipality, from the newest source that lists it (read once per process: ~350 entries)."""
    found: dict[str, KnownMunicipality] = {}
    for document, text_file in SOURCES:
        text = normalise_whitespace((DATA_DIR / text_file).read_text(encoding="utf-8"))
        for match in _ENTRY.finditer(text):
            code = match["code"]
            if code not in found:
                found[code] = KnownMunicipality(
                    code=code,
                    name=match["name"],
                    in_noord_brabant=match["region"] in BRABANT_SAFETY_REGIONS,
                    document=document,
                    quote=match[0],
                )
    return found


def outside_noord_brabant(code: str) -> KnownMunicipality | None:
    """The municipality of a valid CBS code outside Noord-Brabant, or None."""
    known = dutch_municipalities().get(code)
    return known if known is not None and not known.in_noord_brabant else None
