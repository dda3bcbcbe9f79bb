"""Phone sync: each record of an offline outbox is checked and answered on its own."""

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from app.accounts.actor import Actor
from app.audit import service as audit
from app.core.errors import Conflict, DomainError, Invalid, NotFound
from app.core.security import PersonalIds
from app.learners import service as learners
from app.learners.models import Learner
from app.ledger import totals
from app.sync import problems, sets
from app.sync.outcomes import Outcome, as_uuid, client_id_of, rejected
from app.sync.schemas import RecordStatus, SyncCompletion, SyncLearner, SyncRequest
from app.training import service as training
from app.training.schemas import CompletionCreate

# Asks VNeID to confirm a person before registration (raises a DomainError when it does not).
ConfirmIdentity = Callable[..., None]


def sync(
    session: Session,
    *,
    actor: Actor,
    personal_ids: PersonalIds,
    data: SyncRequest,
    confirm_identity: ConfirmIdentity | None = None,
) -> list[Outcome]:
    """Store a phone's outbox, learners first, each record in a savepoint of its own.

    A record is `created`; a `duplicate` (sent again, or the same person or course result
    already stored by another phone: `id` is the stored one); or `rejected` with its problem.
    One bad record never undoes the others, and scope is checked record by record. With
    `confirm_identity`, VNeID must confirm each new person first, as at the desk.
    """
    outcomes: list[Outcome] = []
    # The batch's learners by the phone's id: completions may point at them.
    learner_ids: dict[uuid.UUID, uuid.UUID] = {}
    # The running totals of the whole batch are stored at its end (see `held_back`).
    with totals.held_back(session):
        # Set-based first (see `sets`); what it cannot place, record by record, in lock order.
        placed, new_learners, rest = sets.store_learners(
            session,
            actor=actor,
            personal_ids=personal_ids,
            records=_in_lock_order(data.learners, _person_key),
            confirm_identity=confirm_identity,
        )
        outcomes += placed
        learner_ids.update((o.client_id, o.id) for o in placed if o.client_id and o.id)
        for index, raw in rest:
            outcome = _learner(session, actor, personal_ids, index, raw, confirm_identity)
            if outcome.client_id is not None and outcome.id is not None:
                learner_ids.setdefault(outcome.client_id, outcome.id)
            outcomes.append(outcome)
        placed, rest = sets.store_completions(
            session,
            actor=actor,
            new_learners=new_learners,
            learner_ids=learner_ids,
            records=_in_lock_order(data.completions, _result_key(learner_ids)),
        )
        outcomes += placed
        for index, raw in rest:
            outcomes.append(_completion(session, actor, learner_ids, index, raw))
    outcomes.sort(key=lambda o: (o.kind != "learner", o.index))
    counts = {"created": 0, "duplicate": 0, "rejected": 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="sync.batch",
        target_type="sync",
        province_code=actor.province_code,
        commune_code=actor.commune_code,
        detail=counts,
    )
    return outcomes


def _in_lock_order(
    records: list[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[str, ...]]
) -> list[tuple[int, dict[str, Any]]]:
    """The records with their indexes, in the order every batch stores them.

    Records that concern the same person take that person's locks (a unique key being
    inserted, the learner's row when a certificate is issued). Two phones that send the same
    people in different orders would each hold what the other waits for, and one would fail;
    stored in one order, one waits for the other instead. Records of one person keep the order
    they were sent in, and results are reported in that order too.
    """
    return sorted(enumerate(records), key=lambda pair: key(pair[1]))


def _person_key(raw: dict[str, Any]) -> tuple[str, ...]:
    return (str(raw.get("citizen_id", "")),)


def _result_key(
    learner_ids: dict[uuid.UUID, uuid.UUID],
) -> Callable[[dict[str, Any]], tuple[str, ...]]:
    def key(raw: dict[str, Any]) -> tuple[str, ...]:
        learner = as_uuid(raw.get("learner_id"))
        client_id = as_uuid(raw.get("learner_client_id"))
        if client_id is not None and client_id in learner_ids:
            learner = learner_ids[client_id]
        return (str(learner or ""), str(raw.get("course_code", "")))

    return key


def _learner(
    session: Session,
    actor: Actor,
    personal_ids: PersonalIds,
    index: int,
    raw: dict[str, Any],
    confirm_identity: ConfirmIdentity | None,
) -> Outcome:
    client_id = client_id_of(raw)
    try:
        record = SyncLearner.model_validate(sets.on_new_map(raw))
    except ValidationError as exc:
        return Outcome(
            "learner", index, client_id, "rejected", problem=problems.from_validation(exc)
        )
    except Invalid as exc:
        return Outcome("learner", index, client_id, "rejected", problem=problems.from_error(exc))
    try:
        if confirm_identity is not None and not _already_synced(session, record.client_id):
            confirm_identity(
                citizen_id=record.citizen_id,
                full_name=record.full_name,
                birth_date=record.birth_date,
            )
        with totals.held_back(session), session.begin_nested():
            learner, created = learners.register_learner(
                session, actor=actor, personal_ids=personal_ids, data=record
            )
    except Conflict as exc:
        existing = exc.extra.get("existing_id")
        if exc.detail_key == "learner.duplicate" and existing is not None:
            # The same person, registered by another phone or desk, visible to this caller.
            return Outcome("learner", index, client_id, "duplicate", uuid.UUID(str(existing)))
        return rejected(session, actor, "learner", index, client_id, exc)
    except DomainError as exc:
        return rejected(session, actor, "learner", index, client_id, exc)
    return Outcome("learner", index, client_id, "created" if created else "duplicate", learner.id)


def _completion(
    session: Session,
    actor: Actor,
    learner_ids: dict[uuid.UUID, uuid.UUID],
    index: int,
    raw: dict[str, Any],
) -> Outcome:
    client_id = client_id_of(raw)
    try:
        record = SyncCompletion.model_validate(raw)
    except ValidationError as exc:
        problem = problems.from_validation(exc)
        return Outcome("completion", index, client_id, "rejected", problem=problem)
    try:
        learner_id = record.learner_id or _learner_by_client_id(
            session, learner_ids, record.learner_client_id
        )
        data = CompletionCreate.model_validate(
            record.model_dump(exclude={"learner_client_id"}) | {"learner_id": learner_id}
        )
        with totals.held_back(session), session.begin_nested():
            recorded = training.record_completion(session, actor=actor, data=data)
    except DomainError as exc:
        return rejected(session, actor, "completion", index, client_id, exc)
    # A result merged into the learner's stored one for that course is a duplicate of it.
    status: RecordStatus = "created" if recorded.outcome == "created" else "duplicate"
    return Outcome("completion", index, client_id, status, recorded.completion.id)


def _already_synced(session: Session, client_id: uuid.UUID) -> bool:
    """A record sent again needs no second identity check (and none while VNeID is down)."""
    stored = session.exec(select(Learner.id).where(Learner.client_id == client_id)).first()
    return stored is not None


def _learner_by_client_id(
    session: Session, learner_ids: dict[uuid.UUID, uuid.UUID], client_id: uuid.UUID | None
) -> uuid.UUID:
    assert client_id is not None
    if client_id in learner_ids:
        return learner_ids[client_id]
    stored = session.exec(select(Learner.id).where(Learner.client_id == client_id)).first()
    if stored is None:
        raise NotFound("what.learner")
    return stored
