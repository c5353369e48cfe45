"""The change feed in the API's terms: global ids, natural keys, GraphQL names; `head`; the migration's backfill."""

from __future__ import annotations

import asyncio
import json
import re
from base64 import b64decode
from typing import Any

from sqlalchemy import text
from websockets.asyncio.client import connect

from app.db import create_engine
from app.migrate import upgrade
from tests.conftest import Api, _api
from tests.servers import servers
from tests.sources import SOURCES, SOURCES_LITERAL
from tests.test_mutations import ADD_INVOLVEMENT, UPDATE_INITIATIVE, gid
from tests.test_subscriptions import CREATE, _graphql, _prepare

ENTRY = "sequence operation entityType entityId naturalKey actor beforeValues afterValues"
FEED = f"""query($after: Int, $first: Int) {{ changes(afterSequence: $after, first: $first) {{
    head nodes {{ {ENTRY} }} pageInfo {{ hasNextPage }} }} }}"""
NODES = """query($ids: [ID!]!) { nodes(ids: $ids) {
    id ... on Initiative { slug } ... on Municipality { code } ... on Organization { slug }
    ... on SourceDocument { title } ... on Involvement { role } ... on Fusion { name } } }"""
GRAPHQL_NAME = re.compile(r"[a-z][A-Za-z0-9]*")


async def _all(api: Api, after: int = 0) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    while True:
        page = (await api.data(FEED, {"after": after, "first": 1000}))["changes"]
        entries += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return entries
        after = entries[-1]["sequence"]


async def test_every_entry_of_the_seed_is_in_the_api_s_terms(writer: Api) -> None:
    entries = await _all(writer)
    assert entries
    ids: set[str] = set()
    for entry in entries:
        values = entry["afterValues"]
        assert entry["beforeValues"] is None
        assert values is not None
        assert all(GRAPHQL_NAME.fullmatch(name) for name in values), values
        assert values["id"] == entry["entityId"]
        type_name, key = b64decode(entry["entityId"]).decode().split(":", 1)
        assert type_name == entry["entityType"]
        natural = {"Municipality": "code", "Organization": "slug", "Initiative": "slug"}.get(type_name)
        if natural:
            assert entry["naturalKey"] == key == values[natural]
        elif type_name == "SourceDocument":
            assert entry["naturalKey"] == key
        else:
            assert entry["naturalKey"] is None
        ids.add(entry["entityId"])
        if type_name == "Involvement":
            ids |= {values["initiative"], values["participant"]}
    # Every id in the feed, the objects' own and their references, is one `node` resolves, as it is now.
    listed = sorted(ids)
    for start in range(0, len(listed), 100):
        found = (await writer.data(NODES, {"ids": listed[start : start + 100]}))["nodes"]
        assert [node and node["id"] for node in found] == listed[start : start + 100]


async def test_a_write_is_logged_with_global_ids_enum_values_and_iso_moments(writer: Api) -> None:
    start = (await writer.data(FEED, {"after": 0, "first": 0}))["changes"]["head"]
    new = {"initiativeId": gid("Initiative", "veerkrachtdialoog"), "participantId": gid("Municipality", "GM0794"),
           "role": "PARTNER", "description": "evaluatie", "sources": SOURCES}  # fmt: skip
    involvement = (await writer.data(ADD_INVOLVEMENT, {"input": new}))["addInvolvement"]["involvement"]
    read = (await writer.data('{ initiative(slug: "pilot-altena") { id version } }'))["initiative"]
    await writer.data(UPDATE_INITIATIVE, {"input": {**read, "status": "ACTIVE"}})

    added, updated = await _all(writer, after=start)
    assert (added["operation"], added["entityType"], added["entityId"], added["naturalKey"]) == (
        "CREATED", "Involvement", involvement["id"], None,
    )  # fmt: skip
    values = added["afterValues"]
    assert values["initiative"] == new["initiativeId"]
    assert values["participant"] == new["participantId"]
    assert (values["role"], values["description"], values["version"]) == ("PARTNER", "evaluatie", 1)
    assert "initiative_id" not in values
    assert "participantId" not in values
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", values["updatedAt"])

    assert (updated["operation"], updated["entityId"], updated["naturalKey"]) == (
        "UPDATED", read["id"], "pilot-altena",
    )  # fmt: skip
    assert (updated["beforeValues"]["status"], updated["afterValues"]["status"]) == ("COMPLETED", "ACTIVE")
    assert updated["afterValues"]["version"] == read["version"] + 1
    now = (await writer.data("query($id: ID!) { node(id: $id) { ... on Initiative { status version } } }",
                             {"id": updated["entityId"]}))["node"]  # fmt: skip
    assert now == {"status": "ACTIVE", "version": updated["afterValues"]["version"]}


async def test_head_is_where_a_new_integration_starts_and_any_sequence_resumes(writer: Api) -> None:
    entries = await _all(writer)
    page = (await writer.data(FEED, {"after": 0, "first": 1}))["changes"]
    assert page["head"] == entries[-1]["sequence"] == len(entries)
    at_head = (await writer.data(FEED, {"after": page["head"], "first": 10}))["changes"]
    assert (at_head["nodes"], at_head["head"], at_head["pageInfo"]["hasNextPage"]) == (
        [],
        page["head"],
        False,
    )
    middle = (await writer.data(FEED, {"after": 17, "first": 3}))["changes"]["nodes"]
    assert [entry["sequence"] for entry in middle] == [18, 19, 20]
    assert middle == entries[17:20]
    query = f'mutation {{ createOrganization(input: {{slug: "nieuw", name: "Nieuw", kind: OTHER, {SOURCES_LITERAL}}}) {{ errors {{ code }} }} }}'
    await writer.data(query)
    after = (await writer.data(FEED, {"after": page["head"], "first": 10}))["changes"]
    assert after["head"] == page["head"] + 1
    assert [(e["entityType"], e["naturalKey"]) for e in after["nodes"]] == [("Organization", "nieuw")]


async def test_an_empty_log_has_head_zero(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    async for api in _api(fresh_url):
        assert (await api.data("{ changes { head nodes { sequence } } }"))["changes"] == {
            "head": 0,
            "nodes": [],
        }


async def test_the_migration_restates_entries_logged_before_it(fresh_url: str) -> None:
    """Entries logged before migration 0008 get the new values too, references resolved through the log
    even where the object referred to has been deleted since."""
    engine = create_engine(fresh_url)
    try:
        await upgrade(engine, "0004")
        async with engine.begin() as connection:
            rows = [
                (1, "CREATED", "Initiative", gid("Initiative", "weg"), None,
                 '{"id": 7, "slug": "weg", "name": "Weg", "kind": "PILOT", "status": "ACTIVE", "summary": "s", "version": 1}'),
                (2, "CREATED", "Involvement", gid("Involvement", 3), None,
                 '{"id": 3, "initiative_id": 7, "participant_id": 99, "role": "HOST", "description": null}'),
                (3, "DELETED", "Initiative", gid("Initiative", "weg"),
                 '{"id": 7, "slug": "weg", "name": "Weg", "kind": "PILOT", "status": "ACTIVE", "summary": "s", "version": 1}', None),
            ]  # fmt: skip
            for sequence, operation, entity_type, entity_id, before, after in rows:
                await connection.execute(
                    text(
                        "INSERT INTO change_log (sequence, at, operation, entity_type, entity_id, actor, before, after) "
                        "VALUES (:s, CURRENT_TIMESTAMP, :o, :t, :i, 'seed', :b, :a)"
                    ),
                    {
                        "s": sequence,
                        "o": operation,
                        "t": entity_type,
                        "i": entity_id,
                        "b": before,
                        "a": after,
                    },
                )
        await upgrade(engine)
        async with engine.connect() as connection:
            restated = (
                await connection.execute(
                    text("SELECT natural_key, before_values, after_values FROM change_log ORDER BY sequence")
                )
            ).all()
    finally:
        await engine.dispose()

    def parsed(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    (key_1, before_1, after_1), (_key_2, _before_2, after_2), (key_3, before_3, after_3) = [
        (key, parsed(before), parsed(after)) for key, before, after in restated
    ]
    assert (key_1, before_1, after_1["id"], after_1["slug"]) == ("weg", None, gid("Initiative", "weg"), "weg")
    assert after_2 == {"id": gid("Involvement", 3), "initiative": gid("Initiative", "weg"),
                       "participant": None, "role": "HOST", "description": None}  # fmt: skip
    assert (key_3, before_3["name"], after_3) == ("weg", "Weg", None)


async def test_the_subscription_gives_the_same_entries_as_the_query(backend: str, fresh_url: str) -> None:
    token = await _prepare(fresh_url)
    live = f"subscription($after: Int) {{ changes(afterSequence: $after) {{ {ENTRY} }} }}"
    with servers(fresh_url, 1) as (server,):
        head = (await _graphql(server, FEED, {"after": 0, "first": 0}))["changes"]["head"]
        await _graphql(server, CREATE, {"slug": "live-a"}, token)
        async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as websocket:  # type: ignore[list-item]
            await websocket.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await websocket.recv())["type"] == "connection_ack"
            subscribe = {"query": live, "variables": {"after": head - 1}}
            await websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
            streamed = []
            for _ in range(2):  # the last seeded change and live-a, from the log; then one live
                streamed.append(json.loads(await asyncio.wait_for(websocket.recv(), 15)))
            await _graphql(server, CREATE, {"slug": "live-b"}, token)
            streamed.append(json.loads(await asyncio.wait_for(websocket.recv(), 15)))
        queried = (await _graphql(server, FEED, {"after": head - 1, "first": 10}))["changes"]["nodes"]
    entries = [message["payload"]["data"]["changes"] for message in streamed]
    assert entries == queried
    assert [entry["naturalKey"] for entry in entries[1:]] == ["live-a", "live-b"]
