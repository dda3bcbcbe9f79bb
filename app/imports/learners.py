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

import copy
import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache, partial
from typing import Any

from psycopg.errors import UniqueViolation
from pydantic import ValidationError
from sqlalchemy import ColumnElement, String, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.core.clock import local_date
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound, field_error
from app.core.text import fold, normalize_name
from app.imports import columns
from app.imports.context import (
    ChunkOutcome,
    ImportContext,
    SourceRow,
    commune_code,
    row_problem,
)
from app.imports.readers import Cell
from app.learners.models import Group, Learner
from app.learners.schemas import LearnerCreate
from app.learners.service import group_problems, person_problems
from app.ledger import rules, totals
from app.ledger.contributions import adult_since
from app.training.schemas import MIDDAY
from app.units import legacy

DEFAULT_CONSENT_PURPOSE = "Theo dõi kết quả học kỹ năng số"
LEARNER_TABLE = Learner.__table__  # type: ignore[attr-defined]
LEARNER_COLUMNS = [column.name for column in LEARNER_TABLE.columns]
COLUMN_LIST = ", ".join(f'"{name}"' for name in LEARNER_COLUMNS)
STAGE = "import_learner_stage"


# How each field of a learner row is read from its cell, when the file has one.
_READERS: tuple[tuple[str, Callable[[Cell], Any]], ...] = (
    ("citizen_id", columns.citizen_id),
    ("full_name", columns.text),
    ("birth_date", columns.day),
    ("sex", partial(columns.choice, choices=columns.SEXES)),
    ("commune_code", commune_code),
    ("groups", columns.groups),
    ("official_level", partial(columns.choice, choices=columns.LEVELS)),
    ("agency", columns.text),
    ("phone", columns.phone),
)


def payload(row: SourceRow, default_commune_code: str | None) -> dict[str, Any]:
    """The row as the body `POST /learners` would take (the village by name, apart)."""
    fields = row.fields
    body: dict[str, Any] = {}
    for name, read in _READERS:
        cell = fields.get(name)
        if cell is not None and (value := read(cell)) is not None:
            body[name] = value
    if "commune_code" not in body and default_commune_code is not None:
        body["commune_code"] = default_commune_code
    purpose = fields.get("consent_purpose")
    purpose_text = None if purpose is None else columns.text(purpose)
    consent = {"purpose": purpose_text or DEFAULT_CONSENT_PURPOSE}
    given_at = _consent_moment(fields.get("consent_given_at"))
    if given_at is not None:
        consent["given_at"] = given_at
    body["consent"] = consent
    return body


def _consent_moment(cell: Cell) -> Any:
    if cell is None or isinstance(cell, datetime):
        return cell
    value = columns.day(cell)
    return _midday(value) if isinstance(value, date) else value


@lru_cache(maxsize=4096)
def _midday(day: date) -> datetime:
    # A day alone stands for midday in Vietnam, as for completions.
    return datetime.combine(day, MIDDAY)


@dataclass(slots=True)
class Candidate:
    """A checked row of someone new to the chunk, ready to be stored."""

    row: SourceRow
    # What it adds to the running totals: learners of the same kind add the same rows.
    kind: tuple[Any, ...]
    # The learner row in COPY's text format (PostgreSQL), or as values (other databases).
    line: str | None
    values: dict[str, Any] | None


@dataclass
class Prepared:
    """A chunk checked by the API's rules, with what storing its new people needs."""

    outcome: ChunkOutcome
    candidates: dict[str, Candidate]  # by blind index
    examples: dict[tuple[Any, ...], dict[str, Any]]  # one learner row of each kind
    first_row: int
    last_row: int


def prepare_chunk(ctx: ImportContext, rows: list[SourceRow]) -> Prepared:
    """The part that needs no transaction: check each row, build the new learners' rows.

    The worker runs it for the next chunk while the database stores the current one.
    """
    outcome = ChunkOutcome()
    now = utcnow()
    now_text, registered_on = now.isoformat(), local_date(now)
    copying = ctx.engine.dialect.name == "postgresql"
    # COPY takes an id as its 32 hex digits; other databases take a UUID.
    new_ids = iter(_uuid4_hexes(len(rows))) if copying else None
    candidates: dict[str, Candidate] = {}
    examples: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        checked = _check(ctx, row, outcome)
        if checked is None:
            continue
        digest = ctx.personal_ids.blind_index(checked.data.citizen_id)
        if digest in candidates:
            # The same person twice in the file: the first row registers them.
            outcome.duplicate += 1
            continue
        kind = _kind(checked, now, registered_on, ctx.adult_age)
        if new_ids is not None:
            new_id = next(new_ids)
            line = copy_line(ctx, new_id, digest, checked, now_text)
            candidates[digest] = Candidate(row, kind, line, None)
            if kind not in examples:
                examples[kind] = _learner_row(ctx, new_id, digest, checked, now)
        else:
            values = _learner_row(ctx, uuid.uuid4(), digest, checked, now)
            candidates[digest] = Candidate(row, kind, None, values)
            examples.setdefault(kind, values)
    first, last = (rows[0].number, rows[-1].number) if rows else (0, 0)
    return Prepared(outcome, candidates, examples, first, last)


def store_prepared(session: Session, ctx: ImportContext, prepared: Prepared) -> ChunkOutcome:
    """Register the chunk's new people; count the known ones; say why the others were refused.

    `prepared` is left as it was, so a chunk whose transaction failed can be stored again.
    """
    outcome = copy.deepcopy(prepared.outcome)
    # In blind-index order: two imports over the same people insert them in the same order, so
    # one waits for the other instead of each holding what the other needs.
    candidates = dict(sorted(prepared.candidates.items()))
    if _copy_all(session, [c.line for c in candidates.values() if c.line is not None]):
        # Nobody in the chunk was registered: all stored by one COPY.
        stored = list(candidates.values())
    else:
        known = _registered(session, list(candidates))
        fresh: dict[str, Candidate] = {}
        for digest, candidate in candidates.items():
            existing = known.get(digest)
            if existing is None:
                fresh[digest] = candidate
            else:
                _count_known(ctx, candidate.row, existing, outcome)
        inserted = _insert(session, list(fresh.values()))
        stored = []
        for digest, candidate in fresh.items():
            if digest in inserted:
                stored.append(candidate)
                continue
            # Registered by someone else between our look-up and our insert.
            raced = _registered(session, [digest]).get(digest)
            assert raced is not None
            _count_known(ctx, candidate.row, raced, outcome)
    outcome.stored += len(stored)
    kinds = Counter(candidate.kind for candidate in stored)
    delta = _totals_delta(session, kinds, prepared.examples, ctx.adult_age)
    totals.apply(session, dict(delta))
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


@dataclass(slots=True)
class Checked:
    """A row that passed every rule, with where it belongs."""

    data: LearnerCreate
    province_code: str
    village_id: int | None


def _check(ctx: ImportContext, row: SourceRow, outcome: ChunkOutcome) -> Checked | None:
    body = payload(row, ctx.default_commune_code)
    try:
        body = _on_new_map(ctx, row, body)
        data = LearnerCreate.model_validate(body)
    except ValidationError as exc:
        outcome.reject(row, row_problem(exc))
        return None
    except Invalid as exc:
        outcome.reject(row, exc)
        return None
    province = ctx.province_of(data.commune_code)
    if province is None:
        outcome.reject(row, legacy.unknown_commune("commune_code", data.commune_code))
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


def _on_new_map(ctx: ImportContext, row: SourceRow, body: dict[str, Any]) -> dict[str, Any]:
    """The row's body with the new commune its old commune code stands for, if it gives one.

    The old code is in the `Mã xã (cũ)` column, or in `Mã xã` when the upload said its codes
    are old ones. A split old commune is placed by the row's new code (one of the candidates)
    or by its village, when exactly one candidate commune has a village of that name.
    """
    fields = row.fields
    own_code = commune_code(fields.get("commune_code"))
    if ctx.old_codes:
        field, old, new = "commune_code", own_code, None
    else:
        old = commune_code(fields.get("legacy_commune_code"))
        field, new = "legacy_commune_code", own_code
    if old is None:
        return body
    village = columns.text(fields.get("village"))
    unit = legacy.get(old)
    if new is None and unit is not None and village is not None:
        having = [c.code for c in unit.new_communes if ctx.village_id(c.code, village)]
        new = having[0] if len(having) == 1 else None
    settled = legacy.settle(
        field,
        old,
        new_code=new,
        district=columns.text(fields.get("legacy_district")),
        name=columns.text(fields.get("legacy_commune_name")),
    )
    return {**body, "commune_code": settled}


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
    ctx: ImportContext, new_id: uuid.UUID | str, digest: str, checked: Checked, now: datetime
) -> dict[str, Any]:
    data = checked.data
    full_name = normalize_name(data.full_name)
    groups = set(data.groups)
    level = data.official_level
    return {
        "id": new_id,
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


def _insert(session: Session, candidates: list[Candidate]) -> set[str]:
    """Insert the people, skipping those registered meanwhile; the blind indexes stored."""
    if not candidates:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _insert_by_copy(session, [c.line for c in candidates if c.line is not None])
    statement = (
        sqlite.insert(LEARNER_TABLE)
        .on_conflict_do_nothing(index_elements=["citizen_id_hash"])
        .returning(LEARNER_TABLE.c.citizen_id_hash)
    )
    values = [c.values for c in candidates if c.values is not None]
    return set(session.execute(statement, values).scalars())


def _copy_all(session: Session, lines: list[str]) -> bool:
    """On PostgreSQL, COPY the rows straight into the table, if none of these people is known.

    A chunk of people nobody registered yet (a new list) goes in by PostgreSQL's fastest way,
    with no look-up first. Should one of them be registered already, the unique index stops the
    COPY at that row; its savepoint is rolled back and the chunk takes the careful path.
    """
    if not lines or session.get_bind().dialect.name != "postgresql":
        return False
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        # A savepoint of the driver's own: the session runs no statement it would track.
        cursor.execute("SAVEPOINT import_copy")
        try:
            with cursor.copy(f"COPY learner ({COLUMN_LIST}) FROM STDIN") as copy:
                copy.write("".join(lines))
        except UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT import_copy")
            return False
        cursor.execute("RELEASE SAVEPOINT import_copy")
    return True


def _insert_by_copy(session: Session, lines: list[str]) -> set[str]:
    # COPY into a temporary table of the same shape, then one INSERT ... SELECT whose
    # ON CONFLICT DO NOTHING skips whoever was registered meanwhile.
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (LIKE learner INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {STAGE} ({COLUMN_LIST}) FROM STDIN") as copy:
            copy.write("".join(lines))
        # The column names come from the model's metadata, never from input.
        cursor.execute(
            f"INSERT INTO learner ({COLUMN_LIST}) SELECT {COLUMN_LIST} FROM {STAGE} "  # noqa: S608
            "ORDER BY citizen_id_hash ON CONFLICT (citizen_id_hash) DO NOTHING "
            "RETURNING citizen_id_hash"
        )
        inserted = {digest for (digest,) in cursor.fetchall()}
        cursor.execute(f"TRUNCATE {STAGE}")
    return inserted


# COPY's text format: a tab between values, \N for null, and a backslash before a backslash,
# tab, newline or carriage return inside a value.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"


def _copy_text(value: str) -> str:
    if value.isprintable() and "\\" not in value:
        return value  # nearly always: nothing to escape
    return value.translate(_COPY_ESCAPES)


def _copy_optional(value: str | None) -> str:
    return _COPY_NULL if value is None else _copy_text(value)


@lru_cache(maxsize=4096)
def _utc_text(value: datetime) -> str:
    # A file repeats its consent days.
    return value.astimezone(UTC).isoformat()


_BOOLEAN = {True: "t", False: "f"}
# The order copy_line writes; checked against the table when this module loads.
_COPY_ORDER = [
    "id",
    "citizen_id_hash",
    "citizen_id_enc",
    "citizen_id_last4",
    "full_name",
    "name_folded",
    "birth_date",
    "sex",
    "province_code",
    "commune_code",
    "village_id",
    "is_citizen",
    "is_official",
    "is_pupil",
    "is_worker",
    "official_level",
    "agency",
    "phone",
    "consent_purpose",
    "consent_given_at",
    "client_id",
    "created_at",
    "updated_at",
    "created_by_id",
    "erased_at",
]
if _COPY_ORDER != LEARNER_COLUMNS:
    raise RuntimeError("copy_line no longer matches the learner table's columns")


def copy_line(ctx: ImportContext, new_id: str, digest: str, checked: Checked, now_text: str) -> str:
    """The learner row `_learner_row` makes, as one line of COPY's text format (in
    `COLUMN_LIST` order), made straight from the checked row.

    The ID number's hash, ciphertext and last digits, the sex, level and unit codes are the
    service's own (hex, base64url, digits, known codes) and need no escaping; the text a
    person typed does.
    """
    data = checked.data
    full_name = normalize_name(data.full_name)
    groups = data.groups
    level = data.official_level
    village = checked.village_id
    creator = ctx.actor.user_id
    return (
        "\t".join(
            (
                new_id,
                digest,
                ctx.personal_ids.encrypt(data.citizen_id),
                data.citizen_id[-4:],
                _copy_text(full_name),
                _copy_text(fold(full_name)),
                data.birth_date.isoformat(),
                data.sex.value,
                checked.province_code,
                data.commune_code,
                _COPY_NULL if village is None else str(village),
                _BOOLEAN[Group.citizen in groups],
                _BOOLEAN[Group.official in groups],
                _BOOLEAN[Group.pupil in groups],
                _BOOLEAN[Group.worker in groups],
                _COPY_NULL if level is None else level.value,
                _copy_optional(data.agency),
                _copy_optional(data.phone),
                _copy_text(data.consent.purpose),
                _utc_text(data.consent.given_at),
                _COPY_NULL,  # client_id: a phone's id, never a file's
                now_text,
                now_text,
                _COPY_NULL if creator is None else str(creator),
                _COPY_NULL,  # erased_at
            )
        )
        + "\n"
    )


def _uuid4_hexes(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as hex digits, from one read of the system's random
    source: a thousand `uuid.uuid4()` cost a chunk as much as its encryption."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 4122 variant
    digits = raw.hex()
    return [digits[i : i + 32] for i in range(0, 32 * count, 32)]


# A file repeats birth dates.
_adult_since = lru_cache(maxsize=65536)(adult_since)


def _kind(checked: Checked, now: datetime, registered_on: date, age: int) -> tuple[Any, ...]:
    """What a new learner's total rows depend on: learners of one kind add the same rows.

    The birth date matters only through the day the person counts as an adult (at the
    latest, the day they are registered).
    """
    data = checked.data
    groups = data.groups
    level = data.official_level
    return (
        max(_adult_since(data.birth_date, age), registered_on),
        now,
        Group.citizen in groups,
        Group.official in groups,
        Group.pupil in groups,
        Group.worker in groups,
        None if level is None else level.value,
        checked.province_code,
        data.commune_code,
        checked.village_id,
    )


def _totals_delta(
    session: Session,
    kinds: Counter[tuple[Any, ...]],
    examples: dict[tuple[Any, ...], dict[str, Any]],
    age: int,
) -> Counter[totals.RowKey]:
    """What the stored learners add to the running totals, as `rows_for` counts it, which runs
    once per kind of learner; `age` is the one the kinds were made with."""
    satisfying = rules.satisfying_programs(session)
    delta: Counter[totals.RowKey] = Counter()
    for kind, count in kinds.items():
        learner = Learner(**examples[kind])
        for total_key, value in totals.rows_for(
            learner, [], satisfying=satisfying, age=age
        ).items():
            delta[total_key] += value * count
    return delta
