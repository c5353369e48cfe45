"""N+1 guard: the number of SQL statements depends on a query's shape, not on how many rows it returns."""

from __future__ import annotations

from app.models import Initiative, Involvement, Municipality
from app.models.enums import InitiativeKind, InitiativeStatus, PartnerRole
from app.services.text import fold, search_document
from tests.conftest import Api

NESTED = """
query($name: String!) {
  municipalities(first: 100, filter: {nameContains: $name}) {
    totalCount
    nodes {
      code name active regions { name } current { code } predecessors { code } sources { quote }
      involvements(first: 100) {
        totalCount
        nodes {
          role sources { quote document { title } }
          initiative {
            name crossOverThemes reportedFigures { value }
            involvements(first: 3) {
              totalCount
              nodes { role participant { name ... on Municipality { code formedBy { name } } } }
            }
          }
        }
      }
    }
  }
}
"""


async def _generate(api: Api, prefix: str, municipalities: int, initiatives: int) -> int:
    """Test rows (not data): every municipality involved in every initiative of its group."""
    async with api.app.state.sessionmaker() as session, session.begin():
        group_initiatives = [
            Initiative(
                slug=f"{prefix.lower()}-{number}",
                name=f"{prefix} initiative {number}",
                kind=InitiativeKind.PILOT,
                status=InitiativeStatus.ACTIVE,
                summary="generated for a test",
                search_folded=search_document(f"{prefix} initiative {number}"),
            )
            for number in range(initiatives)
        ]
        start = 5000 if prefix == "Groot" else 9000
        group_municipalities = [
            Municipality(
                code=f"GM{start + number:04d}",
                name=f"{prefix}gemeente {number}",
                name_folded=fold(f"{prefix}gemeente {number}"),
                province="Noord-Brabant",
            )
            for number in range(municipalities)
        ]
        session.add_all(group_initiatives + group_municipalities)
        await session.flush()
        session.add_all(
            Involvement(initiative_id=initiative.id, participant_id=municipality.id, role=PartnerRole.PARTNER)
            for initiative in group_initiatives
            for municipality in group_municipalities
        )
    return municipalities * initiatives


async def test_statements_do_not_grow_with_rows(fresh_api: Api) -> None:
    small = await _generate(fresh_api, "Klein", municipalities=2, initiatives=5)
    large = await _generate(fresh_api, "Groot", municipalities=50, initiatives=20)
    assert (small, large) == (10, 1000)

    statements_small = await fresh_api.count_statements(NESTED, {"name": "Kleingemeente"})
    statements_large = await fresh_api.count_statements(NESTED, {"name": "Grootgemeente"})
    data = await fresh_api.data(NESTED, {"name": "Grootgemeente"})
    rows = sum(len(m["involvements"]["nodes"]) for m in data["municipalities"]["nodes"])
    assert rows == 1000, "the large query really returns 1,000 involvements"
    assert statements_small == statements_large
    assert statements_large < 30, f"{statements_large} statements for one nested query"


async def test_memo_query_statement_count_is_pinned(api: Api) -> None:
    """The full memo at every level (as the frontends ask) in a fixed, small number of statements."""
    count = await api.count_statements(NESTED, {"name": "e"})
    assert count <= 25
