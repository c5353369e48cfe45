"""Errors a client can act on: each has ``extensions.code`` and, for input errors, the argument it is about."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.relay.types import GlobalIDValueError

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
OUTSIDE_PROVINCE = "OUTSIDE_PROVINCE"
"""A valid CBS code of a municipality outside Noord-Brabant (``GM0363``, Amsterdam): this API has none."""


def bad_input(argument: str, message: str) -> GraphQLError:
    """``argument`` is the path of the offending argument, e.g. ``"first"`` or ``"filter.municipalityCode"``."""
    return GraphQLError(
        f"Ongeldig argument `{argument}`: {message}",
        extensions={"code": BAD_USER_INPUT, "argument": argument},
    )


def not_found(argument: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": NOT_FOUND, "argument": argument})


def unknown_code(argument: str, code: str) -> GraphQLError:
    """No Noord-Brabant municipality has ``code``: OUTSIDE_PROVINCE when it is another Dutch municipality's
    (with the municipality and the source saying so), NOT_FOUND otherwise."""
    from app.services.municipality_codes import outside_noord_brabant

    known = outside_noord_brabant(code)
    if known is None:
        return not_found(
            argument,
            f"Er is geen gemeente met code {code!r}: geen gemeente van Noord-Brabant sinds 2015 had die "
            "CBS-code. Zoek de code op met `municipalities(filter: {nameContains: ...})`.",
        )
    return GraphQLError(
        f"{code} is de CBS-code van {known.name}, een gemeente buiten Noord-Brabant. Deze API gaat alleen "
        "over gemeenten van Noord-Brabant (het programma Versterken Sociale Veerkracht).",
        extensions={
            "code": OUTSIDE_PROVINCE,
            "argument": argument,
            "municipality": {"code": known.code, "name": known.name},
            "source": {"document": known.document, "quote": known.quote},
        },
    )


GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

# Arguments that take global ids, by field: where Strawberry's relay rejects an id, say which argument.
_ID_ARGUMENTS = {"node": "id", "nodes": "ids"}


def classify(error: GraphQLError) -> str:
    """Give ``error`` an ``extensions.code`` (and for a bad global id, the argument and a clear message)."""
    extensions = dict(error.extensions or {})
    if "code" not in extensions:
        original = error.original_error
        if isinstance(original, GlobalIDValueError):
            field = next((part for part in reversed(error.path or []) if isinstance(part, str)), "")
            argument = _ID_ARGUMENTS.get(field, "id")
            extensions.update(code=BAD_USER_INPUT, argument=argument)
            error.message = (
                f"Ongeldig argument `{argument}`: geen id van deze API ({error.message}). "
                "Gebruik de `id` van een object dat deze API heeft gegeven."
            )
        elif isinstance(original, GraphQLError):
            # graphql-core attaches the coercion error to a variable's error ("Variable '$x' got invalid
            # value ..."): the request's input is wrong, nothing crashed.
            extensions["code"] = (original.extensions or {}).get("code", BAD_USER_INPUT)
        elif original is None:
            parse_failed = error.message.startswith("Syntax Error")
            extensions["code"] = GRAPHQL_PARSE_FAILED if parse_failed else GRAPHQL_VALIDATION_FAILED
        else:
            extensions["code"] = INTERNAL_SERVER_ERROR
        error.extensions = extensions
    return str(extensions["code"])
