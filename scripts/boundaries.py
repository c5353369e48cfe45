#!/usr/bin/env python3
"""Regenerate the bundled municipal boundaries (app/data/boundaries/) from a directory of cartomap/nl files.

    python scripts/boundaries.py PATH/TO/cartomap-nl [--data-dir app/data]

PATH/TO/cartomap-nl holds copies of ``wgs84/gemeente_<year>.topojson`` from the public repository cartomap/nl
(CBS/PDOK municipal maps, simplified; quantised TopoJSON in WGS84). For every year file it writes:

- ``boundaries/gemeente_<year>.geojson``: a GeoJSON FeatureCollection (RFC 7946) of the geometries whose
  ``statcode`` is a municipality of ``municipalities.yaml`` that existed on 1 January of that year, one
  feature a line, properties ``statcode`` and ``statnaam`` as the file has them. Decoded with the
  ``topojson`` package (exterior rings counterclockwise, holes clockwise), coordinates rounded to 5 decimals
  (about 1 m; the source is quantised to 0.001 degrees, about 70 to 110 m, so nothing is lost).
- ``sources/cartomap-nl-gemeente-<year>-noord-brabant.txt``: the verbatim ``"properties":{...}`` text of
  each geometry kept, one a line: the text that the boundaries' quotes are checked against.

It refuses a year file that lacks a municipality existing on its 1 January, or holds a dataset municipality
that did not exist then. Add each new year's source document to sources.yaml by hand (FORMAT.md says how).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import yaml
from topojson.utils import serialize_as_geojson

DATA_DIR = Path(__file__).resolve().parent.parent / "app" / "data"
DECIMALS = 5
_YEAR_FILE = re.compile(r"^gemeente_(\d{4})\.topojson$")


def _existed_on(entry: dict[str, Any], day: dt.date) -> bool:
    founded, dissolved = entry.get("founded_on"), entry.get("dissolved_on")
    return (founded is None or founded <= day) and (dissolved is None or day < dissolved)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def _properties_text(raw: str, code: str) -> str:
    """The verbatim ``"properties":{...}`` of the geometry with ``code`` in the raw file text."""
    found = re.findall(r'"properties":\{[^{}]*"statcode":"' + code + r'"[^{}]*\}', raw)
    if len(found) != 1:
        raise SystemExit(f"{code}: expected one properties object in the file, found {len(found)}")
    return str(found[0])


def regenerate(source_dir: Path, data_dir: Path) -> list[str]:
    municipalities = yaml.safe_load((data_dir / "municipalities.yaml").read_text("utf-8"))["municipalities"]
    by_code = {m["code"]: m for m in municipalities}
    written = []
    for path in sorted(source_dir.iterdir()):
        match = _YEAR_FILE.match(path.name)
        if match is None:
            continue
        year = int(match.group(1))
        day = dt.date(year, 1, 1)
        raw = path.read_text("utf-8")
        topology = json.loads(raw)
        # Exterior rings counterclockwise, holes clockwise: RFC 7946's right-hand rule.
        collection = serialize_as_geojson(  # type: ignore[no-untyped-call]
            topology, objectname=f"gemeente_{year}", order="CCW_CW"
        )
        kept = [f for f in collection["features"] if f["properties"].get("statcode") in by_code]
        codes = {f["properties"]["statcode"] for f in kept}
        expected = {code for code, entry in by_code.items() if _existed_on(entry, day)}
        problems = [
            f"{path.name}: no geometry for {c} {by_code[c]['name']}" for c in sorted(expected - codes)
        ]
        problems += [
            f"{path.name}: {c} {by_code[c]['name']} is in the file but did not exist on {day}"
            for c in sorted(codes - expected)
        ]
        if problems:
            raise SystemExit("\n".join(problems))
        kept.sort(key=lambda f: f["properties"]["statcode"])
        lines = [
            json.dumps(
                {
                    "type": "Feature",
                    "properties": {
                        "statcode": f["properties"]["statcode"],
                        "statnaam": f["properties"]["statnaam"],
                    },
                    "geometry": {
                        "type": f["geometry"]["type"],
                        "coordinates": _rounded(f["geometry"]["coordinates"]),
                    },
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            for f in kept
        ]
        target = data_dir / "boundaries" / f"gemeente_{year}.geojson"
        target.parent.mkdir(exist_ok=True)
        target.write_text(
            '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n", "utf-8"
        )
        excerpt = data_dir / "sources" / f"cartomap-nl-gemeente-{year}-noord-brabant.txt"
        excerpt.parent.mkdir(exist_ok=True)
        excerpt.write_text(
            "".join(_properties_text(raw, f["properties"]["statcode"]) + "\n" for f in kept), "utf-8"
        )
        written += [str(target), str(excerpt)]
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source_dir", type=Path, help="directory with gemeente_<year>.topojson files")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="the dataset directory (app/data)")
    arguments = parser.parse_args(argv)
    for name in regenerate(arguments.source_dir, arguments.data_dir):
        print(name)


if __name__ == "__main__":
    main()
