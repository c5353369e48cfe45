"""OIDC access tokens (issue 14, item 4): JWTs of an identity provider whose JWKS a real process serves.

Keys are made here (cryptography); tokens are signed here (PyJWT) as a provider would sign them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from websockets.asyncio.client import connect

from tests.conftest import Api, _api, migrated_and_seeded
from tests.servers import servers
from tests.sources import SOURCES_LITERAL

ISSUER = "https://idp.test/realms/provincie"
AUDIENCE = "veerkracht-api"
CREATE = (
    'mutation { createOrganization(input: {slug: "oidc-org", name: "Via OIDC", kind: OTHER, '
    + SOURCES_LITERAL
    + "}) { organization { slug } errors { code } } }"
)
READ = '{ municipality(code: "GM0879") { name } }'
LAST_ACTOR = "{ changes(afterSequence: 0, first: 1000) { nodes { actor entityType } } }"

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Provider:
    """An identity provider: keys made in the test, their JWKS served by a real process."""

    directory: Path
    process: subprocess.Popen[bytes]
    port: int
    keys: dict[str, tuple[str, Key]] = field(default_factory=dict)
    """kid -> (algorithm, private key)."""

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def settings(self, **more: Any) -> dict[str, Any]:
        return {
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_url": self.jwks_url,
            **more,
        }

    def environment(self) -> dict[str, str]:
        return {f"VEERKRACHT_{name.upper()}": str(value) for name, value in self.settings().items()}

    def make_key(self, algorithm: str) -> str:
        kid = f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}"
        key: Key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if algorithm == "RS256"
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.keys[kid] = (algorithm, key)
        return kid

    def publish(self, *kids: str) -> None:
        """Serve exactly these keys (a rotation publishes new ones and drops old ones)."""
        jwks = []
        for kid in kids:
            algorithm, key = self.keys[kid]
            public = key.public_key()
            jwk = (
                RSAAlgorithm.to_jwk(public, as_dict=True)
                if isinstance(public, rsa.RSAPublicKey)
                else ECAlgorithm.to_jwk(public, as_dict=True)
            )
            jwks.append({**jwk, "kid": kid, "use": "sig", "alg": algorithm})
        (self.directory / "jwks.json").write_text(json.dumps({"keys": jwks}))

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u-2f9c1a",
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
            "scope": "openid read write",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str, *, signed_by: Key | None = None, **overrides: Any) -> str:
        algorithm, key = self.keys[kid]
        return jwt.encode(
            self.claims(**overrides), signed_by or key, algorithm=algorithm, headers={"kid": kid}
        )

    async def fetches(self) -> int:
        async with httpx.AsyncClient() as client:
            return int((await client.get(f"http://127.0.0.1:{self.port}/fetches")).text)


def _start_provider(directory: Path) -> Provider:
    (directory / "jwks.json").write_text('{"keys": []}')
    port_file = directory / "port"
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "jwks_server.py"),
            str(directory / "jwks.json"),
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the JWKS server did not start")
        time.sleep(0.05)
    return Provider(directory, process, int(port_file.read_text()))


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[Provider]:
    idp = _start_provider(tmp_path)
    try:
        yield idp
    finally:
        idp.process.terminate()
        idp.process.wait(timeout=10)


@pytest.fixture
async def oidc_api(fresh_url: str, provider: Provider) -> AsyncIterator[Api]:
    """The app on a seeded database of its own, accepting the provider's tokens; reads need a token too."""
    await migrated_and_seeded(fresh_url)
    async for instance in _api(fresh_url, require_token_for_reads=True, **provider.settings()):
        yield instance


async def test_a_write_jwt_writes_and_the_change_log_names_its_sub(oidc_api: Api, provider: Provider) -> None:
    kid = provider.make_key("ES256")
    provider.publish(kid)
    oidc_api.token = provider.token(kid, sub="u-2f9c1a", scope="openid write")
    assert (await oidc_api.data(CREATE))["createOrganization"] == {
        "organization": {"slug": "oidc-org"},
        "errors": [],
    }
    nodes = (await oidc_api.data(LAST_ACTOR))["changes"]["nodes"]
    assert nodes[-1] == {"actor": "u-2f9c1a", "entityType": "Organization"}


async def test_a_read_jwt_reads_but_may_not_write(oidc_api: Api, provider: Provider) -> None:
    kid = provider.make_key("RS256")
    provider.publish(kid)
    oidc_api.token = provider.token(kid, scope=["read"])  # a list, as some providers write it
    assert (await oidc_api.data(READ))["municipality"]["name"] == "Zundert"
    (error,) = await oidc_api.errors(CREATE)
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_api_tokens_keep_working_next_to_jwts(oidc_api: Api, provider: Provider) -> None:
    provider.publish(provider.make_key("RS256"))
    oidc_api.token = await oidc_api.make_token("impact-monitor", "write")
    assert (await oidc_api.data(CREATE))["createOrganization"]["errors"] == []
    assert (await oidc_api.data(LAST_ACTOR))["changes"]["nodes"][-1]["actor"] == "impact-monitor"


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _hs256(claims: dict[str, Any], kid: str, secret: bytes) -> str:
    """Signed with HMAC, the provider's *public* key as the secret: the classic algorithm confusion."""
    signing_input = (
        _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        + "."
        + _b64(json.dumps(claims).encode())
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def test_bad_jwts_are_refused_as_unauthenticated(oidc_api: Api, provider: Provider) -> None:
    rsa_kid, ec_kid = provider.make_key("RS256"), provider.make_key("ES256")
    provider.publish(rsa_kid, ec_kid)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _, rsa_key = provider.keys[rsa_kid]
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    refused = {
        "expired": provider.token(rsa_kid, exp=now - 120, iat=now - 600),
        "not yet valid": provider.token(ec_kid, nbf=now + 600),
        "wrong issuer": provider.token(rsa_kid, iss="https://evil.test/"),
        "wrong audience": provider.token(ec_kid, aud="another-api"),
        "no audience": provider.token(rsa_kid, aud=None),
        "no expiry": provider.token(rsa_kid, exp=None),
        "wrongly signed": provider.token(rsa_kid, signed_by=stranger),
        "alg none": _unsigned(provider.claims(), rsa_kid),
        "HS256 with the public key": _hs256(provider.claims(), rsa_kid, public_pem),
        "no read or write scope": provider.token(ec_kid, scope="openid profile"),
        "unknown kid": jwt.encode(provider.claims(), stranger, algorithm="RS256", headers={"kid": "nope"}),
        "tampered": provider.token(rsa_kid)[:-6] + "AAAAAA",
        "sub too long": provider.token(rsa_kid, sub="x" * 101),
    }
    # Sanity: the same provider's good tokens pass, so each refusal is about the one thing changed.
    oidc_api.token = provider.token(rsa_kid)
    assert (await oidc_api.data(READ))["municipality"]["name"] == "Zundert"
    for case, token in refused.items():
        oidc_api.token = token
        (error,) = await oidc_api.errors(CREATE)
        assert error["extensions"]["code"] == "UNAUTHENTICATED", case
        (error,) = await oidc_api.errors(READ)
        assert error["extensions"]["code"] == "UNAUTHENTICATED", case
    oidc_api.token = None
    assert (await oidc_api.post('{ organization(slug: "oidc-org") { slug } }'))["errors"], "nothing written"


async def test_keys_are_cached_and_a_rotation_is_picked_up(fresh_url: str, provider: Provider) -> None:
    await migrated_and_seeded(fresh_url)
    old = provider.make_key("RS256")
    provider.publish(old)
    async for api in _api(
        fresh_url, require_token_for_reads=True, **provider.settings(oidc_jwks_refetch_seconds=0.5)
    ):
        api.token = provider.token(old)
        for _ in range(5):
            assert (await api.data(READ))["municipality"]["name"] == "Zundert"
        assert await provider.fetches() == 1, "the keys are fetched once and kept"

        new = provider.make_key("ES256")
        provider.publish(new)  # the provider rotates: a new key, the old one withdrawn
        await asyncio.sleep(0.6)
        api.token = provider.token(new)
        assert (await api.data(READ))["municipality"]["name"] == "Zundert"
        assert await provider.fetches() == 2, "an unknown kid fetched the keys again"
        api.token = provider.token(old)
        (error,) = await api.errors(READ)
        assert error["extensions"]["code"] == "UNAUTHENTICATED", "the withdrawn key is no longer trusted"


async def test_a_flood_of_unknown_kids_does_not_hammer_the_provider(
    fresh_url: str, provider: Provider
) -> None:
    await migrated_and_seeded(fresh_url)
    kid = provider.make_key("ES256")
    provider.publish(kid)
    _, key = provider.keys[kid]
    async for live in _api(fresh_url, **provider.settings(oidc_jwks_refetch_seconds=60)):
        api = live
        api.token = provider.token(kid, scope="read")
        (error,) = await api.errors(CREATE)
        assert error["extensions"]["code"] == "FORBIDDEN", "known: authenticated"
        bogus = [
            jwt.encode(provider.claims(), key, algorithm="ES256", headers={"kid": f"bogus-{n}"})
            for n in range(40)
        ]

        async def attempt(token: str, api: Api = api) -> str:
            response = await api.client.post(
                "/graphql", json={"query": CREATE}, headers={"Authorization": f"Bearer {token}"}
            )
            return str(response.json()["errors"][0]["extensions"]["code"])

        codes = await asyncio.gather(*(attempt(token) for token in bogus))
        assert set(codes) == {"UNAUTHENTICATED"}
        assert await provider.fetches() == 1, "no refetch within the interval, however many unknown kids"


async def test_a_real_server_accepts_jwts_for_writes_and_the_bulk_export(
    fresh_url: str, provider: Provider
) -> None:
    await migrated_and_seeded(fresh_url)
    kid = provider.make_key("RS256")
    provider.publish(kid)
    with servers(fresh_url, env=provider.environment()) as (server,):
        async with httpx.AsyncClient(timeout=30) as client:
            headers = {"Authorization": f"Bearer {provider.token(kid, sub='editor@provincie')}"}
            created = await client.post(server.url, json={"query": CREATE}, headers=headers)
            assert created.json()["data"]["createOrganization"]["errors"] == []
            log = await client.post(server.url, json={"query": LAST_ACTOR})
            assert log.json()["data"]["changes"]["nodes"][-1]["actor"] == "editor@provincie"
            base = server.url.removesuffix("/graphql")
            export = await client.get(f"{base}/export.json", headers=headers)
            assert export.status_code == 200
            assert any(o["slug"] == "oidc-org" for o in export.json()["organizations"])
            expired = {"Authorization": f"Bearer {provider.token(kid, exp=int(time.time()) - 100)}"}
            assert (await client.get(f"{base}/export.json", headers=expired)).status_code == 401


async def _first_ws_message(server: Any, authorization: str) -> dict[str, Any]:
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as websocket:  # type: ignore[list-item]
        await websocket.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": authorization}})
        )
        assert json.loads(await websocket.recv())["type"] == "connection_ack"
        query = "subscription { changes(afterSequence: 0) { sequence actor } }"
        await websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        message: dict[str, Any] = json.loads(await asyncio.wait_for(websocket.recv(), 15))
        return message


async def test_a_jwt_opens_a_subscription_where_reads_need_a_token(
    fresh_url: str, provider: Provider
) -> None:
    await migrated_and_seeded(fresh_url)
    kid = provider.make_key("ES256")
    provider.publish(kid)
    env = {**provider.environment(), "VEERKRACHT_REQUIRE_TOKEN_FOR_READS": "true"}
    with servers(fresh_url, env=env) as (server,):
        accepted = await _first_ws_message(server, f"Bearer {provider.token(kid, scope='read')}")
        assert accepted["type"] == "next", accepted
        assert accepted["payload"]["data"]["changes"]["sequence"] == 1
        expired = provider.token(kid, scope="read", exp=int(time.time()) - 100)
        refused = await _first_ws_message(server, f"Bearer {expired}")
        payload = refused["payload"]
        errors = payload if isinstance(payload, list) else payload.get("errors", [])
        codes = [error.get("extensions", {}).get("code") for error in errors]
        assert "UNAUTHENTICATED" in codes, refused


async def test_while_the_provider_is_away_its_last_keys_stay_trusted(
    fresh_url: str, provider: Provider
) -> None:
    await migrated_and_seeded(fresh_url)
    kid = provider.make_key("RS256")
    provider.publish(kid)
    settings = provider.settings(oidc_jwks_cache_seconds=0.3, oidc_jwks_refetch_seconds=60)
    async for api in _api(fresh_url, require_token_for_reads=True, **settings):
        api.token = provider.token(kid)
        assert (await api.data(READ))["municipality"]["name"] == "Zundert"
        provider.process.terminate()
        provider.process.wait(timeout=10)
        await asyncio.sleep(0.5)  # the cached keys are stale now, and the provider does not answer
        started = time.monotonic()
        assert (await api.data(READ))["municipality"]["name"] == "Zundert", "the last keys still count"
        _, key = provider.keys[kid]
        for n in range(20):
            api.token = jwt.encode(provider.claims(), key, algorithm="RS256", headers={"kid": f"unknown-{n}"})
            (error,) = await api.errors(READ)
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert time.monotonic() - started < 10, "no request waits for the provider's timeout again"
