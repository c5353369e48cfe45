"""The response cache: repeats are answered without running, and never after a committed write."""

from __future__ import annotations

import json

from tests.conftest import Api, migrated_and_seeded
from tests.test_operations import api_with

QUERY = "query Towns($n: Int) { municipalities(first: $n) { nodes { code name } } }"
RENAME = """mutation($input: UpdateInitiativeInput!) { updateInitiative(input: $input) {
    initiative { name version } errors { code } } }"""
INITIATIVE = '{ initiative(slug: "pilot-altena") { id name version } }'


async def _statements(api: Api, query: str, variables: dict[str, object] | None = None) -> int:
    api.statements.clear()
    response = await api.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=api.headers
    )
    assert response.status_code == 200, response.text
    return len(api.statements)


async def test_a_repeat_costs_one_statement_and_gives_the_same_bytes(seeded_url: str) -> None:
    async with api_with(seeded_url) as api:
        first = await api.client.post("/graphql", json={"query": QUERY, "variables": {"n": 5}})
        ran = len(api.statements)
        api.statements.clear()
        again = await api.client.post("/graphql", json={"query": QUERY, "variables": {"n": 5}})
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        assert len(api.statements) == 1 < ran, api.statements  # the data version, nothing else
        # The same document written differently is the same entry; other variables are not.
        spaced = (
            "# a comment\nquery Towns($n: Int) {\n  municipalities(first: $n) { nodes { code, name } }\n}"
        )
        assert await _statements(api, spaced, {"n": 5}) == 1
        assert await _statements(api, QUERY, {"n": 6}) > 1
        # A token's answers are kept apart from anonymous ones (and cost a token check as well).
        api.token = await api.make_token("reader", "read")
        assert await _statements(api, QUERY, {"n": 5}) > 2
        assert len([s for s in api.statements if "api_token" in s]) == 1, "the token is checked once"
        assert await _statements(api, QUERY, {"n": 5}) == 2


async def test_a_committed_write_is_seen_at_once_by_every_instance(fresh_url: str) -> None:
    await migrated_and_seeded(fresh_url)
    async with api_with(fresh_url) as one, api_with(fresh_url) as two:
        before = (await two.data(INITIATIVE))["initiative"]
        assert (await two.data(INITIATIVE))["initiative"] == before  # now cached on `two`
        one.token = await one.make_token("editor", "write")
        renamed = await one.data(
            RENAME,
            {"input": {"id": before["id"], "version": before["version"], "name": "Pilot Altena (renamed)"}},
        )
        assert renamed["updateInitiative"]["errors"] == []
        after = (await two.data(INITIATIVE))["initiative"]
        assert after["name"] == "Pilot Altena (renamed)"
        assert after["version"] == before["version"] + 1


async def test_get_answers_carry_an_etag_and_if_none_match_gets_304(fresh_url: str) -> None:
    await migrated_and_seeded(fresh_url)
    async with api_with(fresh_url) as api:
        params = {"query": INITIATIVE}
        first = await api.client.get("/graphql", params=params, headers={"Accept": "application/json"})
        assert first.status_code == 200
        etag = first.headers["etag"]
        api.statements.clear()
        unchanged = await api.client.get("/graphql", params=params, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == etag
        assert len(api.statements) == 1
        # POST answers are cached too, but carry no ETag (304 is for GET).
        post = await api.client.post("/graphql", json=params)
        assert "etag" not in post.headers
        initiative = json.loads(first.content)["data"]["initiative"]
        api.token = await api.make_token("editor", "write")
        await api.data(
            RENAME, {"input": {"id": initiative["id"], "version": initiative["version"], "name": "X"}}
        )
        api.token = None
        changed = await api.client.get("/graphql", params=params, headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert json.loads(changed.content)["data"]["initiative"]["name"] == "X"


async def test_mutations_and_errors_are_never_cached(fresh_url: str) -> None:
    await migrated_and_seeded(fresh_url)
    async with api_with(fresh_url) as api:
        bad = '{ municipality(code: "XX") { name } }'
        assert await _statements(api, bad) >= 1
        errors = await api.errors(bad)
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        api.statements.clear()
        await api.errors(bad)
        assert len(api.statements) >= 1  # the version read; the error is produced again, not replayed
        api.token = await api.make_token("editor", "write")
        initiative = (await api.data(INITIATIVE))["initiative"]
        mutation = {"input": {"id": initiative["id"], "version": initiative["version"], "name": "Y"}}
        assert (await api.data(RENAME, mutation))["updateInitiative"]["errors"] == []
        again = (await api.data(RENAME, mutation))["updateInitiative"]
        assert again["errors"] == [{"code": "CONFLICT"}], "the same mutation ran again, not replayed"


async def test_a_cached_answer_is_still_charged_to_the_rate_limit(seeded_url: str) -> None:
    async with api_with(seeded_url, anonymous_rate_limit_per_minute=10) as api:
        variables = {"n": 3}  # costs 4
        assert (
            await api.client.post("/graphql", json={"query": QUERY, "variables": variables})
        ).status_code == 200
        assert (
            await api.client.post("/graphql", json={"query": QUERY, "variables": variables})
        ).status_code == 200
        refused = await api.client.post("/graphql", json={"query": QUERY, "variables": variables})
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_the_cache_can_be_switched_off(seeded_url: str) -> None:
    async with api_with(seeded_url, response_cache=False) as api:
        ran = await _statements(api, QUERY, {"n": 5})
        assert await _statements(api, QUERY, {"n": 5}) == ran
