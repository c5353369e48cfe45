"""The facts the API serves are the memo's and the reference data's, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.text import normalise_whitespace
from tests.conftest import Api

MEMO = normalise_whitespace(
    (Path(__file__).parent.parent / "app/data/sources/memo-vsv-gemeenten-2019-04-04.txt").read_text("utf-8")
)

# Who the memo names in each section, in which role (dataset.md's mapping of the memo's words).
EXPECTED_INVOLVEMENTS: dict[str, set[tuple[str, str]]] = {
    "pilot-vitaal-buitengebied-zundert": {
        ("provincie-noord-brabant", "PARTNER"),
        ("GM0879", "PARTNER"),
        ("waterschap-brabantse-delta", "PARTNER"),
        ("dorpsraden-zundert", "PARTNER"),
        ("betrokken-omwonenden-zundert", "PARTNER"),
        ("programma-sociale-veerkracht", "PARTNER"),
    },
    "pilot-energietransitie-smalle-beurs": {
        ("provincie-noord-brabant", "PARTNER"),
        ("enpuls", "PARTNER"),
        ("GM1721", "PARTNER"),
        ("GM0758", "PARTNER"),
        ("GM0796", "PARTNER"),
        ("programma-sociale-veerkracht", "PARTNER"),
        ("pon", "COORDINATOR"),
        ("stichting-zet", "DESIGNER"),
    },
    "pilot-altena": {
        ("provincie-noord-brabant", "PARTNER"),
        ("GM1959", "PARTNER"),
        ("GM0738", "PARTNER"),
        ("GM0870", "PARTNER"),
        ("GM0874", "PARTNER"),
        ("bewoners-altena", "PARTNER"),
        ("programma-sociale-veerkracht", "PARTNER"),
        ("stichting-zet", "PROCESS_FACILITATOR"),
        ("GM1991", "EXPLORING"),
        ("GM1685", "EXPLORING"),
        ("GM0856", "EXPLORING"),
    },
    "proeftuin-sociaal-inkopen": {
        ("provincie-noord-brabant", "PARTNER"),
        ("programma-sociale-veerkracht", "INITIATOR"),
        ("metropoolregio-eindhoven", "PARTICIPANT"),
        ("bizob", "PARTICIPANT"),
        ("GM0796", "PARTICIPANT"),
        ("GM0758", "PARTICIPANT"),
        ("GM0855", "PARTICIPANT"),
        ("GM0826", "PARTICIPANT"),
        ("GM1948", "PARTICIPANT"),
        ("GM0756", "OBSERVER"),
    },
    "veerkrachtdialoog": {
        ("regio-west-brabant", "REQUESTER"),
        ("m7", "REQUESTER"),
        ("pon", "DESIGNER"),
        ("programma-sociale-veerkracht", "INITIATOR"),
        ("GM0794", "HOST"),
        ("GM0855", "HOST"),
        ("GM0796", "HOST"),
    },
    "dementievriendelijk-brabant": {
        ("programma-sociale-veerkracht", "FUNDER"),
        ("stichting-zet", "EXECUTOR"),
    },
    "sterk-brabant": {
        ("programma-sociale-veerkracht", "INITIATOR"),
        ("stichting-zet", "INITIATOR"),
        ("zorgbelang", "INITIATOR"),
    },
    "brabant-outcomes-fund": {
        ("programma-sociale-veerkracht", "INITIATOR"),
        ("GM1724", "PARTNER"),
        ("GM0855", "PARTNER"),
        ("GM0772", "PARTNER"),
        ("GM0796", "PARTNER"),
        ("GM0758", "PARTNER"),
    },
    "overige-uitwisseling": set(),
}

INITIATIVE_FACTS = """
query {
  initiatives(first: 100) {
    totalCount
    nodes {
      slug name kind status crossOverThemes
      reportedFigures { value unit source { quote } }
      unresolvedMentions { name role note sources { quote } }
      sources { quote document { title date } }
      involvements(first: 100) {
        totalCount
        nodes {
          role description
          participant { __typename ... on Municipality { code } ... on Organization { slug } }
          sources { quote document { title } }
        }
      }
    }
  }
}
"""


def _key(participant: dict[str, str]) -> str:
    return participant.get("code") or participant["slug"]


async def test_every_initiative_has_the_memo_participants_and_roles(api: Api) -> None:
    data = await api.data(INITIATIVE_FACTS)
    initiatives = {node["slug"]: node for node in data["initiatives"]["nodes"]}
    assert data["initiatives"]["totalCount"] == 9
    assert list(initiatives) == list(EXPECTED_INVOLVEMENTS), "the nine sections, in memo order"
    for slug, expected in EXPECTED_INVOLVEMENTS.items():
        involvements = initiatives[slug]["involvements"]
        got = {(_key(node["participant"]), node["role"]) for node in involvements["nodes"]}
        assert got == expected, slug
        assert involvements["totalCount"] == len(expected)


async def test_details_themes_and_figures(api: Api) -> None:
    data = await api.data(INITIATIVE_FACTS)
    initiatives = {node["slug"]: node for node in data["initiatives"]["nodes"]}
    assert initiatives["pilot-vitaal-buitengebied-zundert"]["crossOverThemes"] == ["Leegstand", "Water"]
    assert initiatives["pilot-energietransitie-smalle-beurs"]["crossOverThemes"] == ["Energie"]
    assert initiatives["pilot-altena"]["crossOverThemes"] == [
        "Bestuurlijke Vernieuwing",
        "Kwaliteit Openbaar Bestuur",
    ]
    assert initiatives["proeftuin-sociaal-inkopen"]["kind"] == "TEST_BED"
    assert initiatives["sterk-brabant"]["name"] == "Stérk Brabant"
    helmond = [
        node
        for node in initiatives["veerkrachtdialoog"]["involvements"]["nodes"]
        if node["participant"].get("code") == "GM0794"
    ]
    assert [node["description"] for node in helmond] == ["3 wijken"]
    figures = {
        slug: [(figure["value"], figure["unit"]) for figure in node["reportedFigures"]]
        for slug, node in initiatives.items()
    }
    # Dutch first (issue 12): the units are Dutch unless `language: EN` is asked.
    assert figures["dementievriendelijk-brabant"] == [(57, "gemeenten")]
    assert figures["sterk-brabant"] == [(12, "gemeenten")]
    assert figures["brabant-outcomes-fund"] == [(5, "initiatieven")]


async def test_galderen_stays_unresolved_and_visible(api: Api) -> None:
    data = await api.data(INITIATIVE_FACTS)
    dialogue = next(node for node in data["initiatives"]["nodes"] if node["slug"] == "veerkrachtdialoog")
    (mention,) = dialogue["unresolvedMentions"]
    assert mention["name"] == "Galderen"
    assert mention["role"] == "HOST"
    assert "Galderen" in mention["sources"][0]["quote"]
    hits = await api.data('{ municipalities(filter: {nameContains: "Galderen"}) { totalCount } }')
    assert hits["municipalities"]["totalCount"] == 0, "no municipality is made up for it"


async def test_every_memo_citation_is_verbatim_in_the_memo(api: Api) -> None:
    data = await api.data(INITIATIVE_FACTS)
    quotes = []
    for initiative in data["initiatives"]["nodes"]:
        quotes += [(c["document"]["title"], c["quote"]) for c in initiative["sources"]]
        for involvement in initiative["involvements"]["nodes"]:
            assert involvement["sources"], f"{initiative['slug']}: an involvement without a source"
            quotes += [(c["document"]["title"], c["quote"]) for c in involvement["sources"]]
        quotes += [("memo", figure["source"]["quote"]) for figure in initiative["reportedFigures"]]
    assert len(quotes) > 60
    for _title, quote in quotes:
        assert normalise_whitespace(quote) in MEMO, quote


async def test_memo_spelling_stays_in_quotes_official_spelling_in_names(api: Api) -> None:
    data = await api.data(
        """{ a: municipality(code: "GM1948") { name involvements { nodes { sources { quote } } } }
             b: municipality(code: "GM1724") { name involvements { nodes { sources { quote } } } } }"""
    )
    assert data["a"]["name"] == "Meierijstad"
    assert any("Meijerijstad" in c["quote"] for n in data["a"]["involvements"]["nodes"] for c in n["sources"])
    assert data["b"]["name"] == "Bergeijk"
    assert any("Bergeiik" in c["quote"] for n in data["b"]["involvements"]["nodes"] for c in n["sources"])


FUSIONS = """
{ fusions { totalCount nodes {
    name kind effectiveOn
    dissolvedMunicipalities { code } resultingMunicipalities { code }
    sources { quote document { title } } } } }
"""


async def test_fusions_and_their_dates(api: Api) -> None:
    data = await api.data(FUSIONS)
    fusions = {
        (node["effectiveOn"], node["kind"]): (
            sorted(m["code"] for m in node["dissolvedMunicipalities"]),
            sorted(m["code"] for m in node["resultingMunicipalities"]),
        )
        for node in data["fusions"]["nodes"]
    }
    assert data["fusions"]["totalCount"] == 6
    assert fusions[("2015-01-01", "SPLIT")] == (["GM1671"], ["GM0796", "GM0828"])
    assert fusions[("2017-01-01", "MERGER")] == (["GM0844", "GM0846", "GM0860"], ["GM1948"])
    assert fusions[("2019-01-01", "MERGER")] == (["GM0738", "GM0870", "GM0874"], ["GM1959"])
    assert fusions[("2021-01-01", "SPLIT")] == (["GM0788"], ["GM0757", "GM0824", "GM0855", "GM0865"])
    for node in data["fusions"]["nodes"]:
        assert node["sources"], node["name"]
    altena = next(node for node in data["fusions"]["nodes"] if node["name"] == "Altena")
    assert any(c["quote"] in MEMO for c in altena["sources"]), "the memo is cited for Altena"


async def test_2022_mergers(api: Api) -> None:
    data = await api.data(
        """{ maashorst: municipality(code: "GM1991") { name foundedOn formedBy { effectiveOn kind
               dissolvedMunicipalities { code } } }
             lvc: municipality(code: "GM1982") { name predecessors { code } } }"""
    )
    assert data["maashorst"]["foundedOn"] == "2022-01-01"
    assert sorted(m["code"] for m in data["maashorst"]["formedBy"]["dissolvedMunicipalities"]) == [
        "GM0856",
        "GM1685",
    ]
    assert sorted(m["code"] for m in data["lvc"]["predecessors"]) == [
        "GM0756",
        "GM0786",
        "GM0815",
        "GM1684",
        "GM1702",
    ]


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2014-12-31", 67), ("2015-01-01", 66), ("2020-01-01", 62), ("2022-01-01", 56), ("2026-11-29", 56)],
)
async def test_active_on_counts(api: Api, day: str, expected: int) -> None:
    data = await api.data(
        "query($day: Date!) { municipalities(first: 100, filter: {activeOn: $day}) { totalCount nodes { code } } }",
        {"day": day},
    )
    assert data["municipalities"]["totalCount"] == expected
    assert len(data["municipalities"]["nodes"]) == expected


async def test_time_navigation(api: Api) -> None:
    data = await api.data(
        """{
          aalburg: municipality(code: "GM0738") {
            name dissolvedOn on2018: active(on: "2018-12-31") on2019: active(on: "2019-01-01") today: active
            dissolvedBy { name } successors { code } current { code } formedBy { name } }
          haaren: municipality(code: "GM0788") { current { code } }
          tilburg: municipality(code: "GM0855") { predecessors { code } current { code } formedBy { name }
            dissolvedBy { name } }
          altena: municipality(code: "GM1959") { predecessors { code } formedBy { name } }
        }"""
    )
    aalburg = data["aalburg"]
    assert (aalburg["on2018"], aalburg["on2019"], aalburg["today"]) == (True, False, False)
    assert aalburg["dissolvedOn"] == "2019-01-01"
    assert aalburg["dissolvedBy"]["name"] == "Altena"
    assert aalburg["successors"] == [{"code": "GM1959"}]
    assert aalburg["current"] == [{"code": "GM1959"}]
    assert aalburg["formedBy"] is None
    assert sorted(m["code"] for m in data["haaren"]["current"]) == ["GM0757", "GM0824", "GM0855", "GM0865"]
    assert data["tilburg"]["predecessors"] == [{"code": "GM0788"}]
    assert data["tilburg"]["current"] == [{"code": "GM0855"}]
    assert data["tilburg"]["formedBy"] is None, "Tilburg took in part of Haaren; it was not formed by it"
    assert data["tilburg"]["dissolvedBy"] is None
    assert sorted(m["code"] for m in data["altena"]["predecessors"]) == ["GM0738", "GM0870", "GM0874"]


INVOLVEMENTS_OF = """
query($code: String!, $include: Boolean) {
  municipality(code: $code) {
    involvements(includePredecessors: $include) {
      totalCount
      nodes { role initiative { slug } participant { ... on Municipality { code } } }
    }
  }
}
"""


async def test_involvements_found_after_the_2019_fusion(api: Api) -> None:
    own = await api.data(INVOLVEMENTS_OF, {"code": "GM1959", "include": False})
    with_predecessors = await api.data(INVOLVEMENTS_OF, {"code": "GM1959", "include": True})
    own_codes = {n["participant"]["code"] for n in own["municipality"]["involvements"]["nodes"]}
    all_codes = {n["participant"]["code"] for n in with_predecessors["municipality"]["involvements"]["nodes"]}
    assert own_codes == {"GM1959"}
    assert all_codes == {"GM1959", "GM0738", "GM0870", "GM0874"}
    assert with_predecessors["municipality"]["involvements"]["totalCount"] == 4


async def test_involvements_found_after_the_2022_fusion(api: Api) -> None:
    data = await api.data(INVOLVEMENTS_OF, {"code": "GM1991", "include": True})
    nodes = data["municipality"]["involvements"]["nodes"]
    assert {(n["participant"]["code"], n["role"]) for n in nodes} == {
        ("GM1991", "EXPLORING"),
        ("GM1685", "EXPLORING"),
        ("GM0856", "EXPLORING"),
    }


async def test_involvements_of_a_dissolved_municipality_follow_to_every_successor(api: Api) -> None:
    """Boxmeer (observer in the proeftuin) is part of Land van Cuijk since 2022."""
    data = await api.data(INVOLVEMENTS_OF, {"code": "GM1982", "include": True})
    nodes = data["municipality"]["involvements"]["nodes"]
    assert [(n["participant"]["code"], n["role"], n["initiative"]["slug"]) for n in nodes] == [
        ("GM0756", "OBSERVER", "proeftuin-sociaal-inkopen")
    ]


async def test_regions_and_members(api: Api) -> None:
    data = await api.data(
        """{ organizations(kind: REGIONAL_PARTNERSHIP) { totalCount nodes { slug name description
               members { name } membersSources { quote } sources { quote } } } }"""
    )
    regions = {node["slug"]: node for node in data["organizations"]["nodes"]}
    assert set(regions) == {"b5", "regio-west-brabant", "metropoolregio-eindhoven", "m7"}
    for region in regions.values():
        assert region["sources"], region["slug"]
        if region["members"]:
            assert region["membersSources"], f"{region['slug']}: members without a source"
        else:
            assert region["description"], f"{region['slug']}: no members and no word on why"
