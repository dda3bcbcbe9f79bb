"""Registering the learners of an import, a chunk at a time, by the API's own rules.

Each row goes through the same schema (`LearnerCreate`) and rule functions as
`POST /learners`, in the same order (commune, scope, ID number against birth date and sex,
groups, village, person already registered), so a row is stored exactly when the API would
store it. What differs is only how: on PostgreSQL a chunk of people nobody registered yet goes
in with one COPY; otherwise one query finds the chunk's people already registered and one
multi-row INSERT ... ON CONFLICT DO NOTHING stores the others (so a person registered
concurrently is never stored twice). The running totals move by the chunk's sum, and one audit
event records the chunk.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from psycopg.errors import UniqueViolation
from pydantic import ValidationError
from sqlalchemy import ColumnElement, String, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound, field_error, invalid_field
from app.core.text import fold, normalize_name
from app.imports import columns
from app.imports.context import ChunkOutcome, ImportContext, SourceRow, commune_code
from app.learners.models import Group, Learner
from app.learners.schemas import LearnerCreate
from app.learners.service import group_problems, person_problems
from app.stats import totals
from app.stats.contributions import adult_since, local_date
from app.sync import problems
from app.training.schemas import MIDDAY

DEFAULT_CONSENT_PURPOSE = "Theo dõi kết quả học kỹ năng số"
LEARNER_TABLE = Learner.__table__  # type: ignore[attr-defined]
LEARNER_COLUMNS = [column.name for column in LEARNER_TABLE.columns]
COLUMN_LIST = ", ".join(f'"{name}"' for name in LEARNER_COLUMNS)
STAGE = "import_learner_stage"


def payload(row: SourceRow, default_commune_code: str | None) -> dict[str, Any]:
    """The row as the body `POST /learners` would take (the village by name, apart)."""
    f = row.fields
    given_at = f.get("consent_given_at")
    if not isinstance(given_at, datetime):
        given_at = columns.day(given_at)
        if isinstance(given_at, date):
            # A day alone stands for midday in Vietnam, as for completions.
            given_at = datetime.combine(given_at, MIDDAY)
    body: dict[str, Any] = {
        "citizen_id": columns.citizen_id(f.get("citizen_id")),
        "full_name": columns.text(f.get("full_name")),
        "birth_date": columns.day(f.get("birth_date")),
        "sex": columns.choice(f.get("sex"), columns.SEXES),
        "commune_code": commune_code(f.get("commune_code")) or default_commune_code,
        "groups": columns.groups(f.get("groups")),
        "official_level": columns.choice(f.get("official_level"), columns.LEVELS),
        "agency": columns.text(f.get("agency")),
        "phone": columns.phone(f.get("phone")),
        "consent": {
            "purpose": columns.text(f.get("consent_purpose")) or DEFAULT_CONSENT_PURPOSE,
            "given_at": given_at,
        },
    }
    if body["consent"]["given_at"] is None:
        del body["consent"]["given_at"]
    return {k: v for k, v in body.items() if v is not None}


@dataclass
class Prepared:
    """A chunk checked by the API's rules, with the rows to insert for its new people."""

    outcome: ChunkOutcome
    # blind index → (source row, the learner row to insert)
    candidates: dict[str, tuple[SourceRow, dict[str, Any]]]
    first_row: int
    last_row: int


def prepare_chunk(ctx: ImportContext, rows: list[SourceRow]) -> Prepared:
    """The part that needs no transaction: check each row, build the new learners' rows.

    The worker runs it for the next chunk while the database stores the current one.
    """
    outcome = ChunkOutcome()
    now = utcnow()
    candidates: dict[str, tuple[SourceRow, dict[str, Any]]] = {}
    for row in rows:
        checked = _check(ctx, row, outcome)
        if checked is None:
            continue
        digest = ctx.personal_ids.blind_index(checked.data.citizen_id)
        if digest in candidates:
            # The same person twice in the file: the first row registers them.
            outcome.duplicate += 1
            continue
        candidates[digest] = (row, _learner_row(ctx, digest, checked, now))
    first, last = (rows[0].number, rows[-1].number) if rows else (0, 0)
    return Prepared(outcome, candidates, first, last)


def store_prepared(session: Session, ctx: ImportContext, prepared: Prepared) -> ChunkOutcome:
    """Register the chunk's new people; count the known ones; say why the others were refused."""
    outcome = prepared.outcome
    candidates = prepared.candidates
    new_rows = [learner_row for _, learner_row in candidates.values()]
    if _copy_all(session, new_rows):
        # Nobody in the chunk was registered: all stored by one COPY.
        inserted = {r["citizen_id_hash"] for r in new_rows}
        outcome.stored += len(new_rows)
    else:
        known = _registered(session, list(candidates))
        new_rows = []
        for digest, (row, learner_row) in candidates.items():
            existing = known.get(digest)
            if existing is not None:
                _count_known(ctx, row, existing, outcome)
                continue
            new_rows.append(learner_row)
        inserted = _insert(session, new_rows)
        for learner_row in new_rows:
            digest = learner_row["citizen_id_hash"]
            if digest in inserted:
                outcome.stored += 1
                continue
            # Registered by someone else between our look-up and our insert.
            raced = _registered(session, [digest]).get(digest)
            assert raced is not None
            _count_known(ctx, candidates[digest][0], raced, outcome)

    stored_rows = [r for r in new_rows if r["citizen_id_hash"] in inserted]
    totals.apply(session, dict(_totals_delta(session, stored_rows)))
    audit.record(
        session,
        actor_id=ctx.actor.audit_id,
        actor_role=ctx.actor.role,
        action="learner.import",
        target_type="import",
        target_id=ctx.import_id,
        province_code=ctx.actor.province_code,
        commune_code=ctx.actor.commune_code,
        detail={
            "rows": [prepared.first_row, prepared.last_row],
            "stored": outcome.stored,
            "duplicate": outcome.duplicate,
            "rejected": len(outcome.rejected),
        },
    )
    return outcome


def store_chunk(session: Session, ctx: ImportContext, rows: list[SourceRow]) -> ChunkOutcome:
    """Both halves at once (what the worker does, without its overlap)."""
    return store_prepared(session, ctx, prepare_chunk(ctx, rows))


@dataclass(frozen=True)
class Checked:
    """A row that passed every rule, with where it belongs."""

    data: LearnerCreate
    province_code: str
    village_id: int | None


def _check(ctx: ImportContext, row: SourceRow, outcome: ChunkOutcome) -> Checked | None:
    body = payload(row, ctx.default_commune_code)
    try:
        data = LearnerCreate.model_validate(body)
    except ValidationError as exc:
        outcome.reject(row, problems.from_validation(exc))
        return None
    province = ctx.province_of(data.commune_code)
    if province is None:
        outcome.reject(row, invalid_field("commune_code", "commune.unknown"))
        return None
    if not ctx.actor.covers(province, data.commune_code):
        outcome.reject(row, NotFound("what.commune"))
        return None
    errors = person_problems(
        data.citizen_id, birth_date=data.birth_date, sex=data.sex.value, today=ctx.today
    )
    errors += group_problems(data.groups, data.official_level, data.agency)
    village_name = columns.text(row.fields.get("village"))
    village_id = None
    if village_name is not None:
        village_id = ctx.village_id(data.commune_code, village_name)
        if village_id is None:
            errors.append(field_error("village", "import.village_unknown"))
    if errors:
        outcome.reject(row, Invalid("validation.detail", errors=errors))
        return None
    return Checked(data, province, village_id)


def _count_known(
    ctx: ImportContext, row: SourceRow, existing: tuple[str, str], outcome: ChunkOutcome
) -> None:
    province, commune = existing
    if ctx.actor.covers(province, commune):
        outcome.duplicate += 1
    else:
        # As the API's 409: the person is registered, somewhere the caller cannot see.
        outcome.reject(row, Conflict("learner.duplicate"))


def _registered(session: Session, digests: list[str]) -> dict[str, tuple[str, str]]:
    """The chunk's people already registered: blind index → (province, commune)."""
    if not digests:
        return {}
    found: ColumnElement[bool] = col(Learner.citizen_id_hash).in_(digests)
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: planning a thousand-item IN list costs more than the look-up.
        found = col(Learner.citizen_id_hash) == any_(
            bindparam("digests", value=digests, type_=postgresql.ARRAY(String))
        )
    statement = select(Learner.citizen_id_hash, Learner.province_code, Learner.commune_code).where(
        found
    )
    return {h: (p, c) for h, p, c in session.exec(statement).all() if h is not None}


def _learner_row(
    ctx: ImportContext, digest: str, checked: Checked, now: datetime
) -> dict[str, Any]:
    data = checked.data
    full_name = normalize_name(data.full_name)
    groups = set(data.groups)
    level = data.official_level
    return {
        "id": uuid.uuid4(),
        "citizen_id_hash": digest,
        "citizen_id_enc": ctx.personal_ids.encrypt(data.citizen_id),
        "citizen_id_last4": data.citizen_id[-4:],
        "full_name": full_name,
        "name_folded": fold(full_name),
        "birth_date": data.birth_date,
        "sex": data.sex.value,
        "province_code": checked.province_code,
        "commune_code": data.commune_code,
        "village_id": checked.village_id,
        "is_citizen": Group.citizen in groups,
        "is_official": Group.official in groups,
        "is_pupil": Group.pupil in groups,
        "is_worker": Group.worker in groups,
        "official_level": level.value if level else None,
        "agency": data.agency,
        "phone": data.phone,
        "consent_purpose": data.consent.purpose,
        "consent_given_at": data.consent.given_at.astimezone(UTC),
        "client_id": None,
        "created_at": now,
        "updated_at": now,
        "created_by_id": ctx.actor.user_id,
        "erased_at": None,
    }


def _insert(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows, skipping people registered meanwhile; the blind indexes stored."""
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _insert_by_copy(session, rows)
    statement = (
        sqlite.insert(LEARNER_TABLE)
        .on_conflict_do_nothing(index_elements=["citizen_id_hash"])
        .returning(LEARNER_TABLE.c.citizen_id_hash)
    )
    return set(session.execute(statement, rows).scalars())


def _copy_all(session: Session, rows: list[dict[str, Any]]) -> bool:
    """On PostgreSQL, COPY the rows straight into the table, if none of these people is known.

    A chunk of people nobody registered yet (a new list) goes in by PostgreSQL's fastest way,
    with no look-up first. Should one of them be registered already, the unique index stops the
    COPY at that row; its savepoint is rolled back and the chunk takes the careful path.
    """
    if not rows or session.get_bind().dialect.name != "postgresql":
        return False
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        # A savepoint of the driver's own: the session runs no statement it would track.
        cursor.execute("SAVEPOINT import_copy")
        try:
            with cursor.copy(f"COPY learner ({COLUMN_LIST}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[name] for name in LEARNER_COLUMNS])
        except UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT import_copy")
            return False
        cursor.execute("RELEASE SAVEPOINT import_copy")
    return True


def _insert_by_copy(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    # COPY into a temporary table of the same shape, then one INSERT ... SELECT whose
    # ON CONFLICT DO NOTHING skips whoever was registered meanwhile.
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (LIKE learner INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {STAGE} ({COLUMN_LIST}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in LEARNER_COLUMNS])
        # The column names come from the model's metadata, never from input.
        cursor.execute(
            f"INSERT INTO learner ({COLUMN_LIST}) SELECT {COLUMN_LIST} FROM {STAGE} "  # noqa: S608
            "ON CONFLICT (citizen_id_hash) DO NOTHING RETURNING citizen_id_hash"
        )
        inserted = {digest for (digest,) in cursor.fetchall()}
        cursor.execute(f"TRUNCATE {STAGE}")
    return inserted


def _totals_delta(session: Session, rows: list[dict[str, Any]]) -> Counter[totals.RowKey]:
    """What the chunk's new learners add to the running totals, as `rows_for` counts it.

    A new learner's rows depend on the birth date only through the day it counts as an adult
    (at the latest, the day it is registered): learners alike in that day, their groups,
    level and units add the same rows, so `rows_for` runs once per such kind.
    """
    satisfying = totals.satisfying_programs(session)
    age = totals.adult_age(session)
    kinds: Counter[tuple[Any, ...]] = Counter()
    examples: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        registered_on = local_date(row["created_at"])
        key = (
            max(adult_since(row["birth_date"], age), registered_on),
            row["created_at"],
            row["is_citizen"],
            row["is_official"],
            row["is_pupil"],
            row["is_worker"],
            row["official_level"],
            row["province_code"],
            row["commune_code"],
            row["village_id"],
        )
        kinds[key] += 1
        examples.setdefault(key, row)
    delta: Counter[totals.RowKey] = Counter()
    for key, count in kinds.items():
        learner = Learner(**examples[key])
        for total_key, value in totals.rows_for(
            learner, [], satisfying=satisfying, age=age
        ).items():
            delta[total_key] += value * count
    return delta
