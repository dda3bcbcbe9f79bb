"""A synthetic country on PostgreSQL: learners in every real commune, completions, certificates.

Raw rows go in with COPY (the way bulk imports reach the database at scale); the running
totals are computed with the project's own contribution rules (`app.ledger.contributions`), so
the loaded database is exactly what the service would have built record by record.
"""

import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

import psycopg
from sqlmodel import Session, select

from app.catalog.models import ProgramCourse
from app.core.clock import local_date
from app.core.security import PersonalIds
from app.core.text import fold
from app.ledger import rules
from app.ledger.contributions import CertificateFacts, LearnerFacts, contributions
from app.ledger.models import NATION
from app.units.models import Commune

CHUNK_COMMUNES = 200
LEARNER_COPY = (
    "COPY learner (id, citizen_id_hash, citizen_id_enc, citizen_id_last4, full_name,"
    " name_folded, birth_date, sex, province_code, commune_code, is_citizen, is_official,"
    " is_pupil, is_worker, official_level, agency, consent_purpose, consent_given_at,"
    " created_at, updated_at) FROM STDIN"
)
COMPLETION_COPY = (
    "COPY completion (id, learner_id, province_code, commune_code, course_code,"
    " completed_at, score, passed, method, created_at, updated_at) FROM STDIN"
)
CERTIFICATE_COPY = (
    "COPY certificate (id, learner_id, province_code, commune_code, program_code,"
    " issued_at, holder_name, status, revoked_at, revoked_reason, vneid_status,"
    " vneid_delivered_at, delivery_attempts, attained_at) FROM STDIN"
)
CAMPAIGN_START = date(2025, 4, 1)
CAMPAIGN_DAYS = 580
FIRST_NAMES = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hương",
    "Lan",
    "Minh",
    "Nam",
    "Ngọc",
    "Phúc",
    "Quân",
    "Thảo",
    "Trang",
    "Tuấn",
    "Việt",
    "Yến",
    "Đức",
]
FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Thanh", "Quốc", "Ngọc"]


@dataclass
class Loaded:
    learners: int = 0
    completions: int = 0
    certificates: int = 0
    total_rows: int = 0
    seconds: float = 0.0


def _campaign_days(rng: random.Random) -> list[date]:
    """Registration happens on a few dozen campaign days, as it does in the field."""
    return sorted(
        {CAMPAIGN_START + timedelta(days=rng.randrange(CAMPAIGN_DAYS)) for _ in range(70)}
    )


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime(
        day.year, day.month, day.day, rng.randrange(1, 11), rng.randrange(60), tzinfo=UTC
    )


def load_country(
    session: Session, dsn: str, *, learners: int, seed: int = 57, personal_ids: PersonalIds
) -> Loaded:
    """Generate and COPY the raw rows, then the totals; returns what was loaded."""
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311  (synthetic data, not secrets)
    communes = session.exec(select(Commune)).all()
    required: dict[str, list[tuple[str, float]]] = {}
    for link in session.exec(select(ProgramCourse)).all():
        required.setdefault(link.program_code, []).append((link.course_code, link.pass_score))
    citizen_courses = required["CHUAN-NGUOI-DAN"]
    satisfying = rules.satisfying_programs(session)
    days = _campaign_days(rng)
    result = Loaded()
    sums: Counter[tuple[str, str, str, date]] = Counter()
    per_commune, extra = divmod(learners, len(communes))
    serial = 0
    with psycopg.connect(dsn) as connection:
        # A few hundred communes at a time: each chunk's learners are committed before their
        # completions and certificates, and memory stays bounded.
        for first in range(0, len(communes), CHUNK_COMMUNES):
            learner_rows: list[tuple[object, ...]] = []
            completion_rows: list[tuple[object, ...]] = []
            certificate_rows: list[tuple[object, ...]] = []
            for index in range(first, min(first + CHUNK_COMMUNES, len(communes))):
                commune = communes[index]
                for _ in range(per_commune + (1 if index < extra else 0)):
                    serial += 1
                    row, facts, certs, done = _person(
                        rng, serial, commune, days, citizen_courses, personal_ids
                    )
                    learner_rows.append(row)
                    completion_rows.extend(done)
                    # Attained when issued: the generated results come before the issue.
                    certificate_rows.extend((*c, c[5]) for c in certs)
                    own = contributions(
                        facts,
                        [_certificate_facts(c) for c in certs],
                        satisfying=satisfying,
                        adult_age=18,
                    )
                    for (metric, day), value in own.items():
                        sums[("commune", commune.code, metric, day)] += value
                        sums[("province", commune.province_code, metric, day)] += value
                        sums[("national", NATION, metric, day)] += value
            result.learners += _copy(connection, LEARNER_COPY, learner_rows)
            result.completions += _copy(connection, COMPLETION_COPY, completion_rows)
            result.certificates += _copy(connection, CERTIFICATE_COPY, certificate_rows)
            elapsed = time.perf_counter() - started
            print(
                f"  {result.learners:,} learners, {result.completions:,} completions "
                f"({elapsed:.0f} s)",
                flush=True,
            )
        result.completions += top_up_failed_attempts(connection, learners=result.learners)
        result.total_rows = _copy(
            connection,
            "COPY stat_total (level, unit_code, metric, effective_on, count) FROM STDIN",
            [
                (level, unit, metric, day, value)
                for (level, unit, metric, day), value in sums.items()
                if value
            ],
        )
        connection.commit()
        # What autovacuum would do on a live database: statistics, and the visibility map
        # that lets the totals be summed from their index alone.
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    result.seconds = time.perf_counter() - started
    return result


# Three results a person on average: the attempts generated above fall a little short, so
# some people also get one failed attempt at a course outside the citizens' standard.
COMPLETIONS_PER_LEARNER = 3
TOP_UP_COURSE = "LD-CONGCUSO"


def top_up_failed_attempts(
    connection: psycopg.Connection[tuple[object, ...]], *, learners: int
) -> int:
    """Add failed attempts until there are 3 completions a learner; returns how many.

    A failed attempt satisfies no program, so no certificate and no running total changes.
    """
    with connection.cursor() as cursor:
        have = cursor.execute("SELECT count(*) FROM completion").fetchone()
        missing = COMPLETIONS_PER_LEARNER * learners - (cast(int, have[0]) if have else 0)
        if missing <= 0:
            return 0
        cursor.execute(
            """
            INSERT INTO completion (id, learner_id, province_code, commune_code, course_code,
                                    completed_at, score, passed, method, created_at, updated_at)
            SELECT gen_random_uuid(), l.id, l.province_code, l.commune_code, %(course)s::varchar,
                   l.created_at + interval '3 days', 20, false, 'class',
                   l.created_at + interval '3 days', l.created_at + interval '3 days'
            FROM learner l
            WHERE NOT EXISTS (
                SELECT 1 FROM completion c
                WHERE c.learner_id = l.id AND c.course_code = %(course)s::varchar
            )
            LIMIT %(missing)s
            """,
            {"course": TOP_UP_COURSE, "missing": missing},
        )
        added = cursor.rowcount
    connection.commit()
    return added


def _certificate_facts(row: tuple[object, ...]) -> CertificateFacts:
    issued, revoked, delivered = row[5], row[8], row[11]
    assert isinstance(issued, datetime)
    return CertificateFacts(
        program_code=str(row[4]),
        attained_on=local_date(issued),
        revoked_on=local_date(revoked) if isinstance(revoked, datetime) else None,
        delivered_on=local_date(delivered) if isinstance(delivered, datetime) else None,
    )


def _copy(
    connection: psycopg.Connection[tuple[object, ...]],
    statement: str,
    rows: list[tuple[object, ...]],
) -> int:
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    connection.commit()
    return len(rows)


def _person(
    rng: random.Random,
    serial: int,
    commune: Commune,
    days: list[date],
    citizen_courses: list[tuple[str, float]],
    personal_ids: PersonalIds,
) -> tuple[tuple[object, ...], LearnerFacts, list[tuple[object, ...]], list[tuple[object, ...]]]:
    learner_id = uuid.uuid4()
    birth = date(1945, 1, 1) + timedelta(days=rng.randrange(0, 75 * 365))
    sex = rng.choice(("male", "female"))
    century = 0 if birth.year < 2000 else 2
    citizen_id = f"001{century + (sex == 'female')}{birth.year % 100:02d}{serial % 1_000_000:06d}"
    citizen_id = citizen_id[:6] + f"{serial:06d}"[-6:]
    age_now = 2026 - birth.year
    is_pupil = age_now <= 22 and rng.random() < 0.8
    is_official = 25 <= age_now <= 60 and rng.random() < 0.03
    is_worker = 18 <= age_now <= 60 and rng.random() < 0.15
    level = rng.choice(("commune", "province")) if is_official else None
    registered = _moment(rng.choice(days), rng)
    name = f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE)} {rng.choice(FIRST_NAMES)}"
    row = (
        learner_id,
        personal_ids.blind_index(f"{serial:012d}"),
        personal_ids.encrypt(citizen_id),
        citizen_id[-4:],
        name,
        fold(name),
        birth,
        sex,
        commune.province_code,
        commune.code,
        True,
        is_official,
        is_pupil,
        is_worker,
        level,
        "UBND" if is_official else None,
        "Theo dõi học tập",
        registered,
        registered,
        registered,
    )
    facts = LearnerFacts(
        birth_date=birth,
        registered_on=local_date(registered),
        groups=frozenset(
            g
            for g, on in (
                ("citizen", True),
                ("official", is_official),
                ("pupil", is_pupil),
                ("worker", is_worker),
            )
            if on
        ),
        official_level=level,
    )
    completions: list[tuple[object, ...]] = []
    certificates: list[tuple[object, ...]] = []
    if rng.random() < 0.35:
        chosen = citizen_courses
    else:
        chosen = rng.sample(citizen_courses, rng.choice((0, 0, 1, 1, 2)))
    moment = registered
    for course, pass_score in chosen:
        moment = moment + timedelta(days=rng.randrange(0, 20))
        completions.append(
            (
                uuid.uuid4(),
                learner_id,
                commune.province_code,
                commune.code,
                course,
                moment,
                float(rng.randrange(int(pass_score), 101)),
                True,
                "class",
                moment,
                moment,
            )
        )
    if chosen is citizen_courses:
        delivered = moment + timedelta(hours=2) if rng.random() < 0.6 else None
        revoked = moment + timedelta(days=30) if rng.random() < 0.005 else None
        certificates.append(
            (
                uuid.uuid4(),
                learner_id,
                commune.province_code,
                commune.code,
                "CHUAN-NGUOI-DAN",
                moment,
                name,
                "revoked" if revoked else "valid",
                revoked,
                "Cấp nhầm" if revoked else None,
                "delivered" if delivered else "pending",
                delivered,
                1,
            )
        )
    return row, facts, certificates, completions
