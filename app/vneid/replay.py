"""Each VNeID `id_token` is accepted once: the ones taken are kept until they expire."""

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.core.db import utcnow
from app.core.errors import Unauthorized
from app.vneid.models import IdTokenUse


def token_key(token: str, claims: dict[str, Any]) -> str:
    """The token's issuer and `jti`, or, without a `jti`, the bytes of its signature.

    Decoded bytes, not the text: two spellings of one signature are one token.
    """
    issuer = str(claims.get("iss", ""))
    if claims.get("jti"):
        name = "jti:" + str(claims["jti"])
    else:
        signature = token.rsplit(".", 1)[-1]
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        name = "sig:" + hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(f"{issuer}\n{name}".encode()).hexdigest()


def take_once(session: Session, *, token: str, claims: dict[str, Any]) -> None:
    """Record the token as used; a token used before answers 401 (and is audited)."""
    now = utcnow()
    session.execute(delete(IdTokenUse).where(col(IdTokenUse.expires_at) < now))
    expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    try:
        with session.begin_nested():
            session.add(IdTokenUse(key=token_key(token, claims), expires_at=expires_at))
            session.flush()
    except IntegrityError:
        raise Unauthorized("vneid.replayed_id_token", audit_action="auth.vneid_replayed") from None
