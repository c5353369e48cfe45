"""How deeply JSON is nested, found without recursion (a recursive walk is what crashes on deep input)."""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in a request's variables or an imported file. Nothing
this API takes needs more than a few levels; graphql-core's coercion and orjson's encoder recurse (the
encoder stops at 254 levels), and Python's json module at about 1,000 raises RecursionError."""


def nested_deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` has arrays or objects nested more than ``limit`` levels; linear, no recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
