"""Dutch first (issue 12, item 1): every descriptive text in Dutch by default, English on request; the
loader refuses a dataset whose Dutch text is missing. On SQLite and PostgreSQL, through the app over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.data.loader import DATA_DIR, DatasetError, read_dataset
from tests.conftest import Api

TEXTS = """query($lang: Language!) {
  initiatives(first: 100) { nodes { slug summary(language: $lang)
    reportedFigures { label(language: $lang) unit(language: $lang) }
    unresolvedMentions { name note(language: $lang) }
    involvements(first: 100) { nodes { description(language: $lang) } } } }
  organizations(first: 100) { nodes { slug description(language: $lang) } }
}"""

# Words that occur in Dutch texts but not in English ones, and the other way round.
DUTCH = {"de", "het", "een", "en", "van", "gemeenten", "waarin", "die"}
ENGLISH = {"the", "a", "of", "and", "in", "which", "municipalities", "that"}


def _words(text: str) -> set[str]:
    return {word.strip(".,;:()'\"").lower() for word in text.split()}


async def _texts(api: Api, lang: str) -> dict[str, Any]:
    return await api.data(TEXTS, {"lang": lang})


async def test_dutch_is_the_default(api: Api) -> None:
    default = await api.data("{ initiatives(first: 100) { nodes { summary } } }")
    dutch = await api.data("{ initiatives(first: 100) { nodes { summary(language: NL) } } }")
    assert default == dutch
    for node in default["initiatives"]["nodes"]:
        words = _words(node["summary"])
        assert words & DUTCH, node["summary"]
        assert not words & {"the", "which", "municipalities"}, node["summary"]


async def test_every_summary_and_description_exists_in_both_languages(api: Api) -> None:
    nl, en = await _texts(api, "NL"), await _texts(api, "EN")
    for dutch, english in zip(nl["initiatives"]["nodes"], en["initiatives"]["nodes"], strict=True):
        assert dutch["summary"] != english["summary"]
        assert _words(english["summary"]) & ENGLISH, english["summary"]
        for d_fig, e_fig in zip(dutch["reportedFigures"], english["reportedFigures"], strict=True):
            assert d_fig["label"] != e_fig["label"]
            assert d_fig["unit"] in {"gemeenten", "initiatieven"}
            assert e_fig["unit"] in {"municipalities", "initiatives"}
    described = [
        (d["description"], e["description"])
        for d, e in zip(nl["organizations"]["nodes"], en["organizations"]["nodes"], strict=True)
        if d["description"]
    ]
    assert len(described) == 14
    for dutch_text, english_text in described:
        assert english_text
        assert english_text != dutch_text


async def test_the_galderen_note_and_the_figures(api: Api) -> None:
    nl, en = await _texts(api, "NL"), await _texts(api, "EN")
    dialogue = next(n for n in nl["initiatives"]["nodes"] if n["slug"] == "veerkrachtdialoog")
    (mention,) = dialogue["unresolvedMentions"]
    assert mention["name"] == "Galderen"
    assert "bestaat niet" in mention["note"]
    english = next(n for n in en["initiatives"]["nodes"] if n["slug"] == "veerkrachtdialoog")
    assert "no municipality of that name" in english["unresolvedMentions"][0]["note"]
    dvb = next(n for n in nl["initiatives"]["nodes"] if n["slug"] == "dementievriendelijk-brabant")
    assert dvb["reportedFigures"] == [
        {"label": "Brabantse gemeenten aangesloten bij het DVG-netwerk", "unit": "gemeenten"}
    ]


async def test_involvement_descriptions_keep_the_memos_words_and_translate(api: Api) -> None:
    query = """query($lang: Language!) { municipality(code: "GM0794") {
        involvements { nodes { description(language: $lang) } } } }"""
    nl = await api.data(query, {"lang": "NL"})
    en = await api.data(query, {"lang": "EN"})
    assert nl["municipality"]["involvements"]["nodes"] == [{"description": "3 wijken"}]
    assert en["municipality"]["involvements"]["nodes"] == [{"description": "3 neighbourhoods"}]


async def test_a_text_without_translation_is_served_in_dutch(writer: Api) -> None:
    created = await writer.data(
        """mutation { createInitiative(input: {slug: "alleen-nederlands", name: "Alleen Nederlands",
             kind: PILOT, summary: "Een samenvatting die alleen in het Nederlands bestaat.",
             sources: [{documentId: "U291cmNlRG9jdW1lbnQ6bWVtby12c3YtMjAxOS0wNC0wNA==",
                        quote: "In deze memo geef ik u een aanvullend overzicht"}]}) {
             initiative { summary en: summary(language: EN) } errors { message } } }"""
    )
    payload = created["createInitiative"]
    assert payload["errors"] == []
    assert payload["initiative"]["summary"] == payload["initiative"]["en"]


async def test_an_update_of_the_dutch_summary_drops_the_stale_translation(writer: Api) -> None:
    read = await writer.data('{ initiative(slug: "pilot-altena") { id version en: summary(language: EN) } }')
    altena = read["initiative"]
    assert altena["en"].startswith("A pilot")
    updated = await writer.data(
        """mutation($id: ID!, $version: Int!) { updateInitiative(input: {id: $id, version: $version,
             summary: "Nieuwe samenvatting."}) { initiative { summary en: summary(language: EN) }
             errors { message } } }""",
        {"id": altena["id"], "version": altena["version"]},
    )
    payload = updated["updateInitiative"]
    assert payload["errors"] == []
    assert payload["initiative"] == {"summary": "Nieuwe samenvatting.", "en": "Nieuwe samenvatting."}


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _edit(path: Path, change: Any) -> None:
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(content)
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_missing_dutch_text_is_a_load_error_naming_file_and_entry(tmp_path: Path) -> None:
    data = _copy(tmp_path)

    def drop_dutch(content: Any) -> None:
        altena = next(i for i in content["initiatives"] if i["slug"] == "pilot-altena")
        del altena["summary"]
        figure = next(i for i in content["initiatives"] if i["slug"] == "sterk-brabant")["reported_figures"][
            0
        ]
        del figure["label"]

    _edit(data / "initiatives.yaml", drop_dutch)

    def only_english(content: Any) -> None:
        zet = next(o for o in content["organizations"] if o["slug"] == "stichting-zet")
        del zet["description"]

    _edit(data / "organizations.yaml", only_english)
    with pytest.raises(DatasetError) as raised:
        read_dataset(data)
    problems = raised.value.problems
    assert any(
        "initiatives.yaml" in p and "pilot-altena" in p and "summary" in p and "required" in p
        for p in problems
    ), problems
    assert any("initiatives.yaml" in p and "label" in p for p in problems), problems


def test_an_english_text_without_dutch_is_a_load_error(tmp_path: Path) -> None:
    data = _copy(tmp_path)

    def only_english(content: Any) -> None:
        zet = next(o for o in content["organizations"] if o["slug"] == "stichting-zet")
        del zet["description"]
        pon = next(o for o in content["organizations"] if o["slug"] == "pon")
        del pon["description_en"]

    _edit(data / "organizations.yaml", only_english)
    with pytest.raises(DatasetError) as raised:
        read_dataset(data)
    problems = "\n".join(raised.value.problems)
    assert "'stichting-zet'" in problems
    assert "the Dutch text description is missing" in problems
    assert "'pon'" in problems
    assert "no English translation" in problems


async def test_source_documents_are_described_in_dutch_and_english(api: Api) -> None:
    data = await api.data(
        '{ municipality(code: "GM1959") { sources { document { title nl: description en: description(language: EN) } } } }'
    )
    (gm,) = [
        c["document"]
        for c in data["municipality"]["sources"]
        if "common/src/data/gm.ts" in c["document"]["title"]
    ]
    assert gm["nl"].startswith("Volledige letterlijke kopie")
    assert gm["en"].startswith("Complete verbatim copy")
