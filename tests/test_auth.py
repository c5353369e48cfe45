"""API tokens: no mutation without a write token; nothing that helps guessing; reads optionally guarded."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Api, _api, migrated_and_seeded
from tests.sources import SOURCES_LITERAL

CREATE = f"""mutation {{ createOrganization(input: {{slug: "new-org", name: "New", kind: OTHER, {SOURCES_LITERAL}}}) {{
    organization {{ slug }} errors {{ code }} }} }}"""


async def _change_count(api: Api) -> int:
    page = await api.data("{ changes(afterSequence: 0, first: 1000) { nodes { sequence } } }")
    return len(page["changes"]["nodes"])


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "UNAUTHENTICATED"),
        ("vk_not-a-real-token", "UNAUTHENTICATED"),
        ("", "UNAUTHENTICATED"),
        ("read", "FORBIDDEN"),
        ("revoked", "UNAUTHENTICATED"),
    ],
)
async def test_mutations_need_a_write_token(writer: Api, token: str | None, code: str) -> None:
    read_token = await writer.make_token("reader", "read")
    revoked = await writer.make_token("gone", "write")
    async with writer.app.state.sessionmaker() as session, session.begin():
        from app.services.tokens import revoke_token

        await revoke_token(session, name="gone")
    before = await _change_count(writer)
    writer.token = {"read": read_token, "revoked": revoked}.get(token or "", token)
    (error,) = await writer.errors(CREATE)
    assert error["extensions"]["code"] == code
    assert "vk_" not in error["message"], "the answer does not echo the token"
    writer.token = None
    assert await _change_count(writer) == before, "nothing was written"
    assert (await writer.post('{ organization(slug: "new-org") { slug } }'))["data"]["organization"] is None


async def test_a_write_token_writes_and_is_named_in_the_log(writer: Api) -> None:
    data = await writer.data(CREATE)
    assert data["createOrganization"] == {"organization": {"slug": "new-org"}, "errors": []}
    page = await writer.data("{ changes(afterSequence: 0, first: 1000) { nodes { actor entityType } } }")
    assert page["changes"]["nodes"][-1] == {"actor": "editor", "entityType": "Organization"}


async def test_malformed_authorization_header(writer: Api) -> None:
    for header in ("Basic abc", "Bearer", "vk_abc"):
        response = await writer.client.post(
            "/graphql", json={"query": CREATE}, headers={"Authorization": header}
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture
async def guarded(fresh_url: str) -> AsyncIterator[Api]:
    await migrated_and_seeded(fresh_url)
    async for instance in _api(fresh_url, require_token_for_reads=True):
        yield instance


async def test_reads_can_require_a_token(guarded: Api) -> None:
    query = '{ municipality(code: "GM0879") { name } }'
    (error,) = await guarded.errors(query)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    ids = await guarded.post('{ node(id: "TXVuaWNpcGFsaXR5OkdNMDg3OQ==") { id } }')
    assert ids["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    guarded.token = await guarded.make_token("viewer", "read")
    assert (await guarded.data(query))["municipality"]["name"] == "Zundert"


def test_token_cli(fresh_url: str) -> None:
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args, "--database-url", fresh_url],
            capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent, timeout=120,
        )  # fmt: skip

    assert run("db", "upgrade").returncode == 0
    created = run("token", "create", "--name", "impact-monitor", "--scope", "write")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("vk_")
    assert len(token) > 40
    again = run("token", "create", "--name", "impact-monitor", "--scope", "read")
    assert again.returncode == 1
    assert "exists already" in again.stderr
    listed = run("token", "list").stdout
    assert "impact-monitor\twrite" in listed
    assert token not in listed, "only the hash is stored"
    assert run("token", "revoke", "impact-monitor").returncode == 0
    assert "revoked" in run("token", "list").stdout.split("\t")[-1]
    assert run("token", "revoke", "nobody").returncode == 1
