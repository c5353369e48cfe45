"""A worked integration: keep a local copy of the Veerkracht data in sync, as an impact monitor would.

1. Note where the change log stands, then pull everything once (paging through every connection).
2. Catch up on the change feed from that point (changes made while pulling are applied again: harmless).
3. Follow the live subscription from the last sequence applied; after a disconnect, start again at 2
   with the saved sequence, so nothing is missed.

    pip install 'gql[httpx,websockets]'
    python examples/impact_monitor_sync.py --url http://127.0.0.1:8000/graphql --state sync-state.json

Prints one JSON line per event. Reads need no token unless the service requires one (--token).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

PAGE = 100
LISTS = {
    "municipalities": "code name foundedOn dissolvedOn",
    "organizations": "slug name kind website",
    "initiatives": "slug name kind status summary crossOverThemes version",
    "involvements": "role description version initiative { id } participant { id name }",
    "fusions": "name kind effectiveOn dissolvedMunicipalities { id } resultingMunicipalities { id }",
}
FEED = """query Feed($after: Int!, $first: Int!) {
  changes(afterSequence: $after, first: $first) {
    nodes { sequence operation entityType entityId actor after }
    pageInfo { hasNextPage }
  }
}"""
LIVE = """subscription Live($after: Int!) {
  changes(afterSequence: $after) { sequence operation entityType entityId actor after }
}"""


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, ensure_ascii=False), flush=True)


class Replica:
    """The local copy: objects by global id, and the last change applied."""

    def __init__(self, state_file: Path | None) -> None:
        self.state_file = state_file
        self.objects: dict[str, dict[str, Any]] = {}
        self.types: dict[str, str] = {}
        self.last_sequence = 0
        if state_file and state_file.exists():
            saved = json.loads(state_file.read_text("utf-8"))
            self.objects, self.types, self.last_sequence = (
                saved["objects"],
                saved["types"],
                saved["last_sequence"],
            )

    def apply(self, change: dict[str, Any]) -> None:
        if change["sequence"] <= self.last_sequence:
            return  # seen already
        entity = change["entityId"]
        if change["operation"] == "DELETED":
            self.objects.pop(entity, None)
            self.types.pop(entity, None)
        else:
            self.objects[entity] = {**self.objects.get(entity, {}), **(change["after"] or {})}
            self.types[entity] = change["entityType"]
        self.last_sequence = change["sequence"]
        emit(
            "change",
            **{key: change[key] for key in ("sequence", "operation", "entityType", "entityId", "actor")},
        )
        self.save()

    def save(self) -> None:
        if self.state_file:
            state = {"objects": self.objects, "types": self.types, "last_sequence": self.last_sequence}
            self.state_file.write_text(json.dumps(state), "utf-8")


async def pull_everything(client: Client, replica: Replica) -> None:
    async with client as session:
        start = await last_sequence(session)
        counts = {}
        for name, fields in LISTS.items():
            query = f"""query Page($after: String) {{ {name}(first: {PAGE}, after: $after) {{
                nodes {{ id {fields} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
            after, count = None, 0
            while True:
                page = (await session.execute(GraphQLRequest(query, variable_values={"after": after})))[name]
                for node in page["nodes"]:
                    replica.objects[node["id"]] = node
                    replica.types[node["id"]] = name
                count += len(page["nodes"])
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            counts[name] = count
        replica.last_sequence = start
        replica.save()
        emit("snapshot", lastSequence=start, **counts)


async def last_sequence(session: Any) -> int:
    after = 0
    while True:
        feed = (await session.execute(GraphQLRequest(FEED, variable_values={"after": after, "first": 1000})))[
            "changes"
        ]
        if feed["nodes"]:
            after = feed["nodes"][-1]["sequence"]
        if not feed["pageInfo"]["hasNextPage"]:
            return after


async def catch_up(client: Client, replica: Replica) -> None:
    async with client as session:
        while True:
            variables = {"after": replica.last_sequence, "first": 500}
            feed = (await session.execute(GraphQLRequest(FEED, variable_values=variables)))["changes"]
            for change in feed["nodes"]:
                replica.apply(change)
            if not feed["pageInfo"]["hasNextPage"]:
                break
    emit("caught-up", lastSequence=replica.last_sequence)


async def follow(url: str, headers: dict[str, str], replica: Replica, max_changes: int | None) -> None:
    ws_url = url.replace("http://", "ws://").replace("https://", "wss://")
    transport = WebsocketsTransport(
        url=ws_url,
        init_payload=headers,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    seen = 0
    async with Client(transport=transport) as session:
        request = GraphQLRequest(LIVE, variable_values={"after": replica.last_sequence})
        emit("subscribed", afterSequence=replica.last_sequence)
        async for result in session.subscribe(request):
            replica.apply(result["changes"])
            seen += 1
            if max_changes is not None and seen >= max_changes:
                return


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--token", help="API token, if the service requires one for reads")
    parser.add_argument("--state", type=Path, help="file to keep the replica and the last sequence in")
    parser.add_argument("--max-changes", type=int, help="stop after this many live changes")
    parser.add_argument("--timeout", type=float, help="stop after this many seconds")
    arguments = parser.parse_args()

    headers = {"Authorization": f"Bearer {arguments.token}"} if arguments.token else {}
    replica = Replica(arguments.state)
    client = Client(transport=HTTPXAsyncTransport(url=arguments.url, headers=headers, timeout=30))
    if replica.last_sequence == 0:
        await pull_everything(client, replica)
    await catch_up(client, replica)
    try:
        await asyncio.wait_for(
            follow(arguments.url, headers, replica, arguments.max_changes), arguments.timeout
        )
    except TimeoutError:
        emit("timeout", lastSequence=replica.last_sequence)
        return 1
    emit("done", lastSequence=replica.last_sequence, objects=len(replica.objects))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
