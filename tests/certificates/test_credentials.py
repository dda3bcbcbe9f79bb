"""Credentials checked the way outsiders will: an independent JOSE library and the JWKS."""

import base64
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session
from typer.testing import CliRunner

from app.certificates.models import Certificate
from app.cli import cli
from app.core.config import Settings
from app.core.signing import KeyRing, SigningKeyMissing
from app.main import create_app
from tests.certificates.helpers import certify, deliver, enrol_citizen, register
from tests.factories import CITIZEN_PROGRAM, Staff, citizen_id_for

ISSUER = "http://127.0.0.1:8000"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def _assemble(header: dict[str, Any], payload: dict[str, Any], signature: str) -> str:
    encode = lambda part: _b64(json.dumps(part).encode())  # noqa: E731
    return f"{encode(header)}.{encode(payload)}.{signature}"


def _published(client: TestClient) -> jwt.PyJWKSet:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    keys = response.json()["keys"]
    assert keys and all("d" not in key for key in keys)  # never a private part
    return jwt.PyJWKSet.from_dict(response.json())


def _verify_independently(client: TestClient, token: str) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "vc+jwt" and header["alg"] == "ES256"
    key = _published(client)[header["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["ES256"],
        issuer=ISSUER,
        options={"require": ["iss", "iat", "jti", "sub"], "verify_aud": False},
    )
    return claims


def _rotate(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KEYS_DIR", str(settings.keys_dir))
    result = CliRunner().invoke(cli, ["rotate-keys"])
    assert result.exit_code == 0, result.output
    return result.output


def test_credential_is_an_open_badge_any_jose_library_verifies(
    client: TestClient, staff: Staff
) -> None:
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    claims = _verify_independently(client, certificate["credential"])
    assert claims["jti"] == claims["id"] == f"urn:uuid:{certificate['id']}"
    assert "VerifiableCredential" in claims["type"] and "OpenBadgeCredential" in claims["type"]
    assert claims["issuer"]["id"] == ISSUER
    subject = claims["credentialSubject"]
    assert subject["name"] == "Nguyễn Văn An"
    assert subject["achievement"]["humanCode"] == CITIZEN_PROGRAM
    assert subject["achievement"]["name"] == certificate["program_title"]
    assert claims["validFrom"].startswith(certificate["issued_at"][:10])
    assert claims["credentialStatus"]["id"].endswith(f"/certificates/{certificate['id']}/verify")
    # The personal ID number is nowhere inside.
    citizen_id = citizen_id_for(date(1985, 4, 12), "male", serial=1)
    assert (
        citizen_id not in json.dumps(claims)
        and citizen_id not in _unb64(certificate["credential"].split(".")[1]).decode()
    )
    assert certificate["kid"] == jwt.get_unverified_header(certificate["credential"])["kid"]


def test_old_certificates_still_verify_after_a_key_rotation(
    client: TestClient,
    staff: Staff,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for serial in (1, 2):
        enrol_citizen(client, session, serial)
    before = certify(client, staff, register(client, staff, 1)["id"])
    assert "current signing key" in _rotate(settings, monkeypatch)
    after = certify(client, staff, register(client, staff, 2)["id"])
    assert before["kid"] != after["kid"]

    published = _published(client)
    assert {before["kid"], after["kid"]} <= {key.key_id for key in published.keys}
    for certificate in (before, after):
        assert _verify_independently(client, certificate["credential"])["jti"].endswith(
            certificate["id"]
        )
        assert client.get(f"/api/v1/certificates/{certificate['id']}/verify").json()["valid"]
    # The retired key keeps only its public part on disk.
    assert not (settings.keys_dir / f"{before['kid']}.pem").exists()
    assert (settings.keys_dir / f"{before['kid']}.pub.pem").exists()
    # VNeID fetches the rotated key set and takes both.
    assert deliver(client) == {"delivered": 2}


def test_forged_credentials_are_refused_everywhere(
    client: TestClient,
    staff: Staff,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    citizen_id = enrol_citizen(client, session, 1)
    learner = register(client, staff, 1)
    first = certify(client, staff, learner["id"])
    _rotate(settings, monkeypatch)
    token = first["credential"]
    header, payload, signature = _parts(token)
    keys = _published(client)

    tampered = _assemble(header, {**payload, "name": "Chuẩn giả mạo"}, signature)
    other_kid = next(k.key_id for k in keys.keys if k.key_id != header["kid"])
    swapped = _assemble({**header, "kid": other_kid}, payload, signature)
    unsigned = _assemble({**header, "alg": "none"}, payload, "")
    own_key = ec.generate_private_key(ec.SECP256R1())
    pem = own_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    impostor = jwt.encode(
        payload, pem, algorithm="ES256", headers={"kid": header["kid"], "typ": "vc+jwt"}
    )
    access_token = staff["hk_member"]["Authorization"].removeprefix("Bearer ")

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tampered, keys[header["kid"]].key, algorithms=["ES256"], issuer=ISSUER)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(swapped, keys[other_kid].key, algorithms=["ES256"], issuer=ISSUER)

    for forged in (tampered, swapped, unsigned, impostor, access_token, "not-a-jws"):
        refused = client.post(
            "/mock-vneid/api/certifications",
            json={"credential": forged, "citizen_id": citizen_id},
            headers={"Accept-Language": "en"},
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    # The genuine one is still accepted, once.
    assert deliver(client) == {"delivered": 1}

    # A credential tampered in storage no longer verifies on the public page either.
    stored = session.get(Certificate, uuid.UUID(first["id"]))
    assert stored is not None
    stored.credential = tampered
    session.add(stored)
    session.commit()
    check = client.get(f"/api/v1/certificates/{first['id']}/verify").json()
    assert check["signature_valid"] is False and check["valid"] is False


def test_certificates_and_access_tokens_never_pass_for_each_other(
    client: TestClient, staff: Staff
) -> None:
    learner = register(client, staff, 1)
    certificate = certify(client, staff, learner["id"])
    as_bearer = {"Authorization": f"Bearer {certificate['credential']}"}
    for path in ("/api/v1/auth/me", "/api/v1/learners", "/api/v1/me/progress"):
        assert client.get(path, headers=as_bearer).status_code == 401, path
    # An access token re-signed as if it were a credential is still not one of ours.
    header, payload, _ = _parts(staff["hk_member"]["Authorization"].removeprefix("Bearer "))
    confused = _assemble({**header, "typ": "vc+jwt", "kid": certificate["kid"]}, payload, "x")
    refused = client.post(
        "/mock-vneid/api/certifications",
        json={"credential": confused, "citizen_id": "001085000001"},
    )
    assert refused.status_code == 422


def test_production_needs_configured_keys(tmp_path: Path, settings: Settings) -> None:
    production = settings.model_copy(
        update={
            "environment": "production",
            "secret_key": SecretStr("s" * 40),
            "pii_key": SecretStr("p" * 40),
            "keys_dir": tmp_path / "none",
        }
    )
    with pytest.raises(SigningKeyMissing), TestClient(create_app(production)):
        pass
    assert not (tmp_path / "none").exists()
    made = KeyRing(tmp_path / "dev", prefix="hocvuso", create=True)
    again = KeyRing(tmp_path / "dev", prefix="hocvuso", create=False)
    assert made.current_kid == again.current_kid
    assert list(made.public_keys()) == [made.current_kid]
