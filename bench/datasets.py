"""Benchmark datasets: the bundled data plus synthetic initiatives and involvements, on PostgreSQL.

    python bench/datasets.py postgresql://postgres@127.0.0.1:5432/vk_bench 10    (migrate, seed, grow to 10x)

Scale k holds about 200*k initiatives, 2,400*k involvements and 3,000*k citations (the bundled 9, 53 and
274 included). Every 10th synthetic initiative is a programme with about 30 participants; 15 % of them also
involved a municipality dissolved since (the history `includePredecessors` finds); every synthetic
involvement cites a quote of one of 12 synthetic documents (a quarter a second one). The 71 municipalities
stay Brabant's real ones; organisations grow modestly (20*sqrt(k) synthetic ones). Synthetic
rows are recognisable (slugs ``bench-...``, summary "Synthetic benchmark initiative"), are written with COPY
straight into the tables (never into the bundled dataset), and are the same rows whichever way a scale is
reached: each row's content comes from a random generator seeded with its own index, so growing 1x -> 10x ->
100x gives the same database as building 100x at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import sys
from dataclasses import dataclass

import asyncpg

from app.bootstrap import seed
from app.db import create_engine
from app.migrate import upgrade
from app.models.enums import InitiativeKind, InitiativeStatus, OrganizationKind, PartnerRole
from app.services.text import fold, search_document

INITIATIVES_PER_SCALE = 200
INVOLVEMENTS_PER_INITIATIVE = (4, 16)  # uniform: 10 on average
PROGRAMME_EVERY = 10
PROGRAMME_INVOLVEMENTS = (24, 36)
"""Every 10th synthetic initiative is a programme with 24 to 36 participants (30 on average), as the memo's
province-wide programmes are: the provenance page's initiatives. On average 12 involvements per initiative."""
HISTORY_SHARE = 0.15
"""Share of synthetic initiatives that also involved one municipality that has since been dissolved (Uden,
Landerd, Veghel, ...): the history `includePredecessors` walks to."""
CITATIONS_EXTRA_SHARE = 0.25
"""Every synthetic involvement cites one quote; this share cites a second one (another document)."""
DOCUMENTS = 12
"""Synthetic source documents ("Bench verslag 1" ...), whose quotes the synthetic involvements cite."""
MUNICIPALITY_SHARE = 0.7
"""Of an initiative's participants, this share are municipalities; the rest organisations."""
ORGANIZATIONS_PER_SQRT_SCALE = 20
SUMMARY = "Synthetic benchmark initiative"
SLUG_PREFIX = "bench-"

# (name prefix, kind): the name says what sort of initiative it is, as the real ones do.
_SORTS = [
    ("Pilot", InitiativeKind.PILOT),
    ("Proeftuin", InitiativeKind.TEST_BED),
    ("Methode", InitiativeKind.METHOD),
    ("Programma", InitiativeKind.PROGRAMME),
    ("Netwerk", InitiativeKind.NETWORK),
    ("Fonds", InitiativeKind.FUND),
    ("Kennisuitwisseling", InitiativeKind.KNOWLEDGE_EXCHANGE),
]
_VERBS = ["neemt deel aan", "werkt mee aan", "draagt bij aan", "is betrokken bij", "ondersteunt"]
_TOPICS = [
    "Zorg", "Energie", "Wonen", "Armoede", "Jeugd", "Werk", "Dementie", "Eenzaamheid", "Mobiliteit",
    "Buitengebied", "Veerkracht", "Inkoop", "Schulden", "Gezondheid", "Klimaat", "Water",
]  # fmt: skip
SEARCH_TERM = "energie"
"""The filtered-search shape's term: one topic in 16, plus the bundled "energietransitie" pilot."""
_STATUSES = [InitiativeStatus.EXPLORING, InitiativeStatus.ACTIVE, InitiativeStatus.COMPLETED]
_STATUS_WEIGHTS = [2, 6, 2]
_OTHER_ROLES = [
    PartnerRole.PARTNER, PartnerRole.PARTICIPANT, PartnerRole.OBSERVER, PartnerRole.EXPLORING,
    PartnerRole.HOST, PartnerRole.EXECUTOR, PartnerRole.FUNDER, PartnerRole.MEMBER,
]  # fmt: skip
_OTHER_ROLE_WEIGHTS = [10, 8, 1, 1, 2, 2, 1, 1]
_ORGANIZATION_KINDS = [
    OrganizationKind.FOUNDATION, OrganizationKind.COMPANY, OrganizationKind.KNOWLEDGE_INSTITUTE,
    OrganizationKind.NETWORK, OrganizationKind.CITIZEN_GROUP, OrganizationKind.OTHER,
]  # fmt: skip


@dataclass(frozen=True)
class Counts:
    initiatives: int
    involvements: int
    municipalities: int
    organizations: int
    citations: int = 0


def sqlalchemy_url(dsn: str) -> str:
    return "postgresql+asyncpg://" + dsn.split("://", 1)[1]


async def create_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
        # The planner's page cost the API sets for its own sessions (app.db.session_settings), here for
        # every session on the database, so that PostGraphile and the ceiling plan with it too.
        await connection.execute(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1')
    finally:
        await connection.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def migrate_and_seed(dsn: str) -> None:
    """The schema of the newest migration and the bundled dataset, as `python -m app seed` loads them."""
    engine = create_engine(sqlalchemy_url(dsn))
    try:
        await upgrade(engine)
        await seed(engine)
    finally:
        await engine.dispose()


async def _ensure_documents(connection: asyncpg.Connection) -> list[int]:
    """The synthetic source documents (the same ones at every scale), created once; their ids."""
    have = await connection.fetch(
        "SELECT id FROM source_document WHERE slug LIKE $1 ORDER BY id", SLUG_PREFIX + "doc-%"
    )
    if len(have) >= DOCUMENTS:
        return [row["id"] for row in have]
    next_id = await _next_id(connection, "source_document")
    rows = []
    for index in range(len(have), DOCUMENTS):
        rows.append(
            (
                next_id + index - len(have),
                f"{SLUG_PREFIX}doc-{index}",
                f"Bench verslag {index + 1}: voortgang Versterken Sociale Veerkracht (synthetisch)",
                dt.date(2019, 1 + index % 12, 1 + index),
                "Synthetic benchmark document",
            )
        )
    await connection.copy_records_to_table(
        "source_document", records=rows, columns=["id", "slug", "title", "date", "description"]
    )
    await _reset_sequence(connection, "source_document")
    return [row[0] for row in rows] if not have else [row["id"] for row in have] + [row[0] for row in rows]


async def _next_id(connection: asyncpg.Connection, table: str) -> int:
    value = await connection.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return int(value)


async def _reset_sequence(connection: asyncpg.Connection, table: str) -> None:
    await connection.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
    )


async def _grow_organizations(connection: asyncpg.Connection, target: int) -> None:
    have = await connection.fetchval(
        "SELECT count(*) FROM organization WHERE slug LIKE $1", SLUG_PREFIX + "org-%"
    )
    if have >= target:
        return
    next_id = await _next_id(connection, "participant")
    participants, organizations = [], []
    for index in range(have, target):
        rng = random.Random(f"organization-{index}")
        kind = rng.choice(_ORGANIZATION_KINDS)
        name = f"Bench {kind.value.replace('_', ' ').title()} {index}"
        participants.append((next_id, "organization", name, fold(name)))
        organizations.append((next_id, f"{SLUG_PREFIX}org-{index}", kind.value, None, None))
        next_id += 1
    await connection.copy_records_to_table(
        "participant", records=participants, columns=["id", "type", "name", "name_folded"]
    )
    await connection.copy_records_to_table(
        "organization",
        records=organizations,
        columns=["id", "slug", "kind", "website", "description"],
    )
    await _reset_sequence(connection, "participant")


def _weights(count: int) -> list[float]:
    """Bigger places take part in more: the i-th (in a fixed shuffled order) weighs 1/sqrt(i+1)."""
    return [1 / math.sqrt(rank + 1) for rank in range(count)]


async def _grow_initiatives(connection: asyncpg.Connection, target: int) -> None:
    bundled = await connection.fetchval("SELECT count(*) FROM initiative WHERE slug NOT LIKE 'bench-%'")
    have = await connection.fetchval("SELECT count(*) FROM initiative WHERE slug LIKE 'bench-%'")
    wanted = max(0, target - bundled)
    if have >= wanted:
        return
    # Municipalities that exist today, in a fixed order; synthetic organisations plus the bundled ones.
    municipalities = [
        (row["id"], row["name"])
        for row in await connection.fetch(
            "SELECT m.id, p.name FROM municipality m JOIN participant p USING (id) "
            "WHERE m.dissolved_on IS NULL ORDER BY m.code"
        )
    ]
    random.Random(0).shuffle(municipalities)
    municipality_weights = _weights(len(municipalities))
    organization_ids = [
        row["id"] for row in await connection.fetch("SELECT id FROM organization ORDER BY slug")
    ]
    organization_weights = _weights(len(organization_ids))
    dissolved = [
        (row["id"], row["name"])
        for row in await connection.fetch(
            "SELECT m.id, p.name FROM municipality m JOIN participant p USING (id) "
            "WHERE m.dissolved_on IS NOT NULL ORDER BY m.code"
        )
    ]
    documents = await _ensure_documents(connection)
    names = {row["id"]: row["name"] for row in await connection.fetch("SELECT id, name FROM participant")}

    next_initiative = await _next_id(connection, "initiative")
    next_involvement = await _next_id(connection, "involvement")
    next_citation = await _next_id(connection, "citation")
    initiatives, involvements, citations = [], [], []
    for index in range(have, wanted):
        rng = random.Random(f"initiative-{index}")
        prefix, kind = rng.choice(_SORTS)
        topic = rng.choice(_TOPICS)
        programme = index % PROGRAMME_EVERY == 0
        size = rng.randint(*(PROGRAMME_INVOLVEMENTS if programme else INVOLVEMENTS_PER_INITIATIVE))
        from_municipalities = min(len(municipalities), max(1, round(size * MUNICIPALITY_SHARE)))
        chosen: dict[int, str] = {}
        while len(chosen) < from_municipalities:
            (municipality_id, name) = rng.choices(municipalities, municipality_weights)[0]
            chosen.setdefault(municipality_id, name)
        participant_ids = list(chosen)
        organizations: set[int] = set()
        while len(organizations) < min(size - from_municipalities, len(organization_ids)):
            organizations.add(rng.choices(organization_ids, organization_weights)[0])
        participant_ids += sorted(organizations)
        # Separate generators, so that the rows above stay what they were before these were added.
        history = random.Random(f"history-{index}")
        if dissolved and history.random() < HISTORY_SHARE:
            participant_ids.append(history.choice(dissolved)[0])
        place = chosen[participant_ids[0]]
        name = f"{prefix} {topic} {place} {index}"
        initiative_id = next_initiative
        next_initiative += 1
        initiatives.append(
            (
                initiative_id,
                f"{SLUG_PREFIX}{index}",
                name,
                kind.value,
                rng.choices(_STATUSES, _STATUS_WEIGHTS)[0].value,
                SUMMARY,
                search_document(name, SUMMARY),
            )
        )
        for position, participant_id in enumerate(participant_ids):
            role = (
                PartnerRole.INITIATOR if position == 0 else rng.choices(_OTHER_ROLES, _OTHER_ROLE_WEIGHTS)[0]
            )
            description = f"{rng.randint(1, 9)} wijken" if rng.random() < 0.1 else None
            involvements.append((next_involvement, initiative_id, participant_id, role.value, description))
            quotes = random.Random(f"citation-{index}-{position}")
            cited = quotes.sample(documents, 2 if quotes.random() < CITATIONS_EXTRA_SHARE else 1)
            for document_id in cited:
                quote = (
                    f"{names.get(participant_id, 'De gemeente')} {quotes.choice(_VERBS)} {name}"
                    f" ({role.value.lower()}); zie paragraaf {quotes.randint(1, 40)}."
                )
                citations.append((next_citation, document_id, quote, next_involvement))
                next_citation += 1
            next_involvement += 1
    await connection.copy_records_to_table(
        "initiative",
        records=initiatives,
        columns=["id", "slug", "name", "kind", "status", "summary", "search_folded"],
    )
    await connection.copy_records_to_table(
        "involvement",
        records=involvements,
        columns=["id", "initiative_id", "participant_id", "role", "description"],
    )
    await connection.copy_records_to_table(
        "citation", records=citations, columns=["id", "document_id", "quote", "involvement_id"]
    )
    await _reset_sequence(connection, "initiative")
    await _reset_sequence(connection, "involvement")
    await _reset_sequence(connection, "citation")


async def grow(dsn: str, scale: int) -> Counts:
    """Add synthetic rows until the database holds scale k (a no-op for rows already there); ANALYZE."""
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await _grow_organizations(connection, round(ORGANIZATIONS_PER_SQRT_SCALE * math.sqrt(scale)))
            await _grow_initiatives(connection, INITIATIVES_PER_SCALE * scale)
        # VACUUM as well: the steady state autovacuum keeps (a GIN index built before a bulk COPY has its
        # new entries in a pending list until then, and the planner passes it by).
        await connection.execute("VACUUM ANALYZE")
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM initiative) AS initiatives,"
            " (SELECT count(*) FROM involvement) AS involvements,"
            " (SELECT count(*) FROM municipality) AS municipalities,"
            " (SELECT count(*) FROM organization) AS organizations,"
            " (SELECT count(*) FROM citation) AS citations"
        )
        return Counts(**dict(row))
    finally:
        await connection.close()


async def _main(dsn: str, scale: int) -> None:
    await migrate_and_seed(dsn)
    print(await grow(dsn, scale))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(_main(sys.argv[1], int(sys.argv[2])))
