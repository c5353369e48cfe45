"""Relay: global ids round-trip through node/nodes; cursor paging visits every item exactly once."""

from __future__ import annotations

import pytest

from tests.conftest import Api

IDS = """{
  municipalities(first: 3) { nodes { id __typename } }
  organizations(first: 3) { nodes { id __typename } }
  initiatives(first: 3) { nodes { id __typename sources { document { id __typename } } } }
  involvements(first: 3) { nodes { id __typename } }
  fusions(first: 3) { nodes { id __typename } }
}"""


async def test_node_round_trips_for_every_type(api: Api) -> None:
    data = await api.data(IDS)
    objects = [node for connection in data.values() for node in connection["nodes"]]
    objects.append(data["initiatives"]["nodes"][0]["sources"][0]["document"])
    assert {o["__typename"] for o in objects} == {
        "Municipality",
        "Organization",
        "Initiative",
        "Involvement",
        "Fusion",
        "SourceDocument",
    }
    for obj in objects:
        result = await api.data("query($id: ID!) { node(id: $id) { id __typename } }", {"id": obj["id"]})
        assert result["node"] == {"id": obj["id"], "__typename": obj["__typename"]}
    ids = [obj["id"] for obj in objects]
    result = await api.data("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"id": None, "ids": ids})
    assert [node["id"] for node in result["nodes"]] == ids


async def test_global_ids_are_opaque(api: Api) -> None:
    data = await api.data('{ municipality(code: "GM0879") { id code } }')
    assert "GM0879" not in data["municipality"]["id"]


async def test_node_of_a_well_formed_unknown_id_is_null(api: Api) -> None:
    altena = await api.data('{ municipality(code: "GM1959") { id } }')
    unknown = altena["municipality"]["id"][:-4] + "AAAA"
    data = await api.post("query($id: ID!) { node(id: $id) { id } }", {"id": unknown})
    assert data.get("data", {}).get("node") is None


@pytest.mark.parametrize(
    ("connection", "key", "page_size"),
    [
        ("municipalities", "code", 7),
        ("involvements", "id", 10),
        ("organizations", "slug", 4),
        ("fusions", "id", 1),
    ],
)
async def test_paging_visits_every_item_once(api: Api, connection: str, key: str, page_size: int) -> None:
    query = f"""query($first: Int!, $after: String) {{
      {connection}(first: $first, after: $after) {{
        totalCount
        edges {{ cursor node {{ {key} }} }}
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      }}
    }}"""
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await api.data(query, {"first": page_size, "after": after}))[connection]
        pages += 1
        seen += [edge["node"][key] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if page["edges"]:
            assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    total = page["totalCount"]
    everything = (await api.data(f"{{ {connection}(first: 100) {{ nodes {{ {key} }} }} }}"))[connection][
        "nodes"
    ]
    assert len(seen) == len(set(seen)) == total
    assert seen == [node[key] for node in everything]
    assert pages == -(-total // page_size)


async def test_nested_paging_with_predecessors(api: Api) -> None:
    """Pages over a municipality and its predecessors merged together stay exact too."""
    query = """query($after: String) { municipality(code: "GM1959") {
        involvements(first: 1, after: $after, includePredecessors: true) {
          totalCount nodes { id } pageInfo { hasNextPage endCursor } } } }"""
    seen, after = [], None
    while True:
        page = (await api.data(query, {"after": after}))["municipality"]["involvements"]
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] == 4


async def test_cursors_stay_correct_under_concurrent_inserts(fresh_api: Api) -> None:
    """Keyset cursors: rows inserted while a client pages are neither skipped nor make others repeat."""
    from app.models import Organization
    from app.models.enums import OrganizationKind

    query = """query($after: String) { organizations(first: 5, after: $after) {
        nodes { slug } pageInfo { hasNextPage endCursor } } }"""
    first_page = (await fresh_api.data(query))["organizations"]
    before = (await fresh_api.data("{ organizations(first: 100) { nodes { slug } } }"))["organizations"][
        "nodes"
    ]
    async with fresh_api.app.state.sessionmaker() as session, session.begin():
        for number in range(3):
            session.add(
                Organization(
                    slug=f"new-{number}",
                    name=f"New {number}",
                    name_folded=f"new{number}",
                    kind=OrganizationKind.OTHER,
                )
            )
    seen = [node["slug"] for node in first_page["nodes"]]
    after = first_page["pageInfo"]["endCursor"]
    while after:
        page = (await fresh_api.data(query, {"after": after}))["organizations"]
        seen += [node["slug"] for node in page["nodes"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == [node["slug"] for node in before] + ["new-0", "new-1", "new-2"]
