"""The mock VNeID's registry, sign-in and certificate intake, as plain functions."""

import hashlib
import hmac
import math
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core.config import Settings
from app.core.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthorized
from app.core.text import fold, normalize_name
from app.vneid_mock import throttle
from app.vneid_mock.models import VneidCertification, VneidCitizen

DUPLICATE_SLUG = "vneid-duplicate"


class DuplicateCertification(Conflict):
    """VNeID already holds this credential; the answer names the first receipt."""

    slug = DUPLICATE_SLUG

    def __init__(self, record: VneidCertification) -> None:
        super().__init__(
            "vneid.duplicate",
            extra={"receipt_id": str(record.id), "credential_id": record.credential_id},
        )


class CitizenIndex:
    """Keyed HMAC of ID numbers, so the mock's tables never hold the numbers themselves."""

    def __init__(self, settings: Settings) -> None:
        master = settings.pii_key.get_secret_value().encode()
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"mock-vneid citizen index"
        ).derive(master)

    def __call__(self, citizen_id: str) -> str:
        return hmac.new(self._key, citizen_id.encode(), hashlib.sha256).hexdigest()


def _hash_passcode(passcode: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(passcode.encode(), salt=salt, n=2**12, r=8, p=1)
    return f"{salt.hex()}${digest.hex()}"


def _passcode_ok(stored: str, passcode: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(stored, _hash_passcode(passcode, bytes.fromhex(salt)))


def find_citizen(session: Session, *, index: CitizenIndex, citizen_id: str) -> VneidCitizen | None:
    """The registered citizen with this ID number."""
    digest = index(citizen_id)
    return session.exec(select(VneidCitizen).where(VneidCitizen.citizen_id_hash == digest)).first()


def add_citizen(
    session: Session,
    *,
    index: CitizenIndex,
    citizen_id: str,
    full_name: str,
    birth_date: date,
    passcode: str,
) -> VneidCitizen:
    """Put a person in the registry; one already there is left as it is."""
    existing = find_citizen(session, index=index, citizen_id=citizen_id)
    if existing is not None:
        return existing
    citizen = VneidCitizen(
        citizen_id_hash=index(citizen_id),
        full_name=normalize_name(full_name),
        birth_date=birth_date,
        passcode_hash=_hash_passcode(passcode),
    )
    session.add(citizen)
    session.flush()
    return citizen


def identity_matches(
    session: Session, *, index: CitizenIndex, citizen_id: str, full_name: str, birth_date: date
) -> bool:
    """Whether the ID number belongs to a person of that name (diacritics count) and birth date."""
    citizen = find_citizen(session, index=index, citizen_id=citizen_id)
    return (
        citizen is not None
        and citizen.birth_date == birth_date
        and normalize_name(citizen.full_name).casefold() == normalize_name(full_name).casefold()
    )


def sign_in(
    session: Session, *, index: CitizenIndex, citizen_id: str, passcode: str
) -> VneidCitizen | None:
    """The citizen, if the passcode is theirs."""
    citizen = find_citizen(session, index=index, citizen_id=citizen_id)
    if citizen is None:
        _hash_passcode(passcode)  # the same cost either way
        return None
    return citizen if _passcode_ok(citizen.passcode_hash, passcode) else None


def checked_sign_in(
    *,
    engine: Engine,
    index: CitizenIndex,
    settings: Settings,
    citizen_id: str,
    passcode: str,
    address: str | None,
) -> VneidCitizen:
    """The citizen whose passcode this is; 401 if it is not, 429 after too many wrong ones.

    Attempts are counted per citizen and per client address, in transactions of their own: a
    refused sign-in rolls the request's transaction back. The citizen comes back detached.
    """
    keys = throttle.limits(
        index(citizen_id),
        address,
        per_citizen=settings.mock_vneid_max_failures,
        per_address=settings.mock_vneid_max_failures_per_address,
    )
    wait = throttle.reserve(engine, keys, window_seconds=settings.mock_vneid_failure_window_seconds)
    if wait:
        raise TooManyRequests(
            "vneid.too_many_attempts",
            minutes=math.ceil(wait / 60),
            headers={"Retry-After": str(wait)},
        )
    # Read on a connection of its own too: on SQLite the request's transaction, once begun,
    # holds the write lock the release below needs.
    with Session(engine, expire_on_commit=False) as check:
        citizen = sign_in(check, index=index, citizen_id=citizen_id, passcode=passcode)
    if citizen is None:
        raise Unauthorized("vneid.sign_in_failed")
    throttle.release(engine, keys)
    return citizen


def receive(
    session: Session,
    *,
    index: CitizenIndex,
    claims: dict[str, Any],
    credential: str,
    citizen_id: str,
) -> VneidCertification:
    """Record a verified credential for its citizen, once: a second delivery is a conflict."""
    credential_id = str(claims["jti"])
    earlier = _by_credential(session, credential_id)
    if earlier is not None:
        if _reinstates(earlier, claims):
            earlier.revoked_at = None
            earlier.revoked_reason = None
            earlier.credential = credential
            session.add(earlier)
            session.flush()
            return earlier
        raise DuplicateCertification(earlier)
    citizen = find_citizen(session, index=index, citizen_id=citizen_id)
    subject = claims["credentialSubject"]
    holder_name = str(subject.get("name", ""))
    if citizen is None:
        raise Invalid("vneid.unknown_citizen")
    if fold(holder_name) != fold(citizen.full_name):
        raise Invalid("vneid.holder_mismatch")
    achievement = subject.get("achievement") or {}
    record = VneidCertification(
        credential_id=credential_id,
        citizen_ref=citizen.id,
        issuer=str(claims["iss"]),
        program_code=str(achievement.get("humanCode", ""))[:32],
        title=str(achievement.get("name", ""))[:200],
        holder_name=holder_name[:120],
        valid_from=datetime.fromtimestamp(int(claims["iat"]), UTC),
        credential=credential,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        # The same credential arrived twice at once: the first one is the record.
        earlier = _by_credential(session, credential_id)
        if earlier is None:
            raise
        raise DuplicateCertification(earlier) from None
    return record


def _reinstates(record: VneidCertification, claims: dict[str, Any]) -> bool:
    """A revoked credential sent again by its issuer, signed after the revocation: the issuer
    reinstated it (an old copy, signed before, cannot undo the revocation)."""
    if record.revoked_at is None or record.issuer != claims["iss"]:
        return False
    revoked_at = record.revoked_at
    if revoked_at.tzinfo is None:
        revoked_at = revoked_at.replace(tzinfo=UTC)
    return int(claims["iat"]) > revoked_at.timestamp()


def revoke(session: Session, *, claims: dict[str, Any]) -> VneidCertification:
    """Mark a certification revoked on its issuer's verified notice; a repeat changes nothing."""
    record = _by_credential(session, str(claims["sub"]))
    if record is None or record.issuer != claims["iss"]:
        raise NotFound("what.vneid_certification")
    if record.revoked_at is None:
        try:
            revoked_at = datetime.fromisoformat(str(claims["revoked_at"]))
        except ValueError:
            raise Invalid("vneid.bad_credential") from None
        record.revoked_at = revoked_at
        record.revoked_reason = str(claims.get("reason") or "")[:500]
        session.add(record)
        session.flush()
    return record


def _by_credential(session: Session, credential_id: str) -> VneidCertification | None:
    return session.exec(
        select(VneidCertification).where(VneidCertification.credential_id == credential_id)
    ).first()


def certifications_of(session: Session, citizen_ref: uuid.UUID) -> Sequence[VneidCertification]:
    """What the citizen's VNeID app shows, newest first."""
    return session.exec(
        select(VneidCertification)
        .where(VneidCertification.citizen_ref == citizen_ref)
        .order_by(col(VneidCertification.received_at).desc())
    ).all()
