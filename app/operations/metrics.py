"""Prometheus metrics: the HTTP metrics of the middleware plus figures read at each scrape.

What the database holds (the delivery backlog, imports, recounts) is read when Prometheus
scrapes, so every worker process answers the same figures; the pool and HTTP figures are the
answering process's own.
"""

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, and_, col, or_, select

from app.certificates.models import Certificate, CertificateStatus, DeliveryStatus
from app.core.db import utcnow
from app.core.direct import DirectRunner
from app.imports.models import ImportJob, ImportStatus
from app.ledger.models import RulesRecount


class DatabaseFigures(Collector):
    """The connection pool's use and the work waiting in the database, read at each scrape."""

    def __init__(self, engine: Engine, direct: DirectRunner | None = None) -> None:
        self.engine = engine
        self.direct = direct

    def collect(self) -> Iterator[Metric]:
        yield from self._pool()
        with Session(self.engine) as session:
            yield from self._deliveries(session)
            yield from self._imports(session)
            yield from self._recounts(session)

    def _pool(self) -> Iterator[Metric]:
        pool = self.engine.pool
        use = GaugeMetricFamily(
            "hocvuso_db_pool_connections",
            "This process's database connections: the request pool (checked_out, idle) and, "
            "on PostgreSQL, the event loop's pool for indicators and results (in_use, idle, "
            "waiting requests)",
            labels=["pool", "state"],
        )
        for state, reading in (("checked_out", "checkedout"), ("idle", "checkedin")):
            method = getattr(pool, reading, None)
            if method is not None:
                use.add_metric(["requests", state], float(method()))
        if self.direct is not None:
            for state, count in self.direct.pool_use().items():
                use.add_metric(["direct", state], float(count))
        yield use
        size = getattr(pool, "size", None)
        if size is not None:
            yield GaugeMetricFamily(
                "hocvuso_db_pool_size", "The request pool's size before overflow", value=size()
            )

    def _deliveries(self, session: Session) -> Iterator[Metric]:
        waiting = or_(
            and_(
                col(Certificate.vneid_status) == DeliveryStatus.pending.value,
                col(Certificate.status) == CertificateStatus.valid.value,
            ),
            col(Certificate.vneid_status) == DeliveryStatus.withdrawing.value,
        )
        rows = session.exec(
            select(
                Certificate.vneid_status,
                func.count(),
                func.min(Certificate.issued_at),
                func.min(Certificate.revoked_at),
            )
            .where(waiting)
            .group_by(col(Certificate.vneid_status))
        ).all()
        backlog = GaugeMetricFamily(
            "hocvuso_delivery_backlog",
            "Certificates waiting to reach VNeID (pending) or to be withdrawn from it",
            labels=["state"],
        )
        counts = {DeliveryStatus.pending.value: 0, DeliveryStatus.withdrawing.value: 0}
        oldest: datetime | None = None
        for state, count, first_issued, first_revoked in rows:
            counts[state] = count
            since = first_revoked if state == DeliveryStatus.withdrawing.value else first_issued
            if since is not None and (oldest is None or since < oldest):
                oldest = since
        for state, count in counts.items():
            backlog.add_metric([state], count)
        yield backlog
        yield GaugeMetricFamily(
            "hocvuso_delivery_oldest_age_seconds",
            "How long the longest-waiting delivery or withdrawal has waited (0 if none)",
            value=(utcnow() - oldest).total_seconds() if oldest else 0.0,
        )
        rejected = session.exec(
            select(func.count())
            .select_from(Certificate)
            .where(col(Certificate.vneid_status) == DeliveryStatus.rejected.value)
        ).one()
        yield GaugeMetricFamily(
            "hocvuso_delivery_rejected",
            "Certificates VNeID refused for good (see GET /api/v1/deliveries?state=rejected)",
            value=rejected,
        )

    def _imports(self, session: Session) -> Iterator[Metric]:
        rows = dict(
            session.exec(
                select(ImportJob.status, func.count())
                .where(
                    col(ImportJob.status).in_(
                        [ImportStatus.queued.value, ImportStatus.running.value]
                    )
                )
                .group_by(col(ImportJob.status))
            ).all()
        )
        imports = GaugeMetricFamily(
            "hocvuso_imports", "Imports waiting for a worker or being stored", labels=["state"]
        )
        for state in (ImportStatus.queued.value, ImportStatus.running.value):
            imports.add_metric([state], rows.get(state, 0))
        yield imports

    def _recounts(self, session: Session) -> Iterator[Metric]:
        pending, recounted = session.exec(
            select(func.count(), func.coalesce(func.sum(RulesRecount.recounted), 0)).where(
                col(RulesRecount.finished_at).is_(None)
            )
        ).one()
        yield GaugeMetricFamily(
            "hocvuso_recounts_pending",
            "Recounts after a change to a program's standard not finished yet",
            value=pending,
        )
        yield GaugeMetricFamily(
            "hocvuso_recount_learners_recounted",
            "People the unfinished recounts have recounted so far",
            value=recounted,
        )


def scrape_registry(
    own: CollectorRegistry, figures: DatabaseFigures, *, multiprocess_dir: str | None
) -> CollectorRegistry:
    """What /metrics exposes: this process's metrics, or every worker's in multiprocess mode."""
    if multiprocess_dir is None:
        return own
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    registry.register(figures)
    return registry
