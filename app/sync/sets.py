"""A phone's batch stored set-based: checked in Python, looked up and written in a few
statements.

Each record is checked by the same rules, in the same order, as `service`'s per-record path
(which `POST /learners` and `POST /completions` share); what differs is only how it is stored.
The batch's look-ups (client_ids and people already stored, communes, villages, courses) are
one query each, and the new learners, then their results, go in with one
`INSERT … ON CONFLICT DO NOTHING RETURNING` each, in a fixed order. Whatever this path cannot
place with certainty is handed back for the per-record path, which answers it exactly as
before: a record sent again, a person already registered, the second record of one person
or of one learner and course in a batch, a result for a learner stored before the batch or
in a class, a row a concurrent batch stored first (the statement skips it and says so).
"""

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import any_, bindparam
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.audit import service as audit
from app.catalog import service as catalog
from app.certificates.issuance import attained_from, issue_attained
from app.core import bulk
from app.core.clock import vietnam_today
from app.core.db import utcnow
from app.core.errors import DomainError, Invalid, invalid_field
from app.core.security import PersonalIds
from app.core.text import fold, normalize_name
from app.core.types import in_utc
from app.learners import service as learners
from app.learners.models import Group, Learner
from app.ledger import rules, totals
from app.sync import problems
from app.sync.outcomes import Outcome, client_id_of, rejected
from app.sync.schemas import SyncCompletion, SyncLearner
from app.training import queries as completions
from app.training import service as training
from app.training.models import Completion
from app.training.schemas import CompletionCreate
from app.units import legacy
from app.units.models import Commune, Village

Records = list[tuple[int, dict[str, Any]]]
OLD_CODE = re.compile(r"\d{5}")
ConfirmIdentity = Callable[..., None]

_LEARNERS = Learner.__table__  # type: ignore[attr-defined]
_COMPLETIONS = Completion.__table__  # type: ignore[attr-defined]


def _among(column: Any, values: Iterable[Any], dialect: str, type_: Any) -> Any:
    """`column` is one of `values`: one array parameter on PostgreSQL (planning a long IN list
    costs more than the look-up), one placeholder each elsewhere."""
    values = list(values)
    if dialect == "postgresql":
        return column == any_(bindparam(None, value=values, type_=postgresql.ARRAY(type_)))
    return column.in_(values)


@dataclass(slots=True)
class NewLearner:
    """A learner this path stored: what the batch's results need of them."""

    place: learners.LearnerPlace
    client_id: uuid.UUID


def store_learners(
    session: Session,
    *,
    actor: Actor,
    personal_ids: PersonalIds,
    records: Records,
    confirm_identity: ConfirmIdentity | None,
) -> tuple[list[Outcome], dict[uuid.UUID, NewLearner], Records]:
    """Store the batch's new people; returns the outcomes, the learners stored (by id), and
    the records left for the per-record path (in the order they came)."""
    dialect = session.get_bind().dialect.name
    outcomes: list[Outcome] = []
    later: Records = []
    parsed: list[tuple[int, dict[str, Any], SyncLearner, str]] = []
    for index, raw in records:
        try:
            record = SyncLearner.model_validate(on_new_map(raw))
        except ValidationError as exc:
            problem = problems.from_validation(exc)
            outcomes.append(Outcome("learner", index, client_id_of(raw), "rejected", None, problem))
            continue
        except Invalid as exc:
            problem = problems.from_error(exc)
            outcomes.append(Outcome("learner", index, client_id_of(raw), "rejected", None, problem))
            continue
        parsed.append((index, raw, record, personal_ids.blind_index(record.citizen_id)))
    if not parsed:
        return outcomes, {}, later
    known_clients = set(
        session.exec(
            select(Learner.client_id).where(
                _among(col(Learner.client_id), {p[2].client_id for p in parsed}, dialect, _uuid())
            )
        ).all()
    )
    known_people = set(
        session.exec(
            select(Learner.citizen_id_hash).where(
                _among(col(Learner.citizen_id_hash), {p[3] for p in parsed}, dialect, _text())
            )
        ).all()
    )
    communes = dict(
        session.exec(
            select(Commune.code, Commune.province_code).where(
                _among(col(Commune.code), {p[2].commune_code for p in parsed}, dialect, _text())
            )
        ).all()
    )
    wanted_villages = sorted({p[2].village_id for p in parsed if p[2].village_id is not None})
    villages: dict[int, str] = {}
    if wanted_villages:
        found = select(col(Village.id), col(Village.commune_code))
        for village_id, commune in session.execute(
            found.where(col(Village.id).in_(wanted_villages))
        ):
            villages[village_id] = commune
    today = vietnam_today()
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}  # by blind index
    waiting: dict[str, tuple[int, dict[str, Any]]] = {}
    taken_clients: set[uuid.UUID] = set()
    for index, raw, record, digest in parsed:
        if (
            record.client_id in known_clients
            or record.client_id in taken_clients
            or digest in known_people
            or digest in rows
        ):
            # Sent again, registered already, or a second record of one person or client_id.
            later.append((index, raw))
            continue
        try:
            if confirm_identity is not None:
                confirm_identity(
                    citizen_id=record.citizen_id,
                    full_name=record.full_name,
                    birth_date=record.birth_date,
                )
            _check_learner(actor, record, communes, villages, today)
        except DomainError as exc:
            outcomes.append(rejected(session, actor, "learner", index, record.client_id, exc))
            continue
        rows[digest] = _learner_row(actor, personal_ids, record, digest, communes, now)
        waiting[digest] = (index, raw)
        taken_clients.add(record.client_id)
    stored: dict[uuid.UUID, NewLearner] = {}
    if not rows:
        return outcomes, stored, later
    # In blind-index order, as imports insert: two batches over the same people take their
    # keys in one order, so one waits for the other instead of each holding what the other
    # needs.
    ordered = [rows[digest] for digest in sorted(rows)]
    inserted = {
        digest: learner_id
        for learner_id, digest in bulk.insert_rows(
            session,
            _LEARNERS,
            ordered,
            order_by=("citizen_id_hash",),
            returning=("id", "citizen_id_hash"),
            skip_conflicts=True,
        )
    }
    events = []
    kinds: Counter[tuple[Any, ...]] = Counter()
    for digest, row in rows.items():
        index, raw = waiting[digest]
        learner_id = inserted.get(digest)
        if learner_id is None:
            # Stored by a concurrent batch or desk since the look-up.
            later.append((index, raw))
            continue
        kinds[totals.new_learner_kind(row)] += 1
        place = learners.LearnerPlace(
            learner_id, row["province_code"], row["commune_code"], row["birth_date"]
        )
        stored[learner_id] = NewLearner(place, row["client_id"])
        outcomes.append(Outcome("learner", index, row["client_id"], "created", learner_id))
        events.append(
            audit.event(
                actor_id=actor.audit_id,
                actor_role=actor.role,
                action="learner.create",
                target_type="learner",
                target_id=learner_id,
                province_code=row["province_code"],
                commune_code=row["commune_code"],
            )
        )
    audit.record_events(session, events)
    totals.apply(session, totals.new_learners_rows(session, kinds))
    order = records_order(records)
    later.sort(key=lambda pair: order[pair[0]])
    return outcomes, stored, later


def on_new_map(raw: dict[str, Any]) -> dict[str, Any]:
    """The record with the new commune its old commune code stands for, when it gives one.

    A malformed old code is left to the schema, which names the field.
    """
    old = raw.get("legacy_commune_code")
    if not isinstance(old, str) or not OLD_CODE.fullmatch(old):
        return raw
    given = raw.get("commune_code")
    new = legacy.settle(
        "legacy_commune_code", old, new_code=given if isinstance(given, str) else None
    )
    return {**raw, "commune_code": new}


def records_order(records: Records) -> dict[int, int]:
    return {index: position for position, (index, _) in enumerate(records)}


def _uuid() -> Any:
    return _LEARNERS.c.client_id.type


def _text() -> Any:
    return _LEARNERS.c.citizen_id_hash.type


def _check_learner(
    actor: Actor,
    record: SyncLearner,
    communes: dict[str, str],
    villages: dict[int, str],
    today: Any,
) -> None:
    """`learners.register_learner`'s checks, in its order, from the batch's look-ups."""
    province = communes.get(record.commune_code)
    if province is None:
        raise legacy.unknown_commune("commune_code", record.commune_code)
    actor.require_in_scope(
        province, record.commune_code, what="what.commune", action="learner.create"
    )
    errors = learners.person_problems(
        record.citizen_id, birth_date=record.birth_date, sex=record.sex.value, today=today
    )
    errors += learners.group_problems(record.groups, record.official_level, record.agency)
    if errors:
        raise Invalid("validation.detail", errors=errors)
    if record.village_id is not None and villages.get(record.village_id) != record.commune_code:
        raise invalid_field("village_id", "village.other_commune")


def _learner_row(
    actor: Actor,
    personal_ids: PersonalIds,
    record: SyncLearner,
    digest: str,
    communes: dict[str, str],
    now: Any,
) -> dict[str, Any]:
    """The learner table's row `learners.register_learner` would store."""
    full_name = normalize_name(record.full_name)
    groups = set(record.groups)
    level = record.official_level
    return {
        "id": uuid.uuid4(),
        "citizen_id_hash": digest,
        "citizen_id_enc": personal_ids.encrypt(record.citizen_id),
        "citizen_id_last4": record.citizen_id[-4:],
        "full_name": full_name,
        "name_folded": fold(full_name),
        "birth_date": record.birth_date,
        "sex": record.sex.value,
        "province_code": communes[record.commune_code],
        "commune_code": record.commune_code,
        "village_id": record.village_id,
        **{f"is_{group.value}": group in groups for group in Group},
        "official_level": level.value if level else None,
        "agency": record.agency,
        "phone": record.phone,
        "consent_purpose": record.consent.purpose,
        "consent_given_at": in_utc(record.consent.given_at),
        "client_id": record.client_id,
        "created_at": now,
        "updated_at": now,
        "created_by_id": actor.user_id,
        "erased_at": None,
    }


def store_completions(
    session: Session,
    *,
    actor: Actor,
    new_learners: dict[uuid.UUID, NewLearner],
    learner_ids: dict[uuid.UUID, uuid.UUID],
    records: Records,
) -> tuple[list[Outcome], Records]:
    """Store the first result of each learner and course for learners this path stored;
    returns the outcomes and the records left for the per-record path (in the order they
    came).

    Nobody else can see those learners before the batch commits, so no other writer can
    touch their results meanwhile and their rows need no lock for the results' sake.
    """
    dialect = session.get_bind().dialect.name
    outcomes: list[Outcome] = []
    later: Records = []
    accepted: list[tuple[int, dict[str, Any], SyncCompletion, uuid.UUID]] = []
    for index, raw in records:
        try:
            record = SyncCompletion.model_validate(raw)
        except ValidationError as exc:
            problem = problems.from_validation(exc)
            outcomes.append(
                Outcome("completion", index, client_id_of(raw), "rejected", None, problem)
            )
            continue
        learner_id = record.learner_id
        if learner_id is None and record.learner_client_id is not None:
            learner_id = learner_ids.get(record.learner_client_id)
        if learner_id not in new_learners or record.class_id is not None:
            later.append((index, raw))
            continue
        assert learner_id is not None
        accepted.append((index, raw, record, learner_id))
    if not accepted:
        return outcomes, later
    known_clients = set(
        session.exec(
            select(Completion.client_id).where(
                _among(
                    col(Completion.client_id),
                    {a[2].client_id for a in accepted},
                    dialect,
                    _COMPLETIONS.c.client_id.type,
                )
            )
        ).all()
    )
    courses = {
        code: training.course_rule(session, code)
        for code in sorted({a[2].course_code for a in accepted})
    }
    now = utcnow()
    pairs: dict[
        tuple[uuid.UUID, str], tuple[int, dict[str, Any], completions.StoredCompletion]
    ] = {}
    taken_clients: set[uuid.UUID] = set()
    for index, raw, record, learner_id in accepted:
        pair = (learner_id, record.course_code)
        if pair in pairs or record.client_id in known_clients or record.client_id in taken_clients:
            # A later result for the same course merges into the first; a client_id seen
            # before answers what it stored.
            later.append((index, raw))
            continue
        data = CompletionCreate.model_validate(
            record.model_dump(exclude={"learner_client_id"}) | {"learner_id": learner_id}
        )
        try:
            completion = training.candidate(
                actor, new_learners[learner_id].place, courses[record.course_code], data, now
            )
        except DomainError as exc:
            outcomes.append(rejected(session, actor, "completion", index, record.client_id, exc))
            continue
        pairs[pair] = (index, raw, completion)
        taken_clients.add(record.client_id)
    if not pairs:
        return outcomes, later
    values = [
        {key: getattr(completion, key) for key in completions.STORED_COLUMNS}
        for _, _, completion in pairs.values()
    ]
    inserted = {
        row[0]
        for row in bulk.insert_rows(
            session,
            _COMPLETIONS,
            values,
            order_by=("learner_id", "course_code"),
            returning=("id",),
            skip_conflicts=True,
        )
    }
    events = []
    passed: dict[uuid.UUID, dict[str, float]] = {}
    for index, raw, completion in pairs.values():
        if completion.id not in inserted:
            later.append((index, raw))
            continue
        outcomes.append(
            Outcome("completion", index, completion.client_id, "created", completion.id)
        )
        events.append(completions.completion_event(actor, "completion.create", completion))
        if completion.passed:
            passed.setdefault(completion.learner_id, {})[completion.course_code] = completion.score
    audit.record_events(session, events)
    requirements = catalog.requirements(session) if passed else {}
    for learner_id in sorted(passed):
        if attained_from(passed[learner_id], requirements):
            # A program met: its certificate is issued as for a result recorded alone.
            rules.lock_learner(session, learner_id)
            issue_attained(
                session, learner_id=learner_id, actor_id=actor.audit_id, actor_role=actor.role
            )
    order = records_order(records)
    later.sort(key=lambda pair: order[pair[0]])
    return outcomes, later
