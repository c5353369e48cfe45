"""The change log and feed: every committed write, in commit order, no gaps or duplicates, under concurrency."""

from __future__ import annotations

import asyncio

from tests.conftest import Api
from tests.sources import SOURCES_LITERAL
from tests.test_mutations import UPDATE_INITIATIVE

FEED = """query($after: Int, $first: Int) { changes(afterSequence: $after, first: $first) {
    nodes { sequence at operation entityType entityId actor before after }
    pageInfo { hasNextPage endCursor } } }"""


async def _feed(api: Api, after: int = 0, page_size: int = 100) -> list[dict[str, object]]:
    changes: list[dict[str, object]] = []
    while True:
        page = (await api.data(FEED, {"after": after, "first": page_size}))["changes"]
        changes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return changes
        after = int(str(page["nodes"][-1]["sequence"]))


async def test_the_seed_is_in_the_feed_without_gaps(writer: Api) -> None:
    changes = await _feed(writer, page_size=97)
    sequences = [change["sequence"] for change in changes]
    assert sequences == list(range(1, len(sequences) + 1))
    created = {(c["entityType"], c["actor"]) for c in changes}
    assert ("Municipality", "seed") in created
    assert ("Involvement", "seed") in created
    municipalities = [c for c in changes if c["entityType"] == "Municipality"]
    assert len(municipalities) == 71
    zundert = next(c for c in municipalities if c["after"]["code"] == "GM0879")  # type: ignore[index]
    ids = await writer.data('{ municipality(code: "GM0879") { id } }')
    assert zundert["entityId"] == ids["municipality"]["id"], "the feed names objects by their API id"


async def test_update_records_before_and_after(writer: Api) -> None:
    start = len(await _feed(writer))
    read = (await writer.data('{ initiative(slug: "pilot-altena") { id version } }'))["initiative"]
    await writer.data(UPDATE_INITIATIVE, {"input": {**read, "status": "ACTIVE"}})
    (change,) = await _feed(writer, after=start)
    assert (change["operation"], change["entityType"], change["entityId"], change["actor"]) == (
        "UPDATED", "Initiative", read["id"], "editor",
    )  # fmt: skip
    assert change["before"]["status"] == "COMPLETED"  # type: ignore[index]
    assert change["after"]["status"] == "ACTIVE"  # type: ignore[index]
    assert change["after"]["version"] == read["version"] + 1  # type: ignore[index]


async def test_concurrent_writers_get_consecutive_sequences(writer: Api) -> None:
    start = len(await _feed(writer))
    query = f"""mutation($slug: String!) {{ createOrganization(input: {{slug: $slug, name: $slug, kind: OTHER,
        {SOURCES_LITERAL}}}) {{ organization {{ slug }} errors {{ code }} }} }}"""
    results = await asyncio.gather(*(writer.data(query, {"slug": f"org-{n}"}) for n in range(40)))
    assert all(result["createOrganization"]["errors"] == [] for result in results)
    changes = await _feed(writer, after=start)
    assert [c["sequence"] for c in changes] == list(range(start + 1, start + 41))
    assert sorted(c["after"]["slug"] for c in changes) == sorted(f"org-{n}" for n in range(40))  # type: ignore[index]


async def test_concurrent_updates_of_one_version_let_exactly_one_win(writer: Api) -> None:
    read = (await writer.data('{ initiative(slug: "veerkrachtdialoog") { id version } }'))["initiative"]
    results = await asyncio.gather(
        *(writer.data(UPDATE_INITIATIVE, {"input": {**read, "name": f"Dialoog {n}"}}) for n in range(10))
    )
    outcomes = [
        r["updateInitiative"]["errors"][0]["code"] if r["updateInitiative"]["errors"] else "OK"
        for r in results
    ]
    assert outcomes.count("OK") == 1
    assert outcomes.count("CONFLICT") == 9
    after = (await writer.data('{ initiative(slug: "veerkrachtdialoog") { version name } }'))["initiative"]
    assert after["version"] == read["version"] + 1
    winner = next(r for r in results if not r["updateInitiative"]["errors"])
    assert after["name"] == winner["updateInitiative"]["initiative"]["name"]


async def test_feed_arguments_are_checked(writer: Api) -> None:
    (error,) = await writer.errors("{ changes(first: 5000) { nodes { sequence } } }")
    assert error["extensions"]["argument"] == "first"
    (error,) = await writer.errors("{ changes(afterSequence: -1) { nodes { sequence } } }")
    assert error["extensions"]["argument"] == "afterSequence"
