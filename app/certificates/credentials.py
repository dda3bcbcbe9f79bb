"""The signed credential: an Open Badges 3.0 achievement credential as a compact JWS."""

from datetime import UTC, datetime
from typing import Any

from app.catalog.models import Program
from app.certificates.models import Certificate
from app.core.config import Settings
from app.core.security import TokenError
from app.core.signing import KeyRing
from app.core.vneid_wire import (
    CREDENTIAL_TYPE,
    REVOCATION_TYPE,
    unverified_issuer,
    verify_credential,
)

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
ISSUER_NAME = "Bình dân học vụ số — Hệ thống theo dõi kỹ năng số"


def credential_id(certificate: Certificate) -> str:
    return f"urn:uuid:{certificate.id}"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CredentialSigner:
    """Builds and signs certificates' credentials with the tracker's current key."""

    def __init__(self, settings: Settings, keys: KeyRing) -> None:
        self.base_url = settings.base_url
        self.keys = keys
        # Every address credentials were issued as (the current one included); filled from
        # the database when the service starts.
        self.issuers: frozenset[str] = frozenset({self.base_url})

    def trust(self, issuers: list[str]) -> None:
        """Accept credentials issued as any of these earlier addresses too."""
        self.issuers = frozenset({self.base_url, *issuers})

    def verify_url(self, certificate: Certificate) -> str:
        return f"{self.base_url}/api/v1/certificates/{certificate.id}/verify"

    def page_url(self, certificate: Certificate) -> str:
        return f"{self.base_url}/certificates/{certificate.id}"

    def payload(self, certificate: Certificate, program: Program) -> dict[str, Any]:
        """The credential's claims; the holder is named, never identified by ID number."""
        issued = certificate.issued_at
        achievement = {
            "id": f"{self.base_url}/api/v1/programs/{program.code}",
            "type": ["Achievement"],
            "achievementType": "Certificate",
            "humanCode": program.code,
            "name": program.title_vi,
            "description": program.title_en or program.title_vi,
            "criteria": {
                "narrative": "Đạt mọi khóa học bắt buộc của chương trình / "
                "Passed every required course of the program"
            },
        }
        return {
            "@context": CONTEXTS,
            "id": credential_id(certificate),
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {
                "id": self.base_url,
                "type": ["Profile"],
                "name": ISSUER_NAME,
                "url": self.base_url,
            },
            "name": program.title_vi,
            "validFrom": _timestamp(issued),
            "credentialSubject": {
                "id": f"urn:uuid:{certificate.learner_id}",
                "type": ["AchievementSubject"],
                "name": certificate.holder_name,
                "achievement": achievement,
            },
            "credentialStatus": {
                "id": self.verify_url(certificate),
                "type": "HocvusoStatusCheck",
            },
            # Registered JWT claims, so any JOSE library can check issuer and times.
            "iss": self.base_url,
            "sub": f"urn:uuid:{certificate.learner_id}",
            "jti": credential_id(certificate),
            # Signed again on reinstatement: VNeID takes a credential signed after its
            # revocation as the issuer's word that it holds again.
            "iat": int((certificate.reinstated_at or issued).timestamp()),
            "nbf": int(issued.timestamp()),
        }

    def sign(self, certificate: Certificate, program: Program) -> None:
        """Sign the certificate's credential and note the key that did."""
        token, kid = self.keys.sign(self.payload(certificate, program), typ=CREDENTIAL_TYPE)
        certificate.credential = token
        certificate.kid = kid

    def revocation_notice(self, certificate: Certificate) -> str:
        """A signed notice that the certificate is revoked: its credential id, when and why."""
        assert certificate.revoked_at is not None
        # Said by the same issuer as the credential, which is how VNeID knows it.
        issuer = unverified_issuer(certificate.credential) if certificate.credential else None
        claims = {
            "iss": issuer if issuer in self.issuers else self.base_url,
            "sub": credential_id(certificate),
            "iat": int(datetime.now(UTC).timestamp()),
            "revoked_at": _timestamp(certificate.revoked_at),
            "reason": certificate.revoked_reason or "",
        }
        token, _ = self.keys.sign(claims, typ=REVOCATION_TYPE)
        return token

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a credential this tracker signed, as whichever address it was then.

        The credential is checked against its own issuer, which must be one the service has
        used; TokenError for anything else.
        """
        issuer = unverified_issuer(token)
        if issuer not in self.issuers:
            raise TokenError("unknown issuer")
        return verify_credential(token, self.keys.public_keys(), issuer=issuer)


def mask_name(full_name: str) -> str:
    """Show a name partly: "Nguyễn Văn An" -> "N***** V** An" (the given name stays)."""
    words = full_name.split()
    if not words:
        return ""
    masked = [word[0] + "*" * (len(word) - 1) for word in words[:-1]]
    return " ".join([*masked, words[-1]])
