"""Trusted documents (issue 14, item 5): automatic persisted queries as Apollo's client sends them, over POST
and GET, and the allow-list mode. Through the real app."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from websockets.asyncio.client import connect

from app.main import create_app
from app.services.persisted import PersistedDocuments, TrustedDocumentsError
from app.settings import Settings
from tests.conftest import Api, _api, migrated_and_seeded, write_token
from tests.servers import Server, servers
from tests.sources import SOURCES_LITERAL

QUERY = 'query Zundert { municipality(code: "GM0879") { name code } }'
WITH_VARIABLES = "query Named($code: String!) { municipality(code: $code) { name } }"
OTHER = '{ municipality(code: "GM0758") { name } }'
GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json"}


def _sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def _persisted(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": _sha(document)}}


async def _post(api: Api, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return await api.client.post("/graphql", json=body, headers=headers or {})


async def _get(api: Api, params: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    encoded = {key: json.dumps(value) if isinstance(value, dict) else value for key, value in params.items()}
    return await api.client.get("/graphql", params=encoded, headers=headers or {})


async def test_apollo_flow_over_post(api: Api) -> None:
    document = QUERY + " # post " + str(id(api))  # a document this test is the first to send
    extensions = _persisted(document)
    # 1. The hash alone: unknown, answered as Apollo Server does (a 200, whatever the media type).
    miss = await _post(api, {"extensions": extensions}, GRAPHQL_RESPONSE)
    assert miss.status_code == 200
    assert miss.json()["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert "no-cache" in miss.headers["cache-control"]
    # 2. The client sends the document with its hash: checked, kept, run.
    registered = await _post(api, {"query": document, "extensions": extensions})
    assert registered.json()["data"] == {"municipality": {"name": "Zundert", "code": "GM0879"}}
    # 3. From now on the hash is enough.
    hit = await _post(api, {"extensions": extensions, "operationName": "Zundert"})
    assert hit.json() == registered.json()


async def test_apollo_flow_over_get_is_cacheable(api: Api) -> None:
    document = WITH_VARIABLES + " # get " + str(id(api))
    params = {"extensions": _persisted(document), "variables": {"code": "GM0879"}}
    miss = await _get(api, params)
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await _get(api, {**params, "query": document})
    assert registered.json()["data"] == {"municipality": {"name": "Zundert"}}
    hit = await _get(api, params)
    assert hit.status_code == 200
    assert hit.json() == registered.json()
    etag = hit.headers["etag"]
    # A proxy (or the browser) that holds the answer asks again with its ETag: 304, no body.
    again = await _get(api, params, {"If-None-Match": etag})
    assert again.status_code == 304
    # A mutation stays refused over GET, persisted or not.
    mutation = (
        'mutation { createOrganization(input: {slug: "x", name: "X", kind: OTHER}) { errors { code } } }'
    )
    refused = await _get(api, {"query": mutation, "extensions": _persisted(mutation)})
    assert refused.status_code == 405


async def test_a_wrong_hash_is_refused_and_not_kept(api: Api) -> None:
    document = QUERY + " # mismatch"
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": _sha(OTHER)}}
    refused = await _post(api, {"query": document, "extensions": wrong})
    (error,) = refused.json()["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    assert "provided sha does not match query" in error["message"]
    later = await _post(api, {"extensions": wrong})
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    for bad in ({"version": 2, "sha256Hash": _sha(document)}, {"version": 1, "sha256Hash": "abc"}, "x"):
        response = await _post(api, {"query": document, "extensions": {"persistedQuery": bad}})
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST", bad


async def test_a_persisted_query_gets_the_same_answer_and_fast_paths(api: Api) -> None:
    document = (
        'query Same { municipality(code: "GM0855") { name code involvements(first: 3) { totalCount } } }'
    )
    full = await _post(api, {"query": document})
    await _post(api, {"query": document, "extensions": _persisted(document)})
    api.statements.clear()
    repeat = await _post(api, {"query": document})
    by_full_text = len(api.statements)
    api.statements.clear()
    hashed = await _post(api, {"extensions": _persisted(document)})
    assert hashed.content == full.content == repeat.content
    assert len(api.statements) == by_full_text, "the hash takes the same cached path as the full text"


def test_the_store_is_bounded_in_entries_and_bytes() -> None:
    store = PersistedDocuments(max_entries=3, max_bytes=200)
    documents = [f"{{ a{n}: __typename }}" for n in range(5)]
    for document in documents:
        assert store.resolve(document, _persisted(document)) == document
    assert len(store) == 3
    assert store.resolve(None, _persisted(documents[-1])) == documents[-1]
    with pytest.raises(Exception, match="PersistedQueryNotFound"):
        store.resolve(None, _persisted(documents[0]))  # the least recently used went first
    big = "{ __typename }" + " " * 160  # 174 bytes: with two others (18 each) over 200
    store.resolve(big, _persisted(big))
    assert store.bytes <= 200
    assert len(store) <= 2
    huge = "{ __typename }" + " " * 300  # runs, but is not kept
    assert store.resolve(huge, _persisted(huge)) == huge
    assert store.bytes <= 200


@pytest.fixture
async def trusted(seeded_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The app in production mode: only the documents of a GraphQL Code Generator style allow-list run."""
    allow_list = tmp_path / "persisted-documents.json"
    allow_list.write_text(json.dumps({_sha(QUERY): QUERY, f"sha256:{_sha(WITH_VARIABLES)}": WITH_VARIABLES}))
    async for instance in _api(seeded_url, trusted_documents=str(allow_list)):
        yield instance


async def test_trusted_documents_only(trusted: Api) -> None:
    by_hash = await _post(trusted, {"extensions": _persisted(QUERY)})
    assert by_hash.json()["data"] == {"municipality": {"name": "Zundert", "code": "GM0879"}}
    by_get = await _get(trusted, {"extensions": _persisted(WITH_VARIABLES), "variables": {"code": "GM0879"}})
    assert by_get.json()["data"] == {"municipality": {"name": "Zundert"}}
    assert (await _post(trusted, {"query": QUERY})).json()["data"] == by_hash.json()["data"], "a listed text"

    free_form = await _post(trusted, {"query": OTHER}, GRAPHQL_RESPONSE)
    assert free_form.status_code == 400
    (error,) = free_form.json()["errors"]
    assert error["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
    assert "trusted documents only" in error["message"]
    over_get = await _get(trusted, {"query": OTHER})
    assert over_get.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"

    # APQ registration is no way around the list.
    registering = await _post(trusted, {"query": OTHER, "extensions": _persisted(OTHER)})
    assert registering.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    unknown = await _post(trusted, {"extensions": _persisted(OTHER)})
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert "data" not in unknown.json() or unknown.json()["data"] is None
    swapped = await _post(trusted, {"query": OTHER, "extensions": _persisted(QUERY)})
    assert swapped.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "must be a JSON object of id -> document text"),
        ('{"abc": "query {"}', "'abc' does not parse"),
        ("not json", "is not a JSON file"),
    ],
)
async def test_a_bad_allow_list_stops_the_start(
    seeded_url: str, tmp_path: Path, content: str, message: str
) -> None:
    allow_list = tmp_path / "list.json"
    allow_list.write_text(content)
    app = create_app(Settings(database_url=seeded_url, trusted_documents=str(allow_list)))
    with pytest.raises(TrustedDocumentsError, match=message):
        async with LifespanManager(app):
            pass


SUBSCRIBE = 'subscription Live { changes(entityTypes: ["Organization"]) { entityType actor } }'
CREATE = (
    'mutation Create { createOrganization(input: {slug: "listed", name: "Listed", kind: OTHER, '
    + SOURCES_LITERAL
    + "}) { errors { code } } }"
)


async def _subscribe(server: Server, url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The first message after a subscribe with ``payload`` (an error, or the first change)."""
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as websocket:  # type: ignore[list-item]
        await websocket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await websocket.recv())["type"] == "connection_ack"
        await websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        try:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(websocket.recv(), 1.5))
            return message
        except TimeoutError:
            pass
        # Still subscribed: a listed mutation makes a change it must see.
        token = await write_token(url, f"w{id(payload)}")
        async with httpx.AsyncClient(timeout=15) as client:
            created = await client.post(
                server.url,
                json={"extensions": _persisted(CREATE)},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.json()["data"]["createOrganization"]["errors"] == []
        message = json.loads(await asyncio.wait_for(websocket.recv(), 15))
        return message


async def test_trusted_documents_hold_for_websockets_too(fresh_url: str, tmp_path: Path) -> None:
    await migrated_and_seeded(fresh_url)
    allow_list = tmp_path / "persisted-documents.json"
    allow_list.write_text(json.dumps({_sha(document): document for document in (SUBSCRIBE, CREATE)}))
    env = {"VEERKRACHT_TRUSTED_DOCUMENTS": str(allow_list), "VEERKRACHT_CHANGE_POLL_SECONDS": "600"}
    with servers(fresh_url, env=env) as (server,):
        refused = await _subscribe(server, fresh_url, {"query": SUBSCRIBE.replace("actor", "entityId")})
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
        # graphql-transport-ws needs the text in every subscribe message: the list's own text runs.
        listed = await _subscribe(
            server, fresh_url, {"query": SUBSCRIBE, "extensions": _persisted(SUBSCRIBE)}
        )
        assert listed["type"] == "next", listed
        assert listed["payload"]["data"]["changes"]["entityType"] == "Organization"
