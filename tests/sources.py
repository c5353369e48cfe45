"""Citations for the tests' writes: every mutation that adds a fact needs one (issue 12, item 5)."""

from __future__ import annotations

import json
from base64 import b64encode

MEMO_ID = b64encode(b"SourceDocument:memo-vsv-2019-04-04").decode()
MEMO_QUOTE = "De Veerkrachtdialoog is toegepast in en in samenwerking met verschillende gemeenten"
"""Verbatim in the memo (app/data/sources/memo-vsv-gemeenten-2019-04-04.txt)."""

SOURCES: list[dict[str, str]] = [{"documentId": MEMO_ID, "quote": MEMO_QUOTE}]
"""As a variable's value: ``{"input": {..., "sources": SOURCES}}``."""

SOURCES_LITERAL = f"sources: [{{documentId: {json.dumps(MEMO_ID)}, quote: {json.dumps(MEMO_QUOTE)}}}]"
"""As an argument inside a query document: ``input: {slug: "x", ..., SOURCES_LITERAL}``."""
