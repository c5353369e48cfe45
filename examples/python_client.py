"""A small Python client for the Veerkracht API: one typed helper over httpx, for frontends and integrations.

    pip install httpx
    python examples/python_client.py                                   # http://127.0.0.1:8000/graphql
    python examples/python_client.py --url https://example.org/graphql --municipality GM1991
    python examples/python_client.py --token "$TOKEN"                  # when the service requires one

Start the API first (``veerkracht serve``, see the README). ``query(url, document, variables)`` returns
the ``data`` of one operation, or raises ``ApiError`` carrying the first error's ``extensions.code``
(``BAD_USER_INPUT``, ``NOT_FOUND``, ``UNAUTHENTICATED``, ``FORBIDDEN``, ...). ``main()`` prints a
municipality's involvements, its predecessors' included, then pages through every initiative with
``first``/``after``. Copy ``query`` and the documents into your own code; only httpx is needed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000/graphql"

MUNICIPALITY_INVOLVEMENTS = """
query MunicipalityInvolvements($code: String!) {
  municipality(code: $code) {
    code
    name
    formedBy { name effectiveOn dissolvedMunicipalities { code name } }
    involvements(includePredecessors: true) {
      totalCount
      nodes {
        role
        description
        initiative { slug name }
        participant { __typename name }
      }
    }
  }
}
"""

INITIATIVES_PAGE = """
query InitiativesPage($first: Int!, $after: String, $filter: InitiativeFilter) {
  initiatives(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id slug name kind status }
  }
}
"""


class ApiError(Exception):
    """The API answered with ``errors``; ``code`` is the first one's ``extensions.code``."""

    def __init__(self, errors: list[dict[str, Any]], status_code: int) -> None:
        self.errors = errors
        self.status_code = status_code
        first = errors[0] if errors else {}
        self.code: str = str((first.get("extensions") or {}).get("code", "ERROR"))
        super().__init__(f"{self.code}: {first.get('message', f'HTTP {status_code}')}")


def query(
    url: str,
    document: str,
    variables: Mapping[str, Any] | None = None,
    token: str | None = None,
    *,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """POST one operation to ``url``; return its ``data`` or raise ``ApiError``.

    Pass an ``httpx.Client`` to reuse one connection over many calls.
    """
    headers = {"Accept": "application/graphql-response+json, application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = {"query": document, "variables": dict(variables or {})}
    if client is None:
        response = httpx.post(url, json=payload, headers=headers, timeout=30)
    else:
        response = client.post(url, json=payload, headers=headers)
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        response.raise_for_status()
        raise ApiError(
            [{"message": f"HTTP {response.status_code}: not JSON"}], response.status_code
        ) from None
    if body.get("errors"):
        raise ApiError(list(body["errors"]), response.status_code)
    if body.get("data") is None:
        response.raise_for_status()
        raise ApiError([{"message": "no data in the response"}], response.status_code)
    data: dict[str, Any] = body["data"]
    return data


def all_initiatives(
    url: str,
    *,
    filter: Mapping[str, Any] | None = None,
    page_size: int = 4,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every initiative (matching ``filter``), with its page number, following ``endCursor``."""
    after: str | None = None
    page = 0
    while True:
        variables = {"first": page_size, "after": after, "filter": dict(filter) if filter else None}
        connection = query(url, INITIATIVES_PAGE, variables, token, client=client)["initiatives"]
        page += 1
        for node in connection["nodes"]:
            yield page, node
        if not connection["pageInfo"]["hasNextPage"]:
            return
        after = connection["pageInfo"]["endCursor"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=os.environ.get("VEERKRACHT_URL", DEFAULT_URL))
    parser.add_argument("--token", default=os.environ.get("VEERKRACHT_TOKEN"))
    parser.add_argument("--municipality", default="GM1991", help="CBS code (default: Maashorst)")
    args = parser.parse_args(argv)

    try:
        with httpx.Client(timeout=30) as client:
            data = query(
                args.url, MUNICIPALITY_INVOLVEMENTS, {"code": args.municipality}, args.token, client=client
            )
            municipality = data["municipality"]
            if municipality is None:
                print(f"No municipality with code {args.municipality}", file=sys.stderr)
                return 1
            print(f"{municipality['name']} ({municipality['code']})")
            if formed := municipality["formedBy"]:
                names = ", ".join(m["name"] for m in formed["dissolvedMunicipalities"])
                print(f"  formed on {formed['effectiveOn']} from {names}")
            # Each involvement stays with the municipality the source names: see `participant`.
            for involvement in municipality["involvements"]["nodes"]:
                participant = involvement["participant"]
                print(
                    f"  {involvement['role']:<12} {involvement['initiative']['name']}"
                    f"  (as {participant['name']}, a {participant['__typename']})"
                )

            print("All initiatives:")
            for page, initiative in all_initiatives(args.url, token=args.token, client=client):
                print(f"  [page {page}] {initiative['name']} ({initiative['kind']}, {initiative['status']})")
    except ApiError as error:
        print(f"The API refused: {error}", file=sys.stderr)
        return 2
    except httpx.HTTPError as error:
        print(f"Could not reach {args.url}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
