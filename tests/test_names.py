"""Names as people write them (issue 12, item 3): aliases with sources, codes in any case, codes outside
Noord-Brabant answered as such. On SQLite and PostgreSQL, through the app over HTTP."""

from __future__ import annotations

import pytest
import yaml

from app.data.loader import DATA_DIR, DatasetError, read_dataset
from tests.conftest import Api

WRITTEN = ["Den Bosch", "'s-Hertogenbosch", "Hertogenbosch", "s Hertogenbosch", "den bosch", "DEN-BOSCH"]


@pytest.mark.parametrize("name", WRITTEN)
async def test_every_way_of_writing_den_bosch_finds_it(api: Api, name: str) -> None:
    data = await api.data("query($n: String!) { municipality(name: $n) { code name } }", {"n": name})
    assert data["municipality"] == {"code": "GM0796", "name": "'s-Hertogenbosch"}


@pytest.mark.parametrize("name", WRITTEN)
async def test_the_name_filter_finds_it_too(api: Api, name: str) -> None:
    data = await api.data(
        "query($n: String!) { municipalities(filter: {nameContains: $n}) { nodes { code } } }", {"n": name}
    )
    assert [node["code"] for node in data["municipalities"]["nodes"]] == ["GM0796"]


async def test_an_alias_does_not_find_other_municipalities(api: Api) -> None:
    data = await api.data('{ municipalities(filter: {nameContains: "bosch"}) { nodes { name } } }')
    assert [node["name"] for node in data["municipalities"]["nodes"]] == ["'s-Hertogenbosch"]


@pytest.mark.parametrize("code", ["gm0796", "Gm0796", "GM0796"])
async def test_codes_in_any_case(api: Api, code: str) -> None:
    data = await api.data("query($c: String!) { municipality(code: $c) { code } }", {"c": code})
    assert data["municipality"] == {"code": "GM0796"}
    filtered = await api.data(
        "query($c: String!) { initiatives(filter: {municipalityCode: $c}) { totalCount } }", {"c": code}
    )
    assert filtered["initiatives"]["totalCount"] == 4


async def test_a_code_outside_noord_brabant_says_so(api: Api) -> None:
    (error,) = await api.errors('{ municipality(code: "GM0363") { name } }')
    assert error["extensions"]["code"] == "OUTSIDE_PROVINCE"
    assert error["extensions"]["municipality"] == {"code": "GM0363", "name": "Amsterdam"}
    assert error["extensions"]["source"]["document"] == "minvws-gm-2022"
    assert "Amsterdam" in error["message"]
    assert "buiten Noord-Brabant" in error["message"]
    (lower,) = await api.errors('{ initiatives(filter: {municipalityCode: "gm0363"}) { totalCount } }')
    assert lower["extensions"]["code"] == "OUTSIDE_PROVINCE"


async def test_a_code_of_no_municipality_is_not_found(api: Api) -> None:
    (error,) = await api.errors('{ municipality(code: "GM9999") { name } }')
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_the_outside_source_quote_is_in_its_document() -> None:
    from app.services.municipality_codes import dutch_municipalities
    from app.services.text import normalise_whitespace

    dataset = read_dataset()
    known = dutch_municipalities()
    assert len(known) >= 345
    for entry in known.values():
        assert normalise_whitespace(entry.quote) in dataset.document_texts[entry.document]
    brabant = {code for code, entry in known.items() if entry.in_noord_brabant}
    current = {m.code for m in dataset.municipalities if m.dissolved_on is None}
    assert current <= brabant


def test_an_alias_without_a_source_is_a_load_error(tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    target = Path(str(tmp_path)) / "data"
    shutil.copytree(DATA_DIR, target)
    aliases = yaml.safe_load((target / "aliases.yaml").read_text(encoding="utf-8"))
    aliases["aliases"].append({"code": "GM0758", "name": "Baronie", "sources": []})
    aliases["aliases"].append(
        {
            "code": "GM9999",
            "name": "Nergens",
            "sources": [{"document": "minvws-gm-2022", "quote": "Amsterdam"}],
        }
    )
    (target / "aliases.yaml").write_text(yaml.safe_dump(aliases, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DatasetError) as raised:
        read_dataset(target)
    problems = "\n".join(raised.value.problems)
    assert "aliases.yaml" in problems
    assert "sources" in problems
