"""The addresses the service has issued credentials as: each credential verifies against its own."""

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.certificates.models import CredentialIssuer


def known(session: Session) -> list[str]:
    """Every issuer the service has used, oldest first."""
    return list(
        session.exec(
            select(CredentialIssuer.url).order_by(col(CredentialIssuer.first_used_at))
        ).all()
    )


def remember(engine: Engine, url: str) -> list[str]:
    """Record `url` as an issuer (once; another process may do it at the same time)."""
    with Session(engine) as session:
        if session.get(CredentialIssuer, url) is None:
            session.add(CredentialIssuer(url=url))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
        return known(session)
