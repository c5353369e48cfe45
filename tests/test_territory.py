"""Who takes part on a day, across fusions and splits (issue 12, item 4): every reorganisation of the
dataset by name, the day before and the day it took effect, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from app.models import Initiative, Involvement, Municipality
from app.models.enums import PartnerRole
from schema.participants import today
from tests.conftest import Api, _api

PARTICIPATING = """query($slug: String!, $on: Date) { initiative(slug: $slug) {
  participatingMunicipalityCount(on: $on)
  participatingMunicipalities(on: $on) {
    municipality { code name }
    direct throughSplit
    via { role participant { ... on Municipality { code } } }
    routes { origin { code } throughSplit
      steps { kind effectiveOn partial from { code } to { code } fusion { name } } }
  } } }"""


async def _participating(api: Api, slug: str, on: str | None) -> dict[str, dict[str, Any]]:
    data = await api.data(PARTICIPATING, {"slug": slug, "on": on})
    initiative = data["initiative"]
    found = {item["municipality"]["code"]: item for item in initiative["participatingMunicipalities"]}
    assert len(found) == len(initiative["participatingMunicipalities"]), "a municipality once"
    assert initiative["participatingMunicipalityCount"] == len(found)
    return found


def _via(item: dict[str, Any]) -> list[str]:
    return [involvement["participant"]["code"] for involvement in item["via"]]


# --------------------------------------------------------------------------------- Altena 2019


async def test_altena_2019_before_the_merger_its_three_municipalities(api: Api) -> None:
    found = await _participating(api, "pilot-altena", "2018-12-31")
    assert {"GM0738", "GM0870", "GM0874"} <= set(found)  # Aalburg, Werkendam, Woudrichem
    assert "GM1959" not in found, "Altena did not exist yet; its own involvement counts for no one"
    for code in ("GM0738", "GM0870", "GM0874"):
        assert found[code]["direct"], code
        assert found[code]["routes"] == [{"origin": {"code": code}, "throughSplit": False, "steps": []}]


async def test_altena_2019_after_the_merger_altena_once_via_four(api: Api) -> None:
    found = await _participating(api, "pilot-altena", "2019-01-01")
    assert not {"GM0738", "GM0870", "GM0874"} & set(found)
    altena = found["GM1959"]
    assert sorted(_via(altena)) == ["GM0738", "GM0870", "GM0874", "GM1959"]
    assert altena["direct"]
    assert not altena["throughSplit"]
    aalburg = next(route for route in altena["routes"] if route["origin"]["code"] == "GM0738")
    assert aalburg["steps"] == [
        {
            "kind": "MERGER",
            "effectiveOn": "2019-01-01",
            "partial": False,
            "from": {"code": "GM0738"},
            "to": {"code": "GM1959"},
            "fusion": {"name": "Altena"},
        }
    ]


# ------------------------------------------------------------------------------- Maashorst 2022


async def test_maashorst_2022_before_landerd_and_uden(api: Api) -> None:
    found = await _participating(api, "pilot-altena", "2021-12-31")
    assert set(found) == {"GM1959", "GM1685", "GM0856"}  # Altena, Landerd, Uden
    assert found["GM1685"]["direct"]
    assert found["GM0856"]["direct"]


async def test_maashorst_2022_after_maashorst_once_via_landerd_and_uden(api: Api) -> None:
    found = await _participating(api, "pilot-altena", "2022-01-01")
    assert set(found) == {"GM1959", "GM1991"}
    maashorst = found["GM1991"]
    assert sorted(_via(maashorst)) == ["GM0856", "GM1685", "GM1991"]
    assert {route["origin"]["code"]: len(route["steps"]) for route in maashorst["routes"]} == {
        "GM1991": 0,
        "GM1685": 1,
        "GM0856": 1,
    }
    assert {step["fusion"]["name"] for route in maashorst["routes"] for step in route["steps"]} == {
        "Maashorst"
    }


# -------------------------------------------------------------------------- Land van Cuijk 2022


async def test_land_van_cuijk_2022_before_boxmeer_itself(api: Api) -> None:
    found = await _participating(api, "proeftuin-sociaal-inkopen", "2021-12-31")
    assert found["GM0756"]["direct"]  # Boxmeer, als toehoorder
    assert "GM1982" not in found


async def test_land_van_cuijk_2022_after_via_boxmeer(api: Api) -> None:
    found = await _participating(api, "proeftuin-sociaal-inkopen", "2022-01-01")
    assert "GM0756" not in found
    cuijk = found["GM1982"]
    assert not cuijk["direct"]
    assert not cuijk["throughSplit"]
    assert cuijk["via"] == [{"role": "OBSERVER", "participant": {"code": "GM0756"}}]
    assert cuijk["routes"] == [
        {
            "origin": {"code": "GM0756"},
            "throughSplit": False,
            "steps": [
                {
                    "kind": "MERGER",
                    "effectiveOn": "2022-01-01",
                    "partial": False,
                    "from": {"code": "GM0756"},
                    "to": {"code": "GM1982"},
                    "fusion": {"name": "Land van Cuijk"},
                }
            ],
        }
    ]


# ------------------------------------------------------------------------------ Meierijstad 2017


async def test_meierijstad_2017_before_nobody_through_it(api: Api) -> None:
    found = await _participating(api, "proeftuin-sociaal-inkopen", "2016-12-31")
    # Meierijstad did not exist; Schijndel, Sint-Oedenrode and Veghel never took part themselves.
    assert not {"GM1948", "GM0844", "GM0846", "GM0860"} & set(found)


async def test_meierijstad_2017_after_itself(api: Api) -> None:
    found = await _participating(api, "proeftuin-sociaal-inkopen", "2017-01-01")
    assert found["GM1948"]["direct"]
    assert _via(found["GM1948"]) == ["GM1948"]
    assert not {"GM0844", "GM0846", "GM0860"} & set(found)


# ------------------------------------------------------------------------- splits: Haaren, Maasdonk


async def _involve(api: Api, code: str, slug: str) -> None:
    """Test rows (not data): the municipality in an initiative, so that its split can be followed."""
    async with api.app.state.sessionmaker() as session, session.begin():
        municipality = await session.scalar(select(Municipality).where(Municipality.code == code))
        initiative = await session.scalar(select(Initiative).where(Initiative.slug == slug))
        assert municipality is not None
        assert initiative is not None
        session.add(
            Involvement(
                initiative_id=initiative.id, participant_id=municipality.id, role=PartnerRole.PARTICIPANT
            )
        )


async def test_haaren_split_2021_each_successor_that_received_territory(fresh_api: Api) -> None:
    await _involve(fresh_api, "GM0788", "proeftuin-sociaal-inkopen")  # Haaren, beside Tilburg
    before = await _participating(fresh_api, "proeftuin-sociaal-inkopen", "2020-12-31")
    assert before["GM0788"]["direct"]
    assert not {"GM0757", "GM0824", "GM0865"} & set(before)
    assert _via(before["GM0855"]) == ["GM0855"]
    assert not before["GM0855"]["throughSplit"]

    after = await _participating(fresh_api, "proeftuin-sociaal-inkopen", "2021-01-01")
    assert "GM0788" not in after
    for code in ("GM0757", "GM0824", "GM0865"):  # Boxtel, Oisterwijk, Vught: only through Haaren
        item = after[code]
        assert item["throughSplit"], code
        assert not item["direct"], code
        assert _via(item) == ["GM0788"]
        assert item["routes"][0]["steps"] == [
            {
                "kind": "SPLIT",
                "effectiveOn": "2021-01-01",
                "partial": True,
                "from": {"code": "GM0788"},
                "to": {"code": code},
                "fusion": {"name": "Opheffing Haaren"},
            }
        ]
    tilburg = after["GM0855"]  # itself and part of Haaren: once
    assert tilburg["direct"]
    assert tilburg["throughSplit"]
    assert sorted(_via(tilburg)) == ["GM0788", "GM0855"]


async def test_maasdonk_split_2015_to_s_hertogenbosch_and_oss(fresh_api: Api) -> None:
    await _involve(fresh_api, "GM1671", "proeftuin-sociaal-inkopen")  # Maasdonk, beside 's-Hertogenbosch
    before = await _participating(fresh_api, "proeftuin-sociaal-inkopen", "2014-12-31")
    assert before["GM1671"]["direct"]
    assert "GM0828" not in before
    after = await _participating(fresh_api, "proeftuin-sociaal-inkopen", "2015-01-01")
    assert "GM1671" not in after
    assert _via(after["GM0828"]) == ["GM1671"]
    assert after["GM0828"]["throughSplit"]
    den_bosch = after["GM0796"]
    assert sorted(_via(den_bosch)) == ["GM0796", "GM1671"]
    assert den_bosch["direct"]
    assert [route["throughSplit"] for route in den_bosch["routes"]] == [False, True]


# ------------------------------------------------------------------------- today, filter, counts


async def test_on_defaults_to_today(api: Api) -> None:
    implicit = await api.data(
        '{ initiative(slug: "proeftuin-sociaal-inkopen") { participatingMunicipalities { municipality { code } } } }'
    )
    explicit = await _participating(api, "proeftuin-sociaal-inkopen", today().isoformat())
    codes = [item["municipality"]["code"] for item in implicit["initiative"]["participatingMunicipalities"]]
    assert codes == list(explicit)
    assert "GM1982" in codes
    assert "GM0756" not in codes


FILTERED = """query($on: Date!) { municipalities(first: 100, filter: {participatingOn: $on}) {
  totalCount nodes { code } } }"""
ALL_PARTICIPATING = """query($on: Date!) { initiatives(first: 100) { nodes { slug
  participatingMunicipalityCount(on: $on) participatingMunicipalities(on: $on) { municipality { code } } } } }"""


async def test_filter_participating_on_is_the_union_of_the_initiatives(api: Api) -> None:
    for day in ("2018-12-31", "2019-01-01", "2021-12-31", "2022-01-01", today().isoformat()):
        filtered = (await api.data(FILTERED, {"on": day}))["municipalities"]
        codes = {node["code"] for node in filtered["nodes"]}
        assert filtered["totalCount"] == len(codes)
        initiatives = (await api.data(ALL_PARTICIPATING, {"on": day}))["initiatives"]["nodes"]
        union = {
            item["municipality"]["code"]
            for initiative in initiatives
            for item in initiative["participatingMunicipalities"]
        }
        assert codes == union, day
    today_codes = {
        node["code"] for node in (await api.data(FILTERED, {"on": "2026-12-01"}))["municipalities"]["nodes"]
    }
    assert {"GM1959", "GM1982", "GM1991"} <= today_codes
    assert not {"GM0738", "GM0870", "GM0874", "GM0756", "GM1685", "GM0856"} & today_codes
    involved = await api.data("{ municipalities(first: 100, filter: {involved: true}) { totalCount } }")
    assert involved["municipalities"]["totalCount"] > len(today_codes), "involved: true counts Altena 4x"


async def test_province_count_per_initiative_counts_a_merger_once(api: Api) -> None:
    initiatives = (await api.data(ALL_PARTICIPATING, {"on": "2026-12-01"}))["initiatives"]["nodes"]
    counts = {node["slug"]: node["participatingMunicipalityCount"] for node in initiatives}
    assert counts["pilot-altena"] == 2  # Altena (4 involvements) and Maashorst (3)
    involvements = await api.data(
        '{ initiative(slug: "pilot-altena") { involvements(first: 100) { nodes { participant { __typename } } } } }'
    )
    municipal = [
        node
        for node in involvements["initiative"]["involvements"]["nodes"]
        if node["participant"]["__typename"] == "Municipality"
    ]
    assert len(municipal) == 7


# ------------------------------------------------------------------------------------ statements

DEEP = """query($first: Int!) { initiatives(first: $first) { nodes { slug participatingMunicipalityCount
  participatingMunicipalities { municipality { code } via { role participant { name } }
    routes { origin { code } involvement { role } steps { fusion { name } from { code } to { code } } } } } } }"""


@pytest.fixture(scope="session")
async def uncached(seeded_url: str) -> AsyncIterator[Api]:
    """The resolvers without the response cache, whose hits would hide the statements."""
    async for instance in _api(seeded_url, response_cache=False, compiled_reads=False):
        yield instance


async def test_statements_depend_on_the_shape_not_the_rows(uncached: Api) -> None:
    few = await uncached.count_statements(DEEP, {"first": 3})  # pilot-altena (third) has steps at every level
    many = await uncached.count_statements(DEEP, {"first": 100})
    assert few == many
    # initiatives, their municipalities' involvements, the fusion graph, then the participants and the
    # fusions by level (loaders, each one statement for every initiative of the page)
    assert many == 6, f"{many} statements"
    # the filter: one statement for the page, one for its count
    assert await uncached.count_statements(FILTERED, {"on": "2022-01-01"}) == 2


async def test_a_day_far_back_or_ahead(api: Api) -> None:
    back = await _participating(api, "pilot-altena", "1900-01-01")
    assert set(back) == {"GM0738", "GM0870", "GM0874", "GM1685", "GM0856"}
    assert all(item["direct"] for item in back.values())
    far = await _participating(api, "pilot-altena", "9999-12-31")
    assert set(far) == {"GM1959", "GM1991"}
