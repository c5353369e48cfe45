"""Every filter of the contract, on both databases."""

from __future__ import annotations

import pytest

from tests.conftest import Api


async def _codes(api: Api, filter_: str) -> set[str]:
    data = await api.data(
        f"{{ municipalities(first: 100, filter: {filter_}) {{ totalCount nodes {{ code }} }} }}"
    )
    codes = {node["code"] for node in data["municipalities"]["nodes"]}
    assert data["municipalities"]["totalCount"] == len(codes)
    return codes


@pytest.mark.parametrize(
    "term", ["sHertogenbosch", "hertogenbosch", "'s-Hertogenbosch", "S-HERTOGENBOSCH", "hertogenbosch "]
)
async def test_name_search_ignores_case_accents_and_punctuation(api: Api, term: str) -> None:
    assert await _codes(api, f'{{nameContains: "{term}"}}') == {"GM0796"}
    data = await api.data("query($n: String!) { municipality(name: $n) { code } }", {"n": term.strip()})
    assert data["municipality"]["code"] == "GM0796"


async def test_search_finds_sterk_brabant_without_its_accent(api: Api) -> None:
    for term in ("Sterk", "stérk", "STERK brabant"):
        data = await api.data(
            "query($s: String!) { initiatives(filter: {search: $s}) { nodes { slug } } }", {"s": term}
        )
        assert [node["slug"] for node in data["initiatives"]["nodes"]] == ["sterk-brabant"], term


async def test_search_needs_every_word(api: Api) -> None:
    data = await api.data('{ initiatives(filter: {search: "pilot altena"}) { nodes { slug } } }')
    assert [node["slug"] for node in data["initiatives"]["nodes"]] == ["pilot-altena"]
    data = await api.data('{ initiatives(filter: {search: "pilot nowhere"}) { totalCount } }')
    assert data["initiatives"]["totalCount"] == 0


async def test_municipality_filters(api: Api) -> None:
    involved = await _codes(api, "{involved: true}")
    assert {"GM0879", "GM1959", "GM0738", "GM1991", "GM0756"} <= involved
    assert "GM1982" not in involved, "Land van Cuijk itself is not named in the memo"
    not_involved = await _codes(api, "{involved: false}")
    assert not involved & not_involved
    assert len(involved | not_involved) == 71
    b5 = await _codes(api, '{regionSlug: "b5"}')
    assert b5 == {"GM0758", "GM0772", "GM0794", "GM0796", "GM0855"}
    assert await _codes(api, '{regionSlug: "b5", involved: true, nameContains: "breda"}') == {"GM0758"}
    assert await _codes(api, '{nameContains: "Aalburg", activeOn: "2019-01-01"}') == set()
    assert await _codes(api, '{nameContains: "Aalburg", activeOn: "2018-12-31"}') == {"GM0738"}


async def _slugs(api: Api, filter_: str) -> list[str]:
    data = await api.data(f"{{ initiatives(filter: {filter_}) {{ totalCount nodes {{ slug }} }} }}")
    slugs = [node["slug"] for node in data["initiatives"]["nodes"]]
    assert data["initiatives"]["totalCount"] == len(slugs)
    return slugs


async def test_initiative_filters(api: Api) -> None:
    assert await _slugs(api, "{kinds: [PILOT]}") == [
        "pilot-vitaal-buitengebied-zundert",
        "pilot-energietransitie-smalle-beurs",
        "pilot-altena",
    ]
    assert await _slugs(api, "{statuses: [COMPLETED]}") == ["pilot-altena"]
    assert await _slugs(api, '{theme: "water"}') == ["pilot-vitaal-buitengebied-zundert"]
    assert await _slugs(api, '{theme: "bestuurlijke vernieuwing"}') == ["pilot-altena"]
    assert await _slugs(api, '{municipalityCode: "GM0855"}') == [
        "proeftuin-sociaal-inkopen",
        "veerkrachtdialoog",
        "brabant-outcomes-fund",
    ]
    assert await _slugs(api, '{municipalityCode: "GM0855", roles: [HOST]}') == ["veerkrachtdialoog"]
    assert await _slugs(api, '{organizationSlug: "pon"}') == [
        "pilot-energietransitie-smalle-beurs",
        "veerkrachtdialoog",
    ]
    assert await _slugs(api, '{organizationSlug: "stichting-zet", roles: [EXECUTOR, INITIATOR]}') == [
        "dementievriendelijk-brabant",
        "sterk-brabant",
    ]
    assert await _slugs(api, "{roles: [OBSERVER]}") == ["proeftuin-sociaal-inkopen"]
    assert await _slugs(api, '{kinds: [PILOT], municipalityCode: "GM0796"}') == [
        "pilot-energietransitie-smalle-beurs"
    ]


async def test_involvement_filters(api: Api) -> None:
    query = """query($f: InvolvementFilter) { involvements(first: 100, filter: $f) {
        totalCount nodes { role initiative { slug } participant { name } } } }"""

    async def rows(filter_: dict[str, object]) -> list[tuple[str, str, str]]:
        data = (await api.data(query, {"f": filter_}))["involvements"]
        assert data["totalCount"] == len(data["nodes"])
        return [(n["initiative"]["slug"], n["participant"]["name"], n["role"]) for n in data["nodes"]]

    assert await rows({"roles": ["OBSERVER"]}) == [("proeftuin-sociaal-inkopen", "Boxmeer", "OBSERVER")]
    assert len(await rows({"initiativeSlug": "veerkrachtdialoog"})) == 7
    assert await rows({"municipalityCode": "GM0794"}) == [("veerkrachtdialoog", "Helmond", "HOST")]
    assert {r[0] for r in await rows({"organizationSlug": "stichting-zet"})} == {
        "pilot-energietransitie-smalle-beurs",
        "pilot-altena",
        "dementievriendelijk-brabant",
        "sterk-brabant",
    }
    assert await rows(
        {"initiativeSlug": "pilot-altena", "roles": ["EXPLORING"], "municipalityCode": "GM1991"}
    ) == [("pilot-altena", "Maashorst", "EXPLORING")]
    nested = await api.data(
        '{ organization(slug: "stichting-zet") { involvements(filter: {roles: [DESIGNER]}) { totalCount } } }'
    )
    assert nested["organization"]["involvements"]["totalCount"] == 1


async def test_organizations_by_kind(api: Api) -> None:
    data = await api.data("{ organizations(kind: PROVINCE) { nodes { slug website } } }")
    assert data["organizations"]["nodes"] == [{"slug": "provincie-noord-brabant", "website": None}]
    data = await api.data('{ organization(slug: "enpuls") { name kind website sources { quote } } }')
    assert data["organization"]["website"] == "https://www.enpuls.nl/"
    assert data["organization"]["kind"] == "COMPANY"
