"""A worked integration: keep a local copy of the Veerkracht data in sync, as an impact monitor would.

1. First start: note where the change feed stands (`changes { head }`), then pull everything once (paging
   through every connection). Nothing before `head` needs reading: the pull already holds it.
2. Catch up on the feed after the last sequence applied (at first start: changes made while pulling; they
   are applied again, which is harmless). Each change names its object by global id: the example fetches
   the object as it is now with `nodes(ids:)` (one request per page of changes) and stores that.
3. Follow the live subscription from the last sequence applied, fetching each changed object with
   `node(id:)`; after a disconnect, start again at 2 with the saved sequence, so nothing is missed.

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
    "municipalities": "Municipality",
    "organizations": "Organization",
    "initiatives": "Initiative",
    "involvements": "Involvement",
    "fusions": "Fusion",
}
FIELDS = {
    "Municipality": "code name foundedOn dissolvedOn",
    "Organization": "slug name kind website",
    "Initiative": "slug name kind status summary crossOverThemes version",
    "Involvement": "role description version initiative { id } participant { id name }",
    "Fusion": "name kind effectiveOn dissolvedMunicipalities { id } resultingMunicipalities { id }",
    "SourceDocument": "title date issuer url",
}
# One selection for an object of any type. Fields of one name must have one type across the fragments
# (GraphQL's validation), and each type's `kind` is its own enum: those are aliased, then renamed back.
KIND_ALIASES = {f"{name[0].lower()}{name[1:]}Kind": name for name in ("Organization", "Initiative", "Fusion")}
OBJECT = "__typename id " + " ".join(
    f"... on {name} {{ {fields.replace('kind', f'{name[0].lower()}{name[1:]}Kind: kind')} }}"
    for name, fields in FIELDS.items()
)
HEAD = "{ changes(first: 0) { head } }"
ENTRY = "sequence operation entityType entityId naturalKey actor"
FEED = f"""query Feed($after: Int!, $first: Int!) {{
  changes(afterSequence: $after, first: $first) {{ nodes {{ {ENTRY} }} pageInfo {{ hasNextPage }} }}
}}"""
NODES = f"query Nodes($ids: [ID!]!) {{ nodes(ids: $ids) {{ {OBJECT} }} }}"
NODE = f"query Node($id: ID!) {{ node(id: $id) {{ {OBJECT} }} }}"
LIVE = f"subscription Live($after: Int!) {{ changes(afterSequence: $after) {{ {ENTRY} }} }}"


def as_listed(node: dict[str, Any] | None) -> dict[str, Any] | None:
    """An object from ``node``/``nodes`` with the names the lists use (``kind`` unaliased)."""
    if node is None:
        return None
    return {("kind" if name in KIND_ALIASES else name): value for name, value in node.items()}


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, ensure_ascii=False), flush=True)


class Replica:
    """The local copy: objects by global id (as `node` returns them), and the last change applied."""

    def __init__(self, state_file: Path | None) -> None:
        self.state_file = state_file
        self.objects: dict[str, dict[str, Any]] = {}
        self.last_sequence = 0
        if state_file and state_file.exists():
            saved = json.loads(state_file.read_text("utf-8"))
            self.objects, self.last_sequence = saved["objects"], saved["last_sequence"]

    def apply(self, change: dict[str, Any], now: dict[str, Any] | None) -> None:
        """Apply one change; ``now`` is its object as the API returns it today (None: gone since)."""
        if change["sequence"] <= self.last_sequence:
            return  # seen already
        entity = change["entityId"]
        if change["operation"] == "DELETED" or now is None:
            # Deleted, or deleted after this change: a later change of the feed says so too.
            self.objects.pop(entity, None)
        else:
            self.objects[entity] = now
        self.last_sequence = change["sequence"]
        emit("change", **{key: change[key] for key in ENTRY.split()})
        self.save()

    def save(self) -> None:
        if self.state_file:
            state = {"objects": self.objects, "last_sequence": self.last_sequence}
            self.state_file.write_text(json.dumps(state), "utf-8")


async def pull_everything(client: Client, replica: Replica) -> None:
    async with client as session:
        # Where the feed stands before the pull: changes after it are caught up on afterwards.
        head = (await session.execute(GraphQLRequest(HEAD)))["changes"]["head"]
        counts = {}
        for name, type_name in LISTS.items():
            query = f"""query Page($after: String) {{ {name}(first: {PAGE}, after: $after) {{
                nodes {{ __typename id {FIELDS[type_name]} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
            after, count = None, 0
            while True:
                page = (await session.execute(GraphQLRequest(query, variable_values={"after": after})))[name]
                for node in page["nodes"]:
                    replica.objects[node["id"]] = node
                count += len(page["nodes"])
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            counts[name] = count
        replica.last_sequence = head
        replica.save()
        emit("snapshot", lastSequence=head, **counts)


async def catch_up(client: Client, replica: Replica) -> None:
    async with client as session:
        while True:
            variables = {"after": replica.last_sequence, "first": PAGE}
            feed = (await session.execute(GraphQLRequest(FEED, variable_values=variables)))["changes"]
            changes = feed["nodes"]
            ids = sorted({c["entityId"] for c in changes if c["operation"] != "DELETED"})
            found = (
                (await session.execute(GraphQLRequest(NODES, variable_values={"ids": ids})))["nodes"]
                if ids
                else []
            )
            now = dict(zip(ids, map(as_listed, found), strict=True))
            for change in changes:
                replica.apply(change, now.get(change["entityId"]))
            if not feed["pageInfo"]["hasNextPage"]:
                break
    emit("caught-up", lastSequence=replica.last_sequence)


async def follow(
    client: Client, url: str, headers: dict[str, str], replica: Replica, max_changes: int | None
) -> None:
    ws_url = url.replace("http://", "ws://").replace("https://", "wss://")
    transport = WebsocketsTransport(
        url=ws_url,
        init_payload=headers,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    seen = 0
    async with Client(transport=transport) as live, client as session:
        request = GraphQLRequest(LIVE, variable_values={"after": replica.last_sequence})
        emit("subscribed", afterSequence=replica.last_sequence)
        async for result in live.subscribe(request):
            change = result["changes"]
            now = None
            if change["operation"] != "DELETED":
                variables = {"id": change["entityId"]}
                now = as_listed(
                    (await session.execute(GraphQLRequest(NODE, variable_values=variables)))["node"]
                )
            replica.apply(change, now)
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
            follow(client, arguments.url, headers, replica, arguments.max_changes), arguments.timeout
        )
    except TimeoutError:
        emit("timeout", lastSequence=replica.last_sequence)
        return 1
    emit("done", lastSequence=replica.last_sequence, objects=len(replica.objects))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
