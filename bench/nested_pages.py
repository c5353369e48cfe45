"""Measured reason for how nested involvement pages are fetched (app/services/pagination.py).

Compares, on the same database in the same run:
  baseline  one keyset query per parent (what a naive resolver does: N+1),
  batched   one statement for all parents (ROW_NUMBER() OVER (PARTITION BY parent) <= first + 1).

    python bench/nested_pages.py [DATABASE_URL]     (default: a temporary SQLite file)

Prints milliseconds per operation for 10, 100 and 1,000 parents and the ratio baseline / batched.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from app.db import create_engine, create_sessionmaker
from app.migrate import upgrade
from app.models import Initiative, Involvement, Municipality
from app.models.enums import InitiativeKind, InitiativeStatus, PartnerRole
from app.services.pagination import PageRequest, fetch_page, fetch_pages_by_parent

PARENTS = 1000
INVOLVEMENTS_PER_PARENT = 20


async def _populate(url: str) -> list[int]:
    engine = create_engine(url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        initiatives = [
            Initiative(slug=f"bench-{n}", name=f"Bench {n}", kind=InitiativeKind.PILOT,
                       status=InitiativeStatus.ACTIVE, summary="benchmark", search_folded=" bench ")
            for n in range(INVOLVEMENTS_PER_PARENT)
        ]  # fmt: skip
        municipalities = [
            Municipality(
                code=f"GM{n:04d}", name=f"Bench {n}", name_folded=f"bench{n}", province="Noord-Brabant"
            )
            for n in range(PARENTS)
        ]
        session.add_all([*initiatives, *municipalities])
        await session.flush()
        session.add_all(
            Involvement(initiative_id=i.id, participant_id=m.id, role=PartnerRole.PARTNER)
            for m in municipalities
            for i in initiatives
        )
        await session.flush()
        ids = [m.id for m in municipalities]
    await engine.dispose()
    return ids


async def _timed(work: Callable[[], Awaitable[object]], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


async def main(url: str) -> None:
    parent_ids = await _populate(url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    statement = select(*Involvement.__table__.c)
    request = PageRequest(first=10)
    print(f"database: {engine.dialect.name}; {INVOLVEMENTS_PER_PARENT} involvements per parent; first: 10")
    print(f"{'parents':>8} {'per-parent ms':>14} {'batched ms':>11} {'ratio':>6}")
    for count in (10, 100, 1000):
        ids = parent_ids[:count]

        async def per_parent(ids: list[int] = ids) -> None:
            async with sessionmaker() as session:
                for parent_id in ids:
                    await fetch_page(
                        session,
                        statement.where(Involvement.participant_id == parent_id),
                        Involvement.id,
                        request,
                    )

        async def batched(ids: list[int] = ids) -> None:
            async with sessionmaker() as session:
                await fetch_pages_by_parent(
                    session, statement, parent=Involvement.participant_id, key=Involvement.id,
                    parent_ids=ids, request=request,
                )  # fmt: skip

        repeat = 5 if count < 1000 else 3
        baseline = await _timed(per_parent, repeat)
        ours = await _timed(batched, repeat)
        print(f"{count:>8} {baseline:>14.1f} {ours:>11.1f} {baseline / ours:>6.1f}")
    await engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as directory:
            asyncio.run(main(f"sqlite+aiosqlite:///{directory}/bench.db"))
