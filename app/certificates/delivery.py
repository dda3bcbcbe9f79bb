"""Delivering certificates to VNeID from a durable outbox: the certificate rows themselves.

A certificate is due while `vneid_status` is pending (or, once revoked after it may have
reached VNeID, withdrawing) and `next_delivery_at` has passed. The
worker claims a batch (on PostgreSQL by locks held on a connection of its own until the pass
ends, so a worker that died gives its batch up at once; on SQLite by pushing
`next_delivery_at` a lease ahead, committed, so no other worker takes it meanwhile), posts
each credential, then records the receipt or schedules the next
attempt with exponential backoff and jitter. VNeID keeps one record per credential id and
answers a second delivery with the first receipt, which counts as delivered: a crash between
VNeID accepting and this side recording it costs one more request, never a second record.
A withdrawal sends VNeID the tracker's signed revocation notice, retried the same way until
VNeID shows the certificate as revoked.
"""

import asyncio
import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import anyio
from sqlalchemy.engine import Engine
from sqlmodel import Session, and_, col, or_, select

from app.audit import service as audit
from app.certificates.credentials import CredentialSigner
from app.certificates.issuance import sign
from app.certificates.models import Certificate, CertificateStatus, DeliveryStatus
from app.core import holds
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.core.db import utcnow, write_bind
from app.core.logs import without_message
from app.core.security import PersonalIds
from app.learners.models import Learner
from app.ledger import totals
from app.vneid.client import DeliveryOutcome, VneidClient

logger = logging.getLogger(__name__)

ACTOR = "system:vneid-delivery"


@dataclass(frozen=True)
class Parcel:
    """One attempt: a credential to deliver, or (`withdraw`) a revocation notice to send."""

    certificate_id: uuid.UUID
    credential: str
    citizen_id: str | None
    withdraw: bool = False


@dataclass
class Outbox:
    """What delivery needs: the database, VNeID, the signer and the settings."""

    engine: Engine
    vneid: VneidClient
    signer: CredentialSigner
    personal_ids: PersonalIds
    settings: Settings

    def session(self) -> Session:
        session = Session(write_bind(self.engine), expire_on_commit=False)
        return bind_context(session, WriteContext(self.settings.adult_age))


def backoff(settings: Settings, attempts: int) -> timedelta:
    """Exponential in the attempts made, capped, with jitter so retries do not march in step."""
    ceiling = min(
        settings.delivery_retry_max_seconds,
        settings.delivery_retry_base_seconds * 2 ** max(attempts - 1, 0),
    )
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311


def claim_due(
    outbox: Outbox, *, now: datetime, limit: int, holder: holds.Holder | None = None
) -> list[Parcel]:
    """Take up to `limit` due certificates for one attempt each (signing any not yet signed).

    With a `holder` on PostgreSQL each is held by a lock on the holder's connection until the
    pass ends, and stays due meanwhile: a certificate whose lock is taken is skipped, and one
    whose worker died is sent by the next pass at once. Otherwise (SQLite) `next_delivery_at`
    is pushed a lease ahead, committed, so that no other worker takes it until then.
    """
    lease = timedelta(seconds=outbox.settings.vneid_timeout_seconds * 3 + 30)
    locking = holder is not None and holder.supported
    with outbox.session() as session:
        statement = (
            select(Certificate)
            .where(
                or_(
                    and_(
                        Certificate.vneid_status == DeliveryStatus.pending.value,
                        Certificate.status == CertificateStatus.valid.value,
                    ),
                    Certificate.vneid_status == DeliveryStatus.withdrawing.value,
                ),
                col(Certificate.next_delivery_at) <= now,
            )
            .order_by(col(Certificate.next_delivery_at))
            # Beyond what this pass takes: another worker may hold some of the first.
            .limit(limit * 4 if locking else limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        parcels: list[Parcel] = []
        for certificate in session.exec(statement).all():
            if locking:
                assert holder is not None
                if len(parcels) == limit:
                    break
                if not holder.take(holds.key(holds.DELIVERY, certificate.id)):
                    continue  # a live worker is sending it
            else:
                certificate.next_delivery_at = now + lease
            certificate.delivery_attempts += 1
            session.add(certificate)
            if certificate.vneid_status == DeliveryStatus.withdrawing.value:
                notice = outbox.signer.revocation_notice(certificate)
                parcels.append(Parcel(certificate.id, notice, None, withdraw=True))
                continue
            if certificate.credential is None:
                sign(session, certificate, outbox.signer)
            assert certificate.credential is not None
            learner = session.get(Learner, certificate.learner_id)
            encrypted = learner.citizen_id_enc if learner else None
            citizen_id = outbox.personal_ids.decrypt(encrypted) if encrypted else None
            parcels.append(Parcel(certificate.id, certificate.credential, citizen_id))
        session.commit()
    return parcels


def record_outcome(
    outbox: Outbox, parcel: Parcel, outcome: DeliveryOutcome, *, now: datetime
) -> str:
    """Write down what VNeID answered; a certificate already delivered stays as it is."""
    with outbox.session() as session:
        certificate = session.get(Certificate, parcel.certificate_id)
        if certificate is None:
            return "unchanged"
        expected = DeliveryStatus.withdrawing if parcel.withdraw else DeliveryStatus.pending
        if certificate.vneid_status != expected.value:
            if not _landed_after_revocation(certificate, parcel, outcome):
                return "unchanged"
            # Revoked while this delivery was on its way: VNeID holds it now, so withdraw it.
            certificate.vneid_status = DeliveryStatus.withdrawing.value
            certificate.vneid_receipt_id = outcome.receipt_id
            certificate.next_delivery_at = now
            session.add(certificate)
        elif outcome.kind == "withdrawn":
            certificate.vneid_status = DeliveryStatus.withdrawn.value
            certificate.next_delivery_at = None
            certificate.last_delivery_error = outcome.error
            session.add(certificate)
        elif outcome.kind == "delivered":
            learner = session.get(Learner, certificate.learner_id)
            assert learner is not None
            # Delivery counts in adults_vneid_confirmed from the day it happened.
            with totals.tracking(session, learner):
                certificate.vneid_status = DeliveryStatus.delivered.value
                certificate.vneid_receipt_id = outcome.receipt_id
                certificate.vneid_delivered_at = utcnow()
                certificate.next_delivery_at = None
                certificate.last_delivery_error = None
                session.add(certificate)
        elif outcome.kind == "rejected":
            certificate.vneid_status = DeliveryStatus.rejected.value
            certificate.next_delivery_at = None
            certificate.last_delivery_error = (outcome.error or "rejected")[:300]
            session.add(certificate)
        else:
            certificate.next_delivery_at = now + backoff(
                outbox.settings, certificate.delivery_attempts
            )
            certificate.last_delivery_error = (outcome.error or "unavailable")[:300]
            session.add(certificate)
        if outcome.kind in ("rejected", "retry"):
            # Once per failed attempt, here where it is recorded, naming the certificate.
            logger.warning(
                "VNeID %s of certificate %s %s (attempt %d): %s",
                "withdrawal" if parcel.withdraw else "delivery",
                certificate.id,
                "refused for good" if outcome.kind == "rejected" else "failed, will retry",
                certificate.delivery_attempts,
                outcome.error,
            )
        audit.record(
            session,
            actor_id=ACTOR,
            actor_role=None,
            action=f"certificate.vneid_{outcome.kind}",
            outcome="success" if outcome.kind in ("delivered", "withdrawn") else "failure",
            target_type="certificate",
            target_id=certificate.id,
            province_code=certificate.province_code,
            commune_code=certificate.commune_code,
            detail={
                "attempt": certificate.delivery_attempts,
                "receipt_id": outcome.receipt_id,
                "duplicate": outcome.duplicate,
                "error": outcome.error,
            },
        )
        session.commit()
        return outcome.kind


def _landed_after_revocation(
    certificate: Certificate, parcel: Parcel, outcome: DeliveryOutcome
) -> bool:
    return (
        not parcel.withdraw
        and outcome.kind == "delivered"
        and certificate.vneid_status
        in (DeliveryStatus.withdrawing.value, DeliveryStatus.withdrawn.value)
    )


async def deliver_due(outbox: Outbox, *, now: datetime | None = None) -> Counter[str]:
    """One pass over the outbox: claim what is due, deliver it, record each answer."""
    moment = now or utcnow()
    holder = holds.Holder(outbox.engine)
    try:
        return await _deliver_claimed(outbox, moment, holder)
    finally:
        # The pass's locks end with its connection.
        await anyio.to_thread.run_sync(holder.close)


async def _deliver_claimed(outbox: Outbox, moment: datetime, holder: holds.Holder) -> Counter[str]:
    parcels = await anyio.to_thread.run_sync(
        partial(
            claim_due,
            outbox,
            now=moment,
            limit=outbox.settings.delivery_batch_size,
            holder=holder,
        )
    )
    results: Counter[str] = Counter()
    for parcel in parcels:
        if parcel.withdraw:
            outcome = await outbox.vneid.withdraw(notice=parcel.credential)
        elif parcel.citizen_id is None:
            # The person was erased: there is no one left to deliver to.
            outcome = DeliveryOutcome("rejected", error="holder erased")
        else:
            outcome = await outbox.vneid.deliver(
                credential=parcel.credential, citizen_id=parcel.citizen_id
            )
        recorded = await anyio.to_thread.run_sync(
            partial(record_outcome, outbox, parcel, outcome, now=moment)
        )
        results[recorded] += 1
    return results


async def drain(outbox: Outbox, *, now: datetime | None = None) -> Counter[str]:
    """Deliver until nothing more is due now (each certificate is tried once per drain)."""
    total: Counter[str] = Counter()
    while True:
        results = await deliver_due(outbox, now=now)
        total.update(results)
        if sum(results.values()) < outbox.settings.delivery_batch_size:
            return total


async def run_worker(outbox: Outbox) -> None:
    """Poll the outbox until cancelled; an error in one pass never stops the next."""
    while True:
        try:
            results = await drain(outbox)
            if results:
                logger.info("VNeID delivery: %s", dict(results))
        except Exception as exc:
            logger.error("VNeID delivery pass failed: %s", without_message(exc))
        await asyncio.sleep(outbox.settings.delivery_poll_seconds)
