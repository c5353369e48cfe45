"""The bundled dataset: validated as a whole, loaded all or nothing, idempotent."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.data.loader import DATA_DIR, DatasetError, load_dataset, read_dataset
from app.db import create_engine, create_sessionmaker
from app.migrate import upgrade
from app.models import Citation, Involvement, Municipality, Participant


def test_the_bundled_dataset_is_valid() -> None:
    dataset = read_dataset()
    assert len(dataset.initiatives) == 9
    assert len({m.code for m in dataset.municipalities}) == len(dataset.municipalities) == 71
    memo_codes = {
        "Zundert": "GM0879", "Bernheze": "GM1721", "Breda": "GM0758", "'s-Hertogenbosch": "GM0796",
        "Tilburg": "GM0855", "Oosterhout": "GM0826", "Meierijstad": "GM1948", "Boxmeer": "GM0756",
        "Helmond": "GM0794", "Eindhoven": "GM0772", "Bergeijk": "GM1724",
    }  # fmt: skip
    by_name = {m.name: m.code for m in dataset.municipalities}
    for name, code in memo_codes.items():
        assert by_name[name] == code


def _broken_copy(tmp_path: Path, file_name: str, edit: Callable[[str], str]) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = copy / file_name
    original = path.read_text("utf-8")
    edited = edit(original)
    assert edited != original, "the edit must change the file"
    path.write_text(edited, "utf-8")
    return copy


@pytest.mark.parametrize(
    ("file_name", "edit", "expected"),
    [
        (
            "initiatives.yaml",
            lambda text: text.replace("participant: GM0879", "participant: GM9879", 1),
            ["initiatives.yaml", "pilot-vitaal-buitengebied-zundert", "'GM9879'", "no known"],
        ),
        (
            "initiatives.yaml",
            lambda text: text.replace("role: OBSERVER", "role: OBSERVR", 1),
            ["initiatives.yaml", "proeftuin-sociaal-inkopen", "role", "OBSERVER"],
        ),
        (
            "initiatives.yaml",
            lambda text: text.replace("(Oosterhout, Meijerijstad)", "(Oosterhout, Meierijstad)", 1),
            ["initiatives.yaml", "proeftuin-sociaal-inkopen", "not found verbatim", "memo-vsv-2019-04-04"],
        ),
        (
            "organizations.yaml",
            lambda text: text.replace("slug: bizob", "slug: pon", 1),
            ["duplicate organization slug 'pon'"],
        ),
        (
            "fusions.yaml",
            lambda text: text.replace("GM0738", "GM0739", 1),
            ["fusions.yaml", "Altena", "'GM0739'", "not in municipalities.yaml"],
        ),
        (
            "municipalities.yaml",
            lambda text: text.replace("code: GM0879", "code: GM879", 1),
            ["municipalities.yaml", "GM879", "pattern"],
        ),
        (
            "initiatives.yaml",
            lambda text: text + "\n  - [unbalanced\n",
            ["initiatives.yaml", "not valid YAML"],
        ),
    ],
)
def test_a_typo_names_file_entry_and_problem(
    tmp_path: Path, file_name: str, edit: Callable[[str], str], expected: list[str]
) -> None:
    with pytest.raises(DatasetError) as caught:
        read_dataset(_broken_copy(tmp_path, file_name, edit))
    message = str(caught.value)
    assert "nothing was loaded" in message
    for words in expected:
        assert words in message, f"{words!r} not in {message}"


async def _counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return (
                int(await session.scalar(select(func.count()).select_from(Participant)) or 0),
                int(await session.scalar(select(func.count()).select_from(Involvement)) or 0),
                int(await session.scalar(select(func.count()).select_from(Citation)) or 0),
            )
    finally:
        await engine.dispose()


async def test_loading_is_idempotent_and_updates_in_place(fresh_url: str, tmp_path: Path) -> None:
    engine = create_engine(fresh_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        await upgrade(engine)
        dataset = read_dataset()
        async with sessionmaker() as session, session.begin():
            assert await load_dataset(session, dataset) is True
        once = await _counts(fresh_url)
        async with sessionmaker() as session, session.begin():
            assert await load_dataset(session, dataset) is False
        assert await _counts(fresh_url) == once

        # Changed content (a name corrected) updates the row in place: no duplicates.
        changed = read_dataset(
            _broken_copy(
                tmp_path,
                "municipalities.yaml",
                lambda t: t.replace('name: "Zundert"', 'name: "Zundert (test)"', 1),
            )
        )
        async with sessionmaker() as session, session.begin():
            assert await load_dataset(session, changed) is True
        assert await _counts(fresh_url) == once
        async with sessionmaker() as session:
            name = await session.scalar(select(Municipality.name).where(Municipality.code == "GM0879"))
        assert name == "Zundert (test)"
    finally:
        await engine.dispose()


async def test_a_failing_load_writes_nothing(fresh_url: str) -> None:
    """A database error midway rolls the whole load back (one transaction)."""
    engine = create_engine(fresh_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        await upgrade(engine)
        dataset = read_dataset()
        # A municipality that only the database's CHECK (founded before dissolved) refuses; it sorts last,
        # so documents and the other municipalities are written before the failure.
        import datetime as dt

        bad = dataset.municipalities[0].model_copy(
            update={
                "code": "GM0999",
                "name": "Zzz",
                "founded_on": dt.date(2020, 1, 1),
                "dissolved_on": dt.date(2019, 1, 1),
            }
        )
        dataset.municipalities.append(bad)
        dataset.content_hash = "broken"
        with pytest.raises(IntegrityError):
            async with sessionmaker() as session, session.begin():
                await load_dataset(session, dataset)
        assert await _counts(fresh_url) == (0, 0, 0)
    finally:
        await engine.dispose()
