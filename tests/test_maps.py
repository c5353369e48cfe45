"""Boundaries: in the dataset (checked at load), in GraphQL (`Municipality.boundary`) and over HTTP as GeoJSON
(`/geo/municipalities.geojson`), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import LinearRing, shape
from shapely.validation import explain_validity

from app.data.loader import DATA_DIR, DatasetError, read_dataset
from app.web.geo import PATH
from schema.participants import today
from tests.conftest import Api, _api, migrated_and_seeded

DATASET = read_dataset()
MUNICIPALITIES = {m.code: m for m in DATASET.municipalities}
FIRST_MAP = dt.date(2015, 1, 1)


def _existed(code: str, day: dt.date) -> bool:
    m = MUNICIPALITIES[code]
    return (m.founded_on is None or m.founded_on <= day) and (m.dissolved_on is None or day < m.dissolved_on)


def _dates_of_the_dataset() -> list[dt.date]:
    """Every day on which the map changed, the day before each, a day inside each map year, and today."""
    changes = {f.effective_on for f in DATASET.fusions} | {FIRST_MAP}
    days = {day for change in changes for day in (change, change - dt.timedelta(days=1))}
    days |= {dt.date(year, 6, 1) for year in range(2015, today().year + 1)} | {today()}
    return sorted(day for day in days if day >= FIRST_MAP)


DATES = _dates_of_the_dataset()


# ------------------------------------------------------------------------------------------ the dataset


def test_every_municipality_has_a_boundary_for_every_day_it_existed() -> None:
    assert DATASET.boundaries is not None
    by_code: dict[str, list[Any]] = {}
    for entry in DATASET.boundaries:
        by_code.setdefault(entry.code, []).append(entry)
    assert set(by_code) <= set(MUNICIPALITIES)
    for day in DATES:
        for code in MUNICIPALITIES:
            held = [
                b
                for b in by_code.get(code, [])
                if b.valid_from <= day and (b.valid_until is None or day < b.valid_until)
            ]
            assert len(held) == (1 if _existed(code, day) else 0), (code, day, held)
    # Maasdonk ended the day before the first map: no shape. Aalburg's last one is 2017's map.
    assert "GM1671" not in by_code
    assert [(b.valid_from, b.valid_until) for b in by_code["GM0738"]] == [
        (dt.date(2015, 1, 1), dt.date(2017, 1, 1)),
        (dt.date(2017, 1, 1), dt.date(2019, 1, 1)),
    ]
    tilburg = by_code["GM0855"][0]
    assert tilburg.document == "cartomap-nl-gemeente-2015"
    assert '"statcode":"GM0855"' in tilburg.quote
    assert '"statnaam":"Tilburg"' in tilburg.quote


CARTOMAP = Path(__file__).parent.parent.parent / "shared" / "geo" / "cartomap-nl"


def test_the_bundled_boundaries_are_what_the_script_makes_of_the_source(tmp_path: Path) -> None:
    """scripts/boundaries.py, run on the cartomap/nl copies, writes exactly the bundled files."""
    if not CARTOMAP.is_dir():
        pytest.skip(f"no copy of cartomap/nl at {CARTOMAP} (a clone of the project alone has none)")
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / "municipalities.yaml", data)
    script = Path(__file__).parent.parent / "scripts" / "boundaries.py"
    subprocess.run([sys.executable, str(script), str(CARTOMAP), "--data-dir", str(data)], check=True)
    written = sorted(path.relative_to(data) for path in data.rglob("*") if path.is_file())
    assert len(written) == 1 + 2 * 6
    for relative in written:
        assert (data / relative).read_bytes() == (DATA_DIR / relative).read_bytes(), relative


def _broken_copy(tmp_path: Path, file_name: str, edit: Callable[[str], str]) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = copy / file_name
    original = path.read_text("utf-8")
    edited = edit(original)
    assert edited != original, "the edit must change the file"
    path.write_text(edited, "utf-8")
    return copy


def _without_feature(code: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        lines = [line for line in text.split("\n") if f'"statcode":"{code}"' not in line]
        return "\n".join(lines).replace("]],\n]}", "]]\n]}")

    return edit


@pytest.mark.parametrize(
    ("file_name", "edit", "expected"),
    [
        (
            "boundaries/gemeente_2017.geojson",
            _without_feature("GM0738"),
            [
                "boundaries/gemeente_2017.geojson",
                "no shape for GM0738 Aalburg",
                "2018-12-31",
                "used for 2017-01-01",
            ],
        ),
        (
            "boundaries/gemeente_2019.geojson",
            lambda text: text.replace('"statcode":"GM0855"', '"statcode":"GM9855"', 1),
            ["boundaries/gemeente_2019.geojson", "statcode GM9855", "no municipality with this code"],
        ),
        (
            "boundaries/gemeente_2015.geojson",
            lambda text: text.replace(
                '"statcode":"GM0855","statnaam":"Tilburg"', '"statcode":"GM1959","statnaam":"Altena"', 1
            ),
            ["boundaries/gemeente_2015.geojson", "statcode GM1959", "did not exist on 2015-01-01"],
        ),
        (
            "boundaries/gemeente_2022.geojson",
            lambda text: text.replace('"statnaam":"Tilburg"', '"statnaam":"Tilburgh"', 1),
            [
                "boundaries/gemeente_2022.geojson",
                "GM0855",
                "cartomap-nl-gemeente-2022",
                "no properties entry",
            ],
        ),
        (
            "boundaries.yaml",
            lambda text: re.sub(r"  - file: boundaries/gemeente_2017.geojson\n.*\n.*\n", "", text),
            [
                "boundaries/gemeente_2015.geojson",
                "no shape for GM1948 Meierijstad",
                "add a map that shows 2017-01-01",
            ],
        ),
    ],
)
def test_a_wrong_boundary_names_file_and_entry(
    tmp_path: Path, file_name: str, edit: Callable[[str], str], expected: list[str]
) -> None:
    with pytest.raises(DatasetError) as failure:
        read_dataset(_broken_copy(tmp_path, file_name, edit))
    assert any(all(part in problem for part in expected) for problem in failure.value.problems), (
        failure.value.problems
    )


# ------------------------------------------------------------------------------------------- GraphQL

BOUNDARY = """query ($code: String!, $on: Date) {
  municipality(code: $code) { name boundary(on: $on) }
}"""


def _rings(geometry: dict[str, Any]) -> list[tuple[bool, list[list[float]]]]:
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [(index == 0, ring) for polygon in polygons for index, ring in enumerate(polygon)]


def assert_rfc7946_geometry(geometry: dict[str, Any], where: object) -> None:
    """Closed rings of four or more positions, exterior rings counterclockwise and holes clockwise (RFC 7946
    §3.1.6), longitude/latitude in Noord-Brabant, and a valid (simple, non-overlapping) polygon."""
    assert geometry["type"] in {"Polygon", "MultiPolygon"}, where
    for exterior, ring in _rings(geometry):
        assert len(ring) >= 4, where
        assert ring[0] == ring[-1], (where, "closed")
        assert LinearRing(ring).is_ccw == exterior, (where, "right-hand rule")
        assert all(3.3 < lon < 6.1 and 51.2 < lat < 51.9 for lon, lat in ring), where
    polygon = shape(geometry)
    assert polygon.is_valid, (where, explain_validity(polygon))


async def test_boundary_defaults_to_the_last_day_and_is_null_when_it_did_not_exist(api: Api) -> None:
    async def boundary(code: str, on: str | None = None) -> Any:
        return (await api.data(BOUNDARY, {"code": code, "on": on}))["municipality"]["boundary"]

    altena = await boundary("GM1959", "2019-06-01")
    assert_rfc7946_geometry(altena, "Altena")
    assert await boundary("GM1959", "2018-12-31") is None  # before the merger
    assert await boundary("GM0738", "2019-01-01") is None  # Aalburg's first day gone
    assert await boundary("GM1671") is None  # Maasdonk: no map before 2015
    # Aalburg's default: its last day, 2018-12-31, from the 2017 map.
    aalburg = await boundary("GM0738")
    assert aalburg == await boundary("GM0738", "2018-12-31")
    expected = json.loads(
        next(b.geometry for b in DATASET.boundaries or [] if b.code == "GM0738" and b.valid_from.year == 2017)
    )
    assert aalburg == expected
    # A current municipality's default: today's map.
    tilburg_today = await boundary("GM0855")
    assert tilburg_today == await boundary("GM0855", today().isoformat())
    # Tilburg took part of Haaren in 2021: its shape changed.
    assert tilburg_today != await boundary("GM0855", "2020-06-01")


async def test_boundaries_are_read_only_when_asked_for(api: Api) -> None:
    plain = [
        "{ municipalities(first: 100) { nodes { code name foundedOn dissolvedOn active } } }",
        '{ municipality(code: "GM0855") { name code predecessors { name } } }',
        "{ initiatives { nodes { involvements { nodes { participant { ... on Municipality { code name } } } } } } }",
    ]
    for query in plain:
        await api.count_statements(query)
        assert api.statements, query
        assert not [s for s in api.statements if "municipality_boundary" in s or "geometry" in s], query
    # Asked for, for every municipality: one statement more, however many municipalities.
    count = await api.count_statements(
        '{ municipalities(first: 100) { nodes { code boundary(on: "2019-06-01") } } }'
    )
    boundary_statements = [s for s in api.statements if "municipality_boundary" in s]
    assert len(boundary_statements) == 1, api.statements
    assert count <= 3, api.statements


# ------------------------------------------------------------------------------------ GeoJSON over HTTP


async def _geojson(api: Api, **params: str) -> dict[str, Any]:
    response = await api.client.get(PATH, params=params, headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body: dict[str, Any] = response.json()
    return body


async def test_the_geojson_of_every_date_is_valid_rfc7946(api: Api) -> None:
    for day in DATES:
        collection = await _geojson(api, on=day.isoformat())
        assert collection["type"] == "FeatureCollection"
        codes = [feature["properties"]["code"] for feature in collection["features"]]
        assert sorted(codes) == sorted(code for code in MUNICIPALITIES if _existed(code, day)), day
        for feature in collection["features"]:
            assert feature["type"] == "Feature"
            assert feature["id"] == feature["properties"]["code"]
            assert_rfc7946_geometry(feature["geometry"], (day, feature["id"]))
            assert feature["properties"]["boundary"]["source"]["quote"].count(feature["id"]) >= 1


async def test_the_geojson_counts_the_municipalities_of_a_date_and_their_involvement(api: Api) -> None:
    assert len((await _geojson(api, on="2019-06-01"))["features"]) == 62
    assert len((await _geojson(api, on="2023-01-01"))["features"]) == 56
    assert len((await _geojson(api, on="2015-06-01"))["features"]) == 66
    by_code = {f["id"]: f["properties"] for f in (await _geojson(api, on="2019-06-01"))["features"]}
    tilburg = by_code["GM0855"]
    assert tilburg["involved"]
    assert tilburg["initiativeCount"] >= 1
    assert any(item["initiativeName"] == "Veerkrachtdialoog" for item in tilburg["involvements"])
    # Maashorst on 2023 stands for Uden's involvements (named for Uden, via a predecessor).
    maashorst = {f["id"]: f["properties"] for f in (await _geojson(api, on="2023-01-01"))["features"]}[
        "GM1991"
    ]
    assert {(i["participant"]["name"], i["via"]) for i in maashorst["involvements"]} >= {
        ("Uden", "predecessor")
    }


async def test_the_geojson_of_one_initiative(api: Api) -> None:
    after = {
        f["id"]: f["properties"]
        for f in (await _geojson(api, on="2019-06-01", initiative="pilot-altena"))["features"]
    }
    # Altena as a partner; Uden and Landerd explored a similar approach (the memo), Maashorst to be.
    assert {code: p["roles"] for code, p in after.items() if p["involved"]} == {
        "GM1959": ["PARTNER"],
        "GM0856": ["EXPLORING"],
        "GM1685": ["EXPLORING"],
    }
    assert "self" in after["GM1959"]["via"]
    before = {
        f["id"]: f["properties"]
        for f in (await _geojson(api, on="2018-06-01", initiative="pilot-altena"))["features"]
    }
    partners = sorted(p["name"] for p in before.values() if "PARTNER" in p["roles"])
    assert partners == ["Aalburg", "Werkendam", "Woudrichem"]
    assert "successor" in before["GM0874"]["via"]  # Woudrichem: through Altena, which it merged into
    assert not before["GM0855"]["involved"]
    assert before["GM0855"]["initiativeCount"] == 0


async def test_the_geojson_is_cached_like_graphql_reads(api: Api) -> None:
    first = await api.client.get(PATH, params={"on": "2019-06-01"})
    tag = first.headers["etag"]
    assert re.fullmatch(r'"\d+-[0-9a-f]{24}"', tag)
    assert first.headers["cache-control"] == "no-cache"
    again = await api.client.get(PATH, params={"on": "2019-06-01"}, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    other = await api.client.get(PATH, params={"on": "2019-06-02"}, headers={"If-None-Match": tag})
    assert other.status_code == 200
    assert other.headers["etag"] != tag


async def test_a_write_changes_the_geojson_etag(writer: Api) -> None:
    tag = (await writer.client.get(PATH, params={"on": "2019-06-01"})).headers["etag"]
    await writer.data(
        'mutation { updateInitiative(input: {id: "SW5pdGlhdGl2ZTpwaWxvdC1hbHRlbmE=", version: 1, summary: "x"}) { errors { message } } }'
    )
    after = await writer.client.get(PATH, params={"on": "2019-06-01"}, headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.headers["etag"] != tag


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"on": "2019-13-01"}, "`on` must be a date as YYYY-MM-DD"),
        ({"on": "20190601"}, "`on` must be a date as YYYY-MM-DD"),
        ({"on": "2019-06-01", "initiative": "pilot-atlena"}, "No initiative with slug 'pilot-atlena'"),
        ({"date": "2019-06-01"}, "Unknown parameter(s) date"),
        ({"initiative": "Pilot\x00Altena"}, "`initiative` must be an initiative's slug"),
    ],
)
async def test_bad_parameters_are_refused_clearly(api: Api, params: dict[str, str], expected: str) -> None:
    response = await api.client.get(PATH, params=params)
    assert response.status_code == 400
    assert expected in response.text
    assert "etag" not in response.headers


@pytest.fixture
async def guarded(fresh_url: str) -> AsyncIterator[Api]:
    await migrated_and_seeded(fresh_url)
    async for instance in _api(fresh_url, require_token_for_reads=True):
        yield instance


async def test_the_geojson_requires_a_token_when_reads_do(guarded: Api) -> None:
    refused = await guarded.client.get(PATH, params={"on": "2019-06-01"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    tag = await guarded.client.get(
        PATH, params={"on": "2019-06-01"}, headers={"Authorization": "Bearer nope"}
    )
    assert tag.status_code == 401
    guarded.token = await guarded.make_token("viewer", "read")
    allowed = await guarded.client.get(PATH, params={"on": "2019-06-01"}, headers=guarded.headers)
    assert allowed.status_code == 200
    # The 304 door is locked too: a known ETag without a token is still refused.
    again = await guarded.client.get(
        PATH, params={"on": "2019-06-01"}, headers={"If-None-Match": allowed.headers["etag"]}
    )
    assert again.status_code == 401


MAPS_DOC = (Path(__file__).parent.parent / "docs" / "maps.md").read_text("utf-8")


async def test_the_maps_docs_query_runs(api: Api) -> None:
    (query,) = re.findall(r"```graphql\n(.*?)```", MAPS_DOC, flags=re.DOTALL)
    nodes = (await api.data(query))["municipalities"]["nodes"]
    assert len(nodes) == 62
    for node in nodes:
        assert_rfc7946_geometry(node["boundary"], node["code"])


@pytest.fixture
async def limited(fresh_url: str) -> AsyncIterator[Api]:
    await migrated_and_seeded(fresh_url)
    async for instance in _api(fresh_url, anonymous_rate_limit_per_minute=100):
        yield instance


async def test_the_geojson_is_charged_to_the_rate_limit(limited: Api) -> None:
    first = await limited.client.get(PATH, params={"on": "2019-06-01"})
    assert first.status_code == 200
    # About one item per municipality (75): a second map within the minute exceeds a budget of 100, and a
    # conditional request is charged too (the door is the same as for a GraphQL read).
    refused = await limited.client.get(
        PATH, params={"on": "2019-06-01"}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Rate limit" in refused.text
