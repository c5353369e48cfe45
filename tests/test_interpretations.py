"""Interpretations visible as such (issue 12, item 6): where the data goes beyond its source's words, the
fact says so (basis INTERPRETED) with a note in Dutch and English; the loader checks it. On SQLite and
PostgreSQL, through the app over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.data.loader import DATA_DIR, DatasetError, read_dataset
from tests.conftest import Api

ALL = """{
  initiatives(first: 100) { nodes { slug status basis basisNote en: basisNote(language: EN) summary
    involvements(first: 100) { nodes { role basis basisNote en: basisNote(language: EN)
      participant { ... on Municipality { code } ... on Organization { slug } } } } } }
  organizations(first: 100) { nodes { slug name kind basis basisNote en: basisNote(language: EN) membersAsOf
    members { name } } }
}"""


async def _all(api: Api) -> dict[str, Any]:
    return await api.data(ALL)


def _involvements(data: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = {}
    for initiative in data["initiatives"]["nodes"]:
        for involvement in initiative["involvements"]["nodes"]:
            participant = involvement["participant"]
            key = (initiative["slug"], participant.get("code") or participant["slug"], involvement["role"])
            found[key] = involvement
    return found


def _interpreted(fact: dict[str, Any], *words: str) -> None:
    assert fact["basis"] == "INTERPRETED", fact
    assert fact["basisNote"].startswith("Interpretatie:"), fact
    assert fact["en"].startswith("Interpretation:"), fact
    for word in words:
        assert word in fact["basisNote"], (word, fact["basisNote"])


async def test_the_issues_interpretations_are_marked(api: Api) -> None:
    data = await _all(api)
    initiatives = {node["slug"]: node for node in data["initiatives"]["nodes"]}
    organizations = {node["slug"]: node for node in data["organizations"]["nodes"]}
    involvements = _involvements(data)

    # Pilot Altena's status COMPLETED, read from the memo's past tense
    assert initiatives["pilot-altena"]["status"] == "COMPLETED"
    _interpreted(initiatives["pilot-altena"], "COMPLETED", "verleden tijd")
    # "gemeenten in West-Brabant" served as Regio West-Brabant
    _interpreted(
        involvements["veerkrachtdialoog", "regio-west-brabant", "REQUESTER"], "gemeenten in West-Brabant"
    )
    # "Regio Zuidoost-Brabant" served as Metropoolregio Eindhoven
    _interpreted(
        involvements["proeftuin-sociaal-inkopen", "metropoolregio-eindhoven", "PARTICIPANT"],
        "Regio Zuidoost-Brabant",
        "Metropoolregio Eindhoven",
    )
    # group names made from the memo's words
    for slug in ("dorpsraden-zundert", "betrokken-omwonenden-zundert", "bewoners-altena"):
        _interpreted(organizations[slug], organizations[slug]["name"])
    # Maashorst, Landerd and Uden shown as EXPLORING in Pilot Altena
    for code in ("GM1991", "GM1685", "GM0856"):
        _interpreted(involvements["pilot-altena", code, "EXPLORING"], "eigen verkenning")
    # "provincial Omgevingsvisie" and "13 June 2019"
    _interpreted(initiatives["pilot-vitaal-buitengebied-zundert"], "Omgevingsvisie")
    assert "provinciale Omgevingsvisie" in initiatives["pilot-vitaal-buitengebied-zundert"]["summary"]
    _interpreted(initiatives["overige-uitwisseling"], "2019")
    assert "13 juni 2019" in initiatives["overige-uitwisseling"]["summary"]


async def test_an_inferred_date_is_marked(api: Api) -> None:
    data = await api.data(
        """{ municipalities(first: 100) { nodes { code dissolvedOn basis basisNote en: basisNote(language: EN) } } }"""
    )
    marked = [node for node in data["municipalities"]["nodes"] if node["basis"] == "INTERPRETED"]
    assert [node["code"] for node in marked] == ["GM0815"]  # Mill en Sint Hubert
    (mill,) = marked
    assert mill["dissolvedOn"] == "2022-01-01"
    _interpreted(mill, "Land van Cuijk")


async def test_member_lists_carry_their_date(api: Api) -> None:
    organizations = {node["slug"]: node for node in (await _all(api))["organizations"]["nodes"]}
    assert organizations["regio-west-brabant"]["membersAsOf"] == "2020-06-18"
    assert organizations["metropoolregio-eindhoven"]["membersAsOf"] == "2024-07-01"
    assert organizations["b5"]["membersAsOf"] == "2019-03-22"
    for organization in organizations.values():
        assert (organization["membersAsOf"] is None) == (not organization["members"]), organization


async def test_quoted_facts_have_no_note_and_most_facts_are_quoted(api: Api) -> None:
    data = await _all(api)
    facts = [
        *data["initiatives"]["nodes"],
        *data["organizations"]["nodes"],
        *_involvements(data).values(),
    ]
    for fact in facts:
        assert (fact["basis"] == "INTERPRETED") == (fact["basisNote"] is not None), fact
    quoted = [fact for fact in facts if fact["basis"] == "QUOTED"]
    assert len(quoted) > len(facts) / 2
    involvements = _involvements(data)
    assert involvements["veerkrachtdialoog", "GM0794", "HOST"]["basis"] == "QUOTED"


async def test_the_dataset_agrees_with_the_api(api: Api) -> None:
    """Every interpretation in the YAML is served, and nothing else is."""
    dataset = read_dataset()
    marked = {i.slug for i in dataset.initiatives if i.basis.value == "INTERPRETED"}
    marked |= {o.slug for o in dataset.organizations if o.basis.value == "INTERPRETED"}
    data = await _all(api)
    served = {n["slug"] for n in data["initiatives"]["nodes"] if n["basis"] == "INTERPRETED"}
    served |= {n["slug"] for n in data["organizations"]["nodes"] if n["basis"] == "INTERPRETED"}
    assert served == marked
    count = sum(1 for i in dataset.initiatives for v in i.involvements if v.basis.value == "INTERPRETED")
    assert count == sum(1 for v in _involvements(data).values() if v["basis"] == "INTERPRETED")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"basis": "INTERPRETED"}, "basis INTERPRETED needs a basis_note"),
        ({"basis_note": "Interpretatie: zomaar."}, "a basis_note is only for basis INTERPRETED"),
        (
            {"basis": "INTERPRETED", "basis_note": "Interpretatie: zonder vertaling."},
            "no English translation",
        ),
        ({"basis": "GUESSED"}, "basis"),
    ],
)
def test_the_loader_checks_basis_and_note(tmp_path: Path, change: dict[str, str], problem: str) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "initiatives.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    initiative = next(i for i in content["initiatives"] if i["slug"] == "sterk-brabant")
    initiative.update(change)
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(DatasetError) as raised:
        read_dataset(data)
    problems = "\n".join(raised.value.problems)
    assert "initiatives.yaml" in problems
    assert "sterk-brabant" in problems
    assert problem in problems
