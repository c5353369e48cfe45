"""Apollo Federation v2: our subgraph composes with another provincial subgraph behind a real gateway."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Api
from tests.npm import npm_ci
from tests.servers import ROOT, free_port, servers

FEDERATION = Path(__file__).parent / "federation"


async def test_subgraph_sdl_declares_the_entities(api: Api) -> None:
    sdl = (await api.data("{ _service { sdl } }"))["_service"]["sdl"]
    assert 'type Municipality implements Participant & Node @key(fields: "code")' in sdl
    assert 'type Organization implements Participant & Node @key(fields: "slug")' in sdl
    assert 'type Initiative implements Node @key(fields: "slug")' in sdl
    assert "specs.apollo.dev/federation/v2" in sdl


ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
    ... on Municipality { name involvements { totalCount } }
    ... on Initiative { name }
    ... on Organization { name } } }"""


async def test_entities_are_resolved_in_batches(api: Api) -> None:
    codes = [
        "GM0879",
        "GM1959",
        "GM0855",
        "GM0796",
        "GM0758",
        "GM0772",
        "GM0794",
        "GM1724",
        "GM0826",
        "GM1948",
    ]

    def representations(count: int) -> list[dict[str, str]]:
        return [{"__typename": "Municipality", "code": code} for code in codes[:count]] + [
            {"__typename": "Initiative", "slug": "pilot-altena"},
            {"__typename": "Organization", "slug": "pon"},
        ]

    few = await api.count_statements(ENTITIES, {"representations": representations(2)})
    many = await api.count_statements(ENTITIES, {"representations": representations(10)})
    assert few == many, "one statement per kind of entity, not one per entity"
    data = await api.data(ENTITIES, {"representations": representations(10)})
    names = [entity["name"] for entity in data["_entities"]]
    assert names[:2] == ["Zundert", "Altena"]
    assert names[-2:] == ["Pilot Altena", "PON"]
    unknown = await api.data(
        ENTITIES, {"representations": [{"__typename": "Municipality", "code": "GM9999"}]}
    )
    assert unknown["_entities"] == [None]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return npm_ci(FEDERATION, "the federation gateway test")


@pytest.fixture
def monitor_subgraph() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "tests.federation.monitor_subgraph:create_app", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.post(url, json={"query": "{ __typename }"}, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_query_across_both_subgraphs_through_a_real_gateway(
    node_modules: Path, monitor_subgraph: str, fresh_url: str, backend: str
) -> None:
    with servers(fresh_url, 1) as (veerkracht,):
        port = free_port()
        gateway = subprocess.Popen(
            ["node", "gateway.mjs", str(port), f"veerkracht={veerkracht.url}", f"monitor={monitor_subgraph}"],
            cwd=FEDERATION, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
        )  # fmt: skip
        try:
            assert gateway.stdout is not None
            line = gateway.stdout.readline()
            assert line.startswith("READY"), (line, gateway.stderr.read() if gateway.stderr else "")
            query = """{
              monitoredInitiatives { slug budgetEur name kind involvements { totalCount } }
              municipality(code: "GM1959") { name monitorScore predecessors { name } }
            }"""
            body = httpx.post(f"http://127.0.0.1:{port}/", json={"query": query}, timeout=30).json()
            assert "errors" not in body, body
            initiatives = {i["slug"]: i for i in body["data"]["monitoredInitiatives"]}
            assert initiatives["pilot-altena"] == {
                "slug": "pilot-altena", "budgetEur": 120000, "name": "Pilot Altena", "kind": "PILOT",
                "involvements": {"totalCount": 11},
            }  # fmt: skip
            assert initiatives["veerkrachtdialoog"]["name"] == "Veerkrachtdialoog"
            municipality = body["data"]["municipality"]
            assert (municipality["name"], municipality["monitorScore"]) == ("Altena", 7.5)
            assert sorted(p["name"] for p in municipality["predecessors"]) == [
                "Aalburg",
                "Werkendam",
                "Woudrichem",
            ]
        finally:
            gateway.terminate()
            gateway.communicate(timeout=10)  # waits, and closes its pipes
