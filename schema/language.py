"""Dutch first: every descriptive text takes ``language: Language! = NL``.

One mechanism across the schema, chosen over ``Accept-Language``: the language is part of the query document
(and its variables), so the response cache, the prepared statements and the compiled SQL path key on it
like on any other argument, and one query can ask for both languages (aliases). A text without an English
translation (e.g. one written through the API in Dutch only) is served in Dutch.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.models.enums import Basis, Language
from schema.enums import graphql_enum

graphql_enum(
    Language,
    "The language of a descriptive text. The data's source is Dutch; English is a translation.",
    {
        "NL": "Dutch (Nederlands): the source language, and the default.",
        "EN": "English: the translation; where a text has none yet, the Dutch text is given.",
    },
)
graphql_enum(
    Basis,
    "Whether a fact says what its source says, or goes beyond its words.",
    {
        "QUOTED": "The fact follows the source's words (the quotes in `sources`), by the documented mapping "
        "of words to roles.",
        "INTERPRETED": "The fact goes beyond the source's words; `basisNote` says how, and why.",
    },
)

LanguageArg = Annotated[
    Language,
    strawberry.argument(description="The language of the text: NL (Dutch, the default) or EN (English)."),
]


def in_language(language: Language, dutch: str, english: str | None) -> str:
    """The text in ``language``; Dutch where no English translation exists."""
    return english if language is Language.EN and english is not None else dutch


def in_language_or_none(language: Language, dutch: str | None, english: str | None) -> str | None:
    return None if dutch is None else in_language(language, dutch, english)
