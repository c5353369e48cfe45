"""Errors a client can act on: each has ``extensions.code`` and, for input errors, the argument it is about."""

from __future__ import annotations

from graphql import GraphQLError

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"


def bad_input(argument: str, message: str) -> GraphQLError:
    """``argument`` is the path of the offending argument, e.g. ``"first"`` or ``"filter.municipalityCode"``."""
    return GraphQLError(
        f"Invalid argument `{argument}`: {message}", extensions={"code": BAD_USER_INPUT, "argument": argument}
    )


def not_found(argument: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": NOT_FOUND, "argument": argument})
