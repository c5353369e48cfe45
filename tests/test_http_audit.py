"""The GraphQL over HTTP spec: the ``graphql-http`` audit suite passes against a real server.

``tests/http_audit/audit.mjs`` runs every audit of ``serverAudits`` (graphql-http, pinned in
tests/http_audit/package.json) and prints one JSON line per audit. A failed MUST is an ``error``, a failed
SHOULD a ``warn``, a failed MAY a ``notice``. No error may occur; warnings and notices must be exactly the
allowed ones below, so that a new one fails the test instead of slipping by.

The suite does not check everything the spec asks (its "variable coercion" query fails validation first,
and it does not look at the ``Allow`` header of a 405), so a few requests are made here directly too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api
from tests.npm import npm_ci
from tests.servers import servers

HTTP_AUDIT = Path(__file__).parent / "http_audit"

# SHOULD audits allowed to fail (id: why the spec allows it or why it cannot be helped). None: the server
# follows every recommendation the suite checks, including the ones for application/graphql-response+json
# (400 without `data` for a document that does not parse or validate).
ALLOWED_WARNINGS: dict[str, str] = {}

# MAY audits allowed to fail. None: the optional behaviours the suite checks are ones this API offers and
# its clients rely on (queries over GET, a 400 for malformed parameters), so losing one is a regression.
ALLOWED_NOTICES: dict[str, str] = {}


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return npm_ci(HTTP_AUDIT, "the GraphQL over HTTP audit")


def _failures(results: list[dict[str, Any]], status: str) -> dict[str, str]:
    """The audits that ended with ``status``: id -> name and the server's answer, for the assertion message."""
    return {
        result["id"]: f"{result['name']}: {result['reason']}"
        for result in results
        if result["status"] == status
    }


# One backend: the audits test the HTTP layer, which does not depend on the database.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_graphql_over_http_audits_pass(node_modules: Path, seeded_url: str, backend: str) -> None:
    with servers(seeded_url, 1) as (server,):
        completed = subprocess.run(
            ["node", "audit.mjs", server.url],
            cwd=HTTP_AUDIT, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    results: list[dict[str, Any]] = [
        json.loads(line) for line in completed.stdout.splitlines() if line.strip()
    ]
    # graphql-http 1.23.1 has 61 server audits; far fewer means that the script did not run them all.
    assert len(results) >= 60, completed.stdout
    assert _failures(results, "error") == {}, "MUST requirements of the spec are not met"
    unexpected_warnings = set(_failures(results, "warn")) ^ set(ALLOWED_WARNINGS)
    assert not unexpected_warnings, {
        audit_id: _failures(results, "warn").get(
            audit_id, "allowed but passes now: remove it from ALLOWED_WARNINGS"
        )
        for audit_id in unexpected_warnings
    }
    unexpected_notices = set(_failures(results, "notice")) ^ set(ALLOWED_NOTICES)
    assert not unexpected_notices, {
        audit_id: _failures(results, "notice").get(
            audit_id, "allowed but passes now: remove it from ALLOWED_NOTICES"
        )
        for audit_id in unexpected_notices
    }


GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_a_mutation_over_get_is_405_with_allow_post(api: Api) -> None:
    response = await api.client.get(
        "/graphql", params={"query": "mutation { __typename }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_other_methods_are_405_with_allow(api: Api) -> None:
    response = await api.client.head("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/graphql", "application/json; charset=latin-1"]
)
async def test_a_post_that_is_not_json_is_415(api: Api, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await api.client.post("/graphql", content=b'{"query": "{ __typename }"}', headers=headers)
    assert response.status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        b'"{ __typename }"',
        b"null",
        b'{"query": "{ __typename }", "operationName": 1}',
        b'{"query": "{ __typename }',
    ],
)
async def test_a_malformed_request_is_400(api: Api, body: bytes) -> None:
    response = await api.client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
    ],
)
async def test_the_response_type_follows_accept(api: Api, accept: str | None, content_type: str) -> None:
    request = api.client.build_request("POST", "/graphql", json={"query": "{ __typename }"})
    if accept is None:
        del request.headers["accept"]  # httpx sends `Accept: */*` unless told otherwise
    else:
        request.headers["accept"] = accept
    response = await api.client.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


async def test_an_unacceptable_accept_is_406(api: Api) -> None:
    response = await api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept": "text/plain"}
    )
    assert response.status_code == 406


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ municipalities { ", None),  # does not parse
        ("{ municipalities { nosuchfield } }", None),  # does not validate
        ("query($code: String!) { municipality(code: $code) { name } }", {}),  # a variable does not coerce
        ("query($code: String!) { municipality(code: $code) { name } }", {"code": 5}),
    ],
)
async def test_request_errors_by_media_type(api: Api, query: str, variables: dict[str, Any] | None) -> None:
    """A request error: 400 without ``data`` for graphql-response+json; 200 with ``data: null`` for JSON."""
    payload = {"query": query, "variables": variables}
    response = await api.client.post("/graphql", json=payload, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400, response.text
    assert "data" not in response.json()
    assert response.json()["errors"]
    response = await api.client.post("/graphql", json=payload, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["data"] is None


async def test_a_field_error_is_a_partial_response_with_200(api: Api) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": '{ municipality(code: "GM9999") { name } }'},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"municipality": None}
