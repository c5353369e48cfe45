"""First start: migrate the database and load the bundled dataset if it is empty, once, under a lock."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from app.data.loader import database_is_empty, load_dataset, read_dataset
from app.db import create_sessionmaker
from app.migrate import bootstrap_lock, upgrade
from app.services.audit import lock_change_log

log = logging.getLogger("veerkracht.bootstrap")


async def seed(engine: AsyncEngine) -> bool:
    """Load the bundled dataset in one transaction. False when this exact content was loaded before."""
    dataset = read_dataset()  # validates everything before a single row is written
    async with create_sessionmaker(engine)() as session, session.begin():
        session.info["actor"] = "seed"
        await lock_change_log(session)
        return await load_dataset(session, dataset)


async def bootstrap(engine: AsyncEngine) -> None:
    """Bring the database to the newest migration and, when it holds no data yet, load the dataset.

    Safe when several instances start at once against one database: the work runs under a lock, and the
    second instance finds the migrations applied and the data present.
    """
    async with bootstrap_lock(engine):
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            empty = await database_is_empty(session)
        if empty:
            loaded = await seed(engine)
            log.info("loaded the bundled dataset" if loaded else "bundled dataset already loaded")
