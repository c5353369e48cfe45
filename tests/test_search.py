"""search(text:) (issue 12, item 2): Dutch words, stemming, names, snippets; the same on SQLite and
PostgreSQL (every test here runs on both backends through the app over HTTP)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.data.loader import read_dataset
from tests.conftest import Api, _api, migrated_and_seeded
from tests.databases import BACKENDS, DatabaseFactory

SEARCH = """query($text: String!, $first: Int, $after: String) {
  search(text: $text, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { rank field snippet node { __typename
      ... on Initiative { slug } ... on Organization { slug } ... on Municipality { code } } }
  }
}"""


async def _search(api: Api, text: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(SEARCH, {"text": text, **variables})
    result: dict[str, Any] = data["search"]
    return result


def _keys(result: dict[str, Any]) -> list[str]:
    return [node["node"].get("slug") or node["node"].get("code") for node in result["nodes"]]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        # the issue's words: they found nothing while the summaries were English
        ("bewoners", {"veerkrachtdialoog", "pilot-altena", "bewoners-altena"}),
        ("inwoners", {"pilot-vitaal-buitengebied-zundert", "pilot-altena"}),
        ("wijken", {"veerkrachtdialoog"}),
        ("resultaatcontracten", {"brabant-outcomes-fund"}),
        # stemming: the singular finds the plural
        ("wijk", {"veerkrachtdialoog"}),
        ("bewoner", {"veerkrachtdialoog", "pilot-altena", "bewoners-altena"}),
    ],
)
async def test_the_issues_words(api: Api, word: str, expected: set[str]) -> None:
    assert set(_keys(await _search(api, word, first=100))) >= expected


async def test_wijk_finds_3_wijken_with_the_hit_marked(api: Api) -> None:
    result = await _search(api, "wijk", first=100)
    snippets = [node["snippet"] for node in result["nodes"]]
    assert any("<mark>wijken</mark>" in snippet for snippet in snippets), snippets
    first = result["nodes"][0]
    assert first["node"] == {"__typename": "Initiative", "slug": "veerkrachtdialoog"}
    assert "<mark>" in first["snippet"]


async def test_case_accents_and_punctuation_do_not_matter(api: Api) -> None:
    plain = _keys(await _search(api, "sterk brabant", first=100))
    assert plain
    assert _keys(await _search(api, "STÉRK-Brabant!", first=100)) == plain
    assert _keys(await _search(api, "Sterk.Brabant", first=100)) == plain


async def test_organisations_and_municipalities_by_name(api: Api) -> None:
    zet = await _search(api, "Stichting Zet", first=100)
    assert "stichting-zet" in _keys(zet)
    bosch = await _search(api, "Den Bosch")
    assert _keys(bosch)[0] == "GM0796"
    assert bosch["nodes"][0]["field"] == "ALIAS"
    helmond = await _search(api, "helmond")
    assert helmond["nodes"][0]["node"] == {"__typename": "Municipality", "code": "GM0794"}


async def test_every_word_must_occur_and_names_rank_first(api: Api) -> None:
    both = _keys(await _search(api, "pilot altena", first=100))
    assert both[0] == "pilot-altena"
    assert "pilot-vitaal-buitengebied-zundert" not in both  # "pilot" alone is not enough
    assert (await _search(api, "bewoners nergensvoorkomendwoord"))["totalCount"] == 0


async def test_every_initiative_is_found_by_a_dutch_word_from_its_memo_section(api: Api) -> None:
    words = {
        "pilot-vitaal-buitengebied-zundert": "omwonenden",
        "pilot-energietransitie-smalle-beurs": "investeringsruimte",
        "pilot-altena": "fusiegemeente",
        "proeftuin-sociaal-inkopen": "inkopen",
        "veerkrachtdialoog": "spelvorm",
        "dementievriendelijk-brabant": "dementievriendelijke",
        "sterk-brabant": "community",
        "brabant-outcomes-fund": "leerproject",
        "overige-uitwisseling": "publicaties",
    }
    assert set(words) == {i.slug for i in read_dataset().initiatives}
    memo = read_dataset().document_texts["memo-vsv-2019-04-04"]
    for slug, word in words.items():
        assert word in memo, word
        assert slug in _keys(await _search(api, word, first=100)), (slug, word)


async def test_paging_and_ranking(api: Api) -> None:
    everything = await _search(api, "gemeenten", first=100)
    assert everything["totalCount"] > 3
    ranks = [node["rank"] for node in everything["nodes"]]
    assert ranks == sorted(ranks, reverse=True)
    first = await _search(api, "gemeenten", first=2)
    assert first["pageInfo"]["hasNextPage"]
    rest = await _search(api, "gemeenten", first=100, after=first["pageInfo"]["endCursor"])
    assert _keys(first) + _keys(rest) == _keys(everything)


async def test_snippets_are_escaped(api: Api) -> None:
    result = await _search(api, "s-Hertogenbosch", first=100)
    for node in result["nodes"]:
        without_marks = re.sub(r"</?mark>", "", node["snippet"])
        assert "<" not in without_marks


async def test_bad_search_text(api: Api) -> None:
    (error,) = await api.errors('{ search(text: "  ?! ") { totalCount } }')
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "text"


async def test_a_write_is_found_at_once(writer: Api) -> None:
    before = await _search(writer, "zwaluwnesten")
    assert before["totalCount"] == 0
    created = await writer.data(
        """mutation { createInitiative(input: {slug: "zwaluwen", name: "Zwaluwproject", kind: PILOT,
             summary: "Bewoners tellen zwaluwnesten in hun wijk.",
             sources: [{documentId: "U291cmNlRG9jdW1lbnQ6bWVtby12c3YtMjAxOS0wNC0wNA==",
                        quote: "In deze memo geef ik u een aanvullend overzicht"}]}) {
             initiative { slug } errors { message } } }"""
    )
    assert created["createInitiative"]["errors"] == []
    after = await _search(writer, "zwaluwnest")
    assert _keys(after) == ["zwaluwen"]


async def test_sqlite_and_postgresql_give_the_same_answers(databases: DatabaseFactory) -> None:
    """Not only the same expectations: the same bytes, rank and snippet included, for many searches."""
    texts = [
        "bewoners", "inwoners", "wijken", "wijk", "resultaatcontracten", "gemeenten", "Den Bosch", "pilot",
        "STÉRK brabant", "provincie Noord-Brabant", "dementievriendelijke gemeenschappen", "13 juni",
        "samenspel overheden", "Zet", "B5-gemeente", "toehoorder", "energietransitie", "Galderen",
    ]  # fmt: skip
    answers: dict[str, list[str]] = {}
    for backend in BACKENDS:
        url = await databases.create(backend)
        await migrated_and_seeded(url)
        async for api in _api(url):
            answers[backend] = [
                (
                    await api.client.post(
                        "/graphql", json={"query": SEARCH, "variables": {"text": t, "first": 100}}
                    )
                ).text
                for t in texts
            ]
    assert len(answers) == 2
    assert answers["sqlite"] == answers["postgresql"]
    assert sum('"totalCount":0' in answer for answer in answers["sqlite"]) <= 1
