"""The write side's domain logic: each function runs inside the caller's transaction and either succeeds
completely or raises :class:`Rejected` with every problem found (the caller rolls back).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Fusion,
    FusionMunicipality,
    Initiative,
    InitiativeTheme,
    Involvement,
    Municipality,
    Organization,
    Participant,
)
from app.models.enums import (
    FusionKind,
    FusionSide,
    InitiativeKind,
    InitiativeStatus,
    OrganizationKind,
    PartnerRole,
)
from app.services import citations
from app.services.citations import CitationSpec
from app.services.text import fold, search_document, storable

# Matched with fullmatch: with `^...$`, "pilot-altena\n" passed as a slug (`$` matches before a final
# newline); and [0-9], since `\d` takes any script's digits, which no CBS code has.
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
CODE = re.compile(r"GM[0-9]{4}")
WEBSITE = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
PROVINCE = "Noord-Brabant"
MAX_WEBSITE = 500
"""Characters in a website (the column's width)."""
MAX_LISTED = 100
"""Items in a list of an input (themes, codes): each is a statement parameter, and there is a limit."""


@dataclass(frozen=True)
class Problem:
    field: tuple[str, ...]
    message: str
    code: str  # NOT_FOUND | DUPLICATE | INVALID | CONFLICT


@dataclass
class Rejected(Exception):
    """The write was refused; nothing of it may be kept."""

    problems: list[Problem] = field(default_factory=list)


_DUTCH = {
    "name": "naam", "summary": "samenvatting", "description": "beschrijving", "website": "website",
    "theme": "thema", "themes": "thema's", "codes": "codes",
}  # fmt: skip
"""What a check is about, in Dutch: messages for people are Dutch (issue 12)."""


def _dutch(what: str) -> str:
    return _DUTCH.get(what, what)


class _Checks:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: Sequence[str], message: str, code: str = "INVALID") -> None:
        self.problems.append(Problem(tuple(path), message, code))

    def text(
        self,
        path: Sequence[str],
        value: str | None,
        what: str,
        *,
        maximum: int = 300,
        folded_maximum: int | None = None,
    ) -> bool:
        """Check a text; ``folded_maximum`` bounds its folded form (stored beside it, in a column that wide).

        Whether it passed: only text that passed may be used in a statement.
        """
        problems = len(self.problems)
        if value is None:
            return True
        if not value.strip():
            self.add(path, f"De {_dutch(what)} mag niet leeg zijn.")
        elif not storable(value):
            self.add(path, f"De {_dutch(what)} bevat een NUL-teken of een losse surrogaat; haal dat weg.")
        elif len(value) > maximum:
            self.add(path, f"De {_dutch(what)} is langer dan {maximum} tekens.")
        elif folded_maximum is not None and len(fold(value)) > folded_maximum:
            # fold() spells ligatures and symbols out ("㎯" is "rads2"): a short name can fold long.
            self.add(
                path,
                f"De {_dutch(what)} is langer dan {folded_maximum} letters en cijfers als de ligaturen en "
                "symbolen worden uitgeschreven.",
            )
        return len(self.problems) == problems

    def slug(self, path: Sequence[str], value: str) -> bool:
        if not SLUG.fullmatch(value) or len(value) > 100:
            self.add(
                path,
                f'{value!r} is geen slug: gebruik kleine letters, cijfers en enkele koppeltekens, bijv. "pilot-altena".',
            )
            return False
        return True

    def count(self, path: Sequence[str], values: Sequence[object], what: str) -> None:
        if len(values) > MAX_LISTED:
            self.add(path, f"Geef hoogstens {MAX_LISTED} {_dutch(what)} (gekregen: {len(values)}).")

    def raise_if_any(self) -> None:
        if self.problems:
            raise Rejected(self.problems)


def _check_themes(checks: _Checks, themes: Sequence[str]) -> None:
    checks.count(("input", "crossOverThemes"), themes, "themes")
    for index, theme in enumerate(themes[:MAX_LISTED]):
        checks.text(("input", "crossOverThemes", str(index)), theme, "theme", maximum=200, folded_maximum=200)


def _themes(session: AsyncSession, initiative: Initiative, themes: Sequence[str]) -> None:
    for position, theme in enumerate(dict.fromkeys(theme.strip() for theme in themes)):
        session.add(
            InitiativeTheme(
                initiative_id=initiative.id, position=position, theme=theme, theme_folded=fold(theme)
            )
        )


async def create_initiative(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    kind: InitiativeKind,
    status: InitiativeStatus,
    summary: str,
    cross_over_themes: Sequence[str],
    sources: Sequence[CitationSpec] | None,
) -> Initiative:
    checks = _Checks()
    slug_ok = checks.slug(("input", "slug"), slug)
    checks.text(("input", "name"), name, "name")
    checks.text(("input", "summary"), summary, "summary", maximum=5000)
    _check_themes(checks, cross_over_themes)
    if slug_ok and await session.scalar(select(Initiative.id).where(Initiative.slug == slug)) is not None:
        checks.add(("input", "slug"), f"Er bestaat al een initiatief met slug {slug!r}.", "DUPLICATE")
    cited = await citations.check(session, checks.add, sources)
    checks.raise_if_any()
    initiative = Initiative(
        slug=slug, name=name.strip(), kind=kind, status=status, summary=summary.strip(),
        search_folded=search_document(name, summary),
    )  # fmt: skip
    session.add(initiative)
    await session.flush()
    _themes(session, initiative, cross_over_themes)
    await session.flush()
    await citations.attach(session, cited, initiative_id=initiative.id)
    return initiative


async def update_initiative(
    session: AsyncSession,
    initiative: Initiative,
    *,
    version: int,
    name: str | None,
    kind: InitiativeKind | None,
    status: InitiativeStatus | None,
    summary: str | None,
    cross_over_themes: Sequence[str] | None,
    sources: Sequence[CitationSpec] | None = None,
) -> Initiative:
    """Change what is given; ``sources``, when given, replace its citations (at least one)."""
    checks = _Checks()
    if version != initiative.version:
        checks.add(
            ("input", "version"),
            f"Het initiatief is veranderd sinds u het las (u stuurde versie {version}, het is nu versie "
            f"{initiative.version}); lees het opnieuw en breng uw wijziging opnieuw aan.",
            "CONFLICT",
        )
        checks.raise_if_any()
    checks.text(("input", "name"), name, "name")
    checks.text(("input", "summary"), summary, "summary", maximum=5000)
    if cross_over_themes is not None:
        _check_themes(checks, cross_over_themes)
    cited = await citations.check(session, checks.add, sources) if sources is not None else None
    checks.raise_if_any()
    # Citations and themes first: their statements autoflush, and the initiative's row must change in one
    # UPDATE (each UPDATE raises its version).
    if cited is not None:
        await citations.replace(session, cited, initiative_id=initiative.id)
    if cross_over_themes is not None:
        await session.execute(delete(InitiativeTheme).where(InitiativeTheme.initiative_id == initiative.id))
        _themes(session, initiative, cross_over_themes)
        await session.flush()
    if cited is not None or cross_over_themes is not None:
        # A change of its themes or sources is a change of the initiative.
        initiative.updated_at = dt.datetime.now(dt.UTC)
    if name is not None:
        initiative.name = name.strip()
    if kind is not None:
        initiative.kind = kind
    if status is not None:
        initiative.status = status
    if summary is not None and summary.strip() != initiative.summary:
        initiative.summary = summary.strip()  # Dutch, the source language:
        initiative.summary_en = None  # its English translation no longer says the same
    initiative.search_folded = search_document(initiative.name, initiative.summary)
    await session.flush()
    return initiative


async def delete_initiative(session: AsyncSession, initiative: Initiative) -> None:
    """Delete it and its involvements (each deletion is logged)."""
    for involvement in (
        await session.scalars(select(Involvement).where(Involvement.initiative_id == initiative.id))
    ).all():
        await session.delete(involvement)
    await session.flush()
    await session.delete(initiative)
    await session.flush()


async def add_involvement(
    session: AsyncSession,
    *,
    initiative: Initiative,
    participant: Participant,
    role: PartnerRole,
    description: str | None,
    sources: Sequence[CitationSpec] | None,
) -> Involvement:
    checks = _Checks()
    checks.text(("input", "description"), description, "description", maximum=2000)
    cited = await citations.check(session, checks.add, sources)
    duplicate = await session.scalar(
        select(Involvement.id).where(
            Involvement.initiative_id == initiative.id,
            Involvement.participant_id == participant.id,
            Involvement.role == role,
        )
    )
    if duplicate is not None:
        checks.add(
            ("input", "role"),
            f"{participant.name} is al betrokken bij {initiative.name} als {role.value}.",
            "DUPLICATE",
        )
    checks.raise_if_any()
    involvement = Involvement(
        initiative_id=initiative.id, participant_id=participant.id, role=role,
        description=description.strip() if description else None,
    )  # fmt: skip
    session.add(involvement)
    await session.flush()
    await citations.attach(session, cited, involvement_id=involvement.id)
    return involvement


async def update_involvement(
    session: AsyncSession,
    involvement: Involvement,
    *,
    version: int,
    role: PartnerRole | None,
    description: str | None,
    change_description: bool,
    sources: Sequence[CitationSpec] | None,
) -> Involvement:
    """Change its role, its description (``change_description``: to ``description``, None clears it) and,
    when ``sources`` is given, replace its citations (at least one)."""
    checks = _Checks()
    if version != involvement.version:
        checks.add(
            ("input", "version"),
            f"The involvement changed since you read it (you sent version {version}, it is at "
            f"{involvement.version}); read it again and reapply your change.",
            "CONFLICT",
        )
        checks.raise_if_any()
    if change_description:
        checks.text(("input", "description"), description, "description", maximum=2000)
    cited = await citations.check(session, checks.add, sources) if sources is not None else None
    if role is not None and role is not involvement.role:
        duplicate = await session.scalar(
            select(Involvement.id).where(
                Involvement.initiative_id == involvement.initiative_id,
                Involvement.participant_id == involvement.participant_id,
                Involvement.role == role,
            )
        )
        if duplicate is not None:
            checks.add(
                ("input", "role"),
                f"This participant is already involved in this initiative as {role.value}.",
                "DUPLICATE",
            )
    checks.raise_if_any()
    if cited is not None:
        # Citations first: their statements autoflush, and the involvement's row must change in one
        # UPDATE (each UPDATE raises its version). A change of sources is a change of the involvement.
        await citations.replace(session, cited, involvement_id=involvement.id)
        involvement.updated_at = dt.datetime.now(dt.UTC)
    if role is not None:
        involvement.role = role
    if change_description:
        involvement.description = description.strip() if description else None
    await session.flush()
    return involvement


async def create_organization(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    kind: OrganizationKind,
    website: str | None,
    sources: Sequence[CitationSpec] | None,
) -> Organization:
    checks = _Checks()
    slug_ok = checks.slug(("input", "slug"), slug)
    checks.text(("input", "name"), name, "name", maximum=200, folded_maximum=200)
    if website is not None and not WEBSITE.fullmatch(website):
        checks.add(("input", "website"), f"{website!r} is geen webadres dat begint met http:// of https://.")
    elif website is not None:
        checks.text(("input", "website"), website, "website", maximum=MAX_WEBSITE)
    if slug_ok and await session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        checks.add(("input", "slug"), f"Er bestaat al een organisatie met slug {slug!r}.", "DUPLICATE")
    cited = await citations.check(session, checks.add, sources)
    checks.raise_if_any()
    organization = Organization(
        slug=slug, name=name.strip(), name_folded=fold(name), kind=kind, website=website
    )
    session.add(organization)
    await session.flush()
    await citations.attach(session, cited, participant_id=organization.id)
    return organization


async def record_fusion(
    session: AsyncSession,
    *,
    name: str,
    kind: FusionKind,
    effective_on: dt.date,
    dissolved_codes: Sequence[str],
    resulting_codes: Sequence[str],
    resulting_name: str | None,
    sources: Sequence[CitationSpec] | None,
) -> Fusion:
    """Dissolve the municipalities on ``effective_on``; for a merger, create the new one."""
    checks = _Checks()
    name_ok = checks.text(("input", "name"), name, "name", maximum=200)
    if resulting_name is not None and resulting_name.strip():  # an empty one is dealt with below, by kind
        checks.text(("input", "resultingName"), resulting_name, "name", maximum=200, folded_maximum=200)
    if not dissolved_codes:
        checks.add(("input", "dissolvedCodes"), "Noem minstens één gemeente die wordt opgeheven.")
    if set(dissolved_codes) & set(resulting_codes):
        checks.add(
            ("input", "resultingCodes"),
            "Een gemeente kan niet tegelijk opgeheven worden en eruit voortkomen.",
        )
    for label, codes in (("dissolvedCodes", dissolved_codes), ("resultingCodes", resulting_codes)):
        checks.count(("input", label), codes, "codes")
        for index, code in enumerate(codes[:MAX_LISTED]):
            if not CODE.fullmatch(code):
                checks.add(("input", label, str(index)), f"{code!r} is geen CBS-code (GM en vier cijfers).")
        if len(set(codes)) != len(codes):
            checks.add(("input", label), "Een code staat er twee keer in.")
    if name_ok and await session.scalar(
        select(Fusion.id).where(Fusion.name == name, Fusion.effective_on == effective_on)
    ):
        checks.add(
            ("input", "name"), f"Een herindeling {name!r} op {effective_on} is al vastgelegd.", "DUPLICATE"
        )
    cited = await citations.check(session, checks.add, sources)
    checks.raise_if_any()

    async def existing(label: str, codes: Sequence[str]) -> list[Municipality]:
        rows = {
            m.code: m
            for m in (await session.scalars(select(Municipality).where(Municipality.code.in_(codes)))).all()
        }
        for index, code in enumerate(codes):
            if code not in rows:
                checks.add(
                    ("input", label, str(index)), f"Er is geen gemeente met code {code!r}.", "NOT_FOUND"
                )
        return [rows[code] for code in codes if code in rows]

    dissolved = await existing("dissolvedCodes", dissolved_codes)
    # Compared with effective_on itself: `effective_on - 1 day` overflows on 0001-01-01.
    for index, municipality in enumerate(dissolved):
        path = ("input", "dissolvedCodes", str(index))
        if municipality.dissolved_on is not None and municipality.dissolved_on <= effective_on:
            checks.add(path, f"{municipality.name} was al opgeheven op {municipality.dissolved_on}.")
        elif municipality.founded_on is not None and municipality.founded_on >= effective_on:
            checks.add(
                path,
                f"{municipality.name} is opgericht op {municipality.founded_on}, niet vóór {effective_on}.",
            )
    resulting: list[Municipality] = []
    if kind is FusionKind.MERGER:
        if len(resulting_codes) != 1:
            checks.add(
                ("input", "resultingCodes"), "Een MERGER vormt precies één nieuwe gemeente: geef haar code."
            )
        if not resulting_name or not resulting_name.strip():
            checks.add(("input", "resultingName"), "Een MERGER heeft de naam van de nieuwe gemeente nodig.")
        new_code = resulting_codes[0] if len(resulting_codes) == 1 else None
        if (
            new_code
            and await session.scalar(select(Municipality.id).where(Municipality.code == new_code)) is not None
        ):
            checks.add(
                ("input", "resultingCodes", "0"),
                f"{new_code} bestaat al; een MERGER vormt een nieuwe gemeente.",
                "DUPLICATE",
            )
    else:
        if len(dissolved_codes) != 1:
            checks.add(("input", "dissolvedCodes"), "Een SPLIT heft precies één gemeente op.")
        if resulting_name is not None:
            checks.add(
                ("input", "resultingName"),
                "Een SPLIT verdeelt een gemeente over bestaande gemeenten: laat resultingName weg.",
            )
        if not resulting_codes:
            checks.add(("input", "resultingCodes"), "Noem de gemeenten die het grondgebied overnemen.")
        resulting = await existing("resultingCodes", resulting_codes)
        for index, municipality in enumerate(resulting):
            if not (
                (municipality.founded_on is None or municipality.founded_on < effective_on)
                and (municipality.dissolved_on is None or municipality.dissolved_on > effective_on)
            ):
                checks.add(
                    ("input", "resultingCodes", str(index)),
                    f"{municipality.name} bestaat niet op {effective_on}.",
                )
    checks.raise_if_any()

    if kind is FusionKind.MERGER:
        assert resulting_name is not None
        new = Municipality(
            code=resulting_codes[0], name=resulting_name.strip(), name_folded=fold(resulting_name),
            province=PROVINCE, founded_on=effective_on,
        )  # fmt: skip
        session.add(new)
        resulting = [new]
    for municipality in dissolved:
        municipality.dissolved_on = effective_on
    fusion = Fusion(name=name.strip(), kind=kind, effective_on=effective_on)
    session.add(fusion)
    await session.flush()
    session.add_all(
        [
            FusionMunicipality(fusion_id=fusion.id, municipality_id=m.id, side=FusionSide.DISSOLVED)
            for m in dissolved
        ]
        + [
            FusionMunicipality(fusion_id=fusion.id, municipality_id=m.id, side=FusionSide.RESULTING)
            for m in resulting
        ]
    )
    await session.flush()
    await citations.attach(session, cited, fusion_id=fusion.id)
    if kind is FusionKind.MERGER:
        # The new municipality is a fact too (its code and name): the fusion's sources state it.
        await citations.attach(session, cited, participant_id=resulting[0].id)
    return fusion
