"""Learners: registration once per person nationwide, scoped reads, changes and erasure."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.certificates.issuance import forget_holder
from app.core import citizen_id as rules
from app.core.clock import vietnam_today
from app.core.db import read_columns, utcnow
from app.core.direct import Query, Rows
from app.core.errors import Conflict, Invalid, NotFound, field_error, invalid_field
from app.core.pagination import paginate
from app.core.search import name_matches
from app.core.security import PersonalIds, mask_citizen_id
from app.core.text import fold, normalize_name
from app.learners.models import Group, Learner
from app.learners.schemas import ConsentPublic, LearnerCreate, LearnerPublic, LearnerUpdate
from app.ledger import totals
from app.units import legacy
from app.units.models import Commune, Village

OLDEST_BIRTH_YEAR = 1900


def to_public(learner: Learner) -> LearnerPublic:
    """The learner as staff may see it: the ID number masked."""
    return LearnerPublic.model_validate(
        {
            "id": learner.id,
            "citizen_id_masked": mask_citizen_id(learner.citizen_id_last4),
            "full_name": learner.full_name,
            "birth_date": learner.birth_date,
            "sex": learner.sex,
            "commune_code": learner.commune_code,
            "province_code": learner.province_code,
            "village_id": learner.village_id,
            "groups": learner.groups,
            "official_level": learner.official_level,
            "agency": learner.agency,
            "phone": learner.phone,
            "consent": ConsentPublic(
                purpose=learner.consent_purpose, given_at=learner.consent_given_at
            ),
            "created_at": learner.created_at,
            "updated_at": learner.updated_at,
        }
    )


def person_problems(
    citizen_id: str, *, birth_date: date, sex: str, today: date
) -> list[dict[str, Any]]:
    """Field errors for an ID number that disagrees with the birth date and sex."""
    errors = []
    if birth_date > today:
        errors.append(field_error("birth_date", "birth_date.future"))
    elif birth_date.year < OLDEST_BIRTH_YEAR:
        errors.append(field_error("birth_date", "birth_date.too_old"))
    for key in rules.mismatches(citizen_id, birth_date=birth_date, sex=sex):
        errors.append(field_error("citizen_id", key))
    return errors


def group_problems(
    groups: Sequence[Group], official_level: str | None, agency: str | None
) -> list[dict[str, Any]]:
    if Group.official in groups:
        missing = [f for f, v in (("official_level", official_level), ("agency", agency)) if not v]
        return [field_error(f, "official.level_required") for f in missing]
    extra = [f for f, v in (("official_level", official_level), ("agency", agency)) if v]
    return [field_error(f, "official.only") for f in extra]


def _check_village(session: Session, village_id: int | None, commune_code: str) -> None:
    if village_id is None:
        return
    village = session.get(Village, village_id)
    if village is None or village.commune_code != commune_code:
        raise invalid_field("village_id", "village.other_commune")


def find_by_citizen_id(
    session: Session, *, personal_ids: PersonalIds, citizen_id: str
) -> Learner | None:
    """The registered person with this ID number, wherever they are."""
    digest = personal_ids.blind_index(citizen_id)
    return session.exec(select(Learner).where(Learner.citizen_id_hash == digest)).first()


def _duplicate(actor: Actor, existing: Learner) -> Conflict:
    # Name the existing record only to someone who may see it.
    extra = (
        {"existing_id": str(existing.id)}
        if actor.covers(existing.province_code, existing.commune_code)
        else {}
    )
    return Conflict("learner.duplicate", extra=extra)


def register_learner(
    session: Session, *, actor: Actor, personal_ids: PersonalIds, data: LearnerCreate
) -> tuple[Learner, bool]:
    """Register a person once nationwide; a second registration answers 409.

    A retry carrying the same `client_id` for the same person answers the stored learner
    (and False: nothing was created).
    """
    if data.client_id is not None:
        replayed = _replay(session, actor=actor, personal_ids=personal_ids, data=data)
        if replayed is not None:
            return replayed, False
    commune = session.get(Commune, data.commune_code)
    if commune is None:
        raise legacy.unknown_commune("commune_code", data.commune_code)
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="learner.create"
    )
    errors = person_problems(
        data.citizen_id, birth_date=data.birth_date, sex=data.sex.value, today=vietnam_today()
    )
    errors += group_problems(data.groups, data.official_level, data.agency)
    if errors:
        raise Invalid("validation.detail", errors=errors)
    _check_village(session, data.village_id, commune.code)
    existing = find_by_citizen_id(session, personal_ids=personal_ids, citizen_id=data.citizen_id)
    if existing is not None:
        raise _duplicate(actor, existing)
    now = utcnow()
    full_name = normalize_name(data.full_name)
    learner = Learner(
        citizen_id_hash=personal_ids.blind_index(data.citizen_id),
        citizen_id_enc=personal_ids.encrypt(data.citizen_id),
        citizen_id_last4=data.citizen_id[-4:],
        full_name=full_name,
        name_folded=fold(full_name),
        birth_date=data.birth_date,
        sex=data.sex.value,
        province_code=commune.province_code,
        commune_code=commune.code,
        village_id=data.village_id,
        official_level=data.official_level.value if data.official_level else None,
        agency=data.agency,
        phone=data.phone,
        consent_purpose=data.consent.purpose,
        consent_given_at=data.consent.given_at,
        client_id=data.client_id,
        created_at=now,
        updated_at=now,
        created_by_id=actor.user_id,
    )
    for group in Group:
        setattr(learner, f"is_{group.value}", group in data.groups)
    with totals.tracking(session, None) as counted:
        _flush_unique(
            session, learner, actor=actor, personal_ids=personal_ids, citizen_id=data.citizen_id
        )
        counted.append(learner)
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="learner.create",
        target_type="learner",
        target_id=learner.id,
        province_code=learner.province_code,
        commune_code=learner.commune_code,
    )
    return learner, True


def _replay(
    session: Session, *, actor: Actor, personal_ids: PersonalIds, data: LearnerCreate
) -> Learner | None:
    prior = session.exec(select(Learner).where(Learner.client_id == data.client_id)).first()
    if prior is None:
        return None
    same_person = prior.citizen_id_hash == personal_ids.blind_index(data.citizen_id)
    if same_person and actor.covers(prior.province_code, prior.commune_code):
        return prior
    raise Conflict("learner.client_reused")


def _flush_unique(
    session: Session, learner: Learner, *, actor: Actor, personal_ids: PersonalIds, citizen_id: str
) -> None:
    """Flush, turning a registration that raced another one into a 409."""
    try:
        with session.begin_nested():
            session.add(learner)
            session.flush()
    except IntegrityError:
        existing = find_by_citizen_id(session, personal_ids=personal_ids, citizen_id=citizen_id)
        if existing is None:
            raise
        raise _duplicate(actor, existing) from None


class LearnerPlace(NamedTuple):
    """Where a learner is counted: all that recording a result needs of them."""

    id: uuid.UUID
    province_code: str
    commune_code: str
    birth_date: date | None = None


# The erased mark comes fourth and the birth date fifth; readers may add columns after them.
PLACE = sa.select(
    col(Learner.id),
    col(Learner.province_code),
    col(Learner.commune_code),
    col(Learner.erased_at),
    col(Learner.birth_date),
).where(col(Learner.id) == sa.bindparam("learner_id"))


def place_in_scope(
    session: Session, *, actor: Actor, learner_id: uuid.UUID, action: str
) -> LearnerPlace:
    """`get_in_scope`, reading only the learner's place (no object for the ORM to load)."""
    rows = read_columns(session, *place_read(learner_id))
    return place_from(rows, actor=actor, learner_id=learner_id, action=action)


def place_read(learner_id: uuid.UUID) -> Query:
    return PLACE, {"learner_id": learner_id}


def place_from(rows: Rows, *, actor: Actor, learner_id: uuid.UUID, action: str) -> LearnerPlace:
    """The place `place_read` found, if the learner is not erased and lies in the caller's
    scope; else 404."""
    found = rows[0] if rows and rows[0][3] is None else None
    place = LearnerPlace(found[0], found[1], found[2], found[4]) if found is not None else None
    _require_visible(actor, place, learner_id=learner_id, action=action)
    assert place is not None
    return place


def get_in_scope(session: Session, *, actor: Actor, learner_id: uuid.UUID, action: str) -> Learner:
    """The learner if it exists, is not erased, and lies in the caller's scope; else 404."""
    learner = session.get(Learner, learner_id)
    if learner is not None and learner.erased_at is not None:
        learner = None
    _require_visible(actor, learner, learner_id=learner_id, action=action)
    assert learner is not None
    return learner


def _require_visible(
    actor: Actor, found: Learner | LearnerPlace | None, *, learner_id: uuid.UUID, action: str
) -> None:
    if found is None:
        raise NotFound("what.learner")
    actor.require_in_scope(
        found.province_code,
        found.commune_code,
        what="what.learner",
        action=action,
        target=learner_id,
    )


def record_read(session: Session, *, actor: Actor, learner: Learner) -> None:
    """Every read of one person's record leaves an audit event."""
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="learner.read",
        target_type="learner",
        target_id=learner.id,
        province_code=learner.province_code,
        commune_code=learner.commune_code,
    )


def list_learners(
    session: Session,
    *,
    actor: Actor,
    query: str | None,
    commune_code: str | None,
    village_id: int | None,
    group: Group | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Learner], str | None]:
    """Learners in the caller's scope, filtered; names match without diacritics."""
    statement = select(Learner).where(
        col(Learner.erased_at).is_(None),
        actor.scope_clause(Learner.province_code, Learner.commune_code),
    )
    if commune_code is not None:
        statement = statement.where(Learner.commune_code == commune_code)
    if village_id is not None:
        # The village's commune too: its learners are then found through the commune's index.
        village_commune = select(Village.commune_code).where(Village.id == village_id)
        statement = statement.where(
            Learner.village_id == village_id,
            Learner.commune_code == village_commune.scalar_subquery(),
        )
    if group is not None:
        statement = statement.where(getattr(Learner, f"is_{group.value}").is_(True))
    statement = statement.where(*name_matches(col(Learner.name_folded), query))
    return paginate(
        session,
        statement,
        key_column=col(Learner.id),
        key_of=lambda learner: learner.id,
        cursor=cursor,
        limit=limit,
        parse_key=uuid.UUID,
    )


def update_learner(
    session: Session,
    *,
    actor: Actor,
    personal_ids: PersonalIds,
    learner: Learner,
    data: LearnerUpdate,
) -> Learner:
    """Change a learner's details, re-checking the ID number against birth date and sex."""
    changes = data.model_dump(exclude_unset=True)
    stored_id = personal_ids.decrypt(learner.citizen_id_enc) if learner.citizen_id_enc else None
    citizen_id = changes.get("citizen_id", stored_id)
    birth_date = changes.get("birth_date", learner.birth_date)
    sex = changes.get("sex", learner.sex)
    groups = data.groups if data.groups is not None else learner.groups
    official_level = changes.get("official_level", learner.official_level)
    agency = changes.get("agency", learner.agency)
    if Group.official not in groups and "groups" in changes:
        # Leaving the officials' group drops their level and agency unless re-sent.
        official_level = changes.get("official_level")
        agency = changes.get("agency")
    errors = []
    if citizen_id is not None:
        errors += person_problems(
            citizen_id, birth_date=birth_date, sex=str(sex), today=vietnam_today()
        )
    errors += group_problems(groups, official_level, agency)
    if errors:
        raise Invalid("validation.detail", errors=errors)
    if "village_id" in changes:
        _check_village(session, data.village_id, learner.commune_code)
    # Totals follow what the change does to birth date, groups, level and village.
    with totals.tracking(session, learner):
        if data.citizen_id is not None and data.citizen_id != stored_id:
            other = find_by_citizen_id(
                session, personal_ids=personal_ids, citizen_id=data.citizen_id
            )
            if other is not None and other.id != learner.id:
                raise _duplicate(actor, other)
            learner.citizen_id_hash = personal_ids.blind_index(data.citizen_id)
            learner.citizen_id_enc = personal_ids.encrypt(data.citizen_id)
            learner.citizen_id_last4 = data.citizen_id[-4:]
        if data.full_name is not None:
            learner.full_name = normalize_name(data.full_name)
            learner.name_folded = fold(learner.full_name)
        if data.birth_date is not None:
            learner.birth_date = data.birth_date
        if data.sex is not None:
            learner.sex = data.sex.value
        if "village_id" in changes:
            learner.village_id = data.village_id
        if "phone" in changes:
            learner.phone = data.phone
        if data.consent is not None:
            learner.consent_purpose = data.consent.purpose
            learner.consent_given_at = data.consent.given_at
        for g in Group:
            setattr(learner, f"is_{g.value}", g in groups)
        learner.official_level = str(official_level) if official_level else None
        learner.agency = agency
        learner.updated_at = utcnow()
        _flush_unique(
            session, learner, actor=actor, personal_ids=personal_ids, citizen_id=citizen_id or ""
        )
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="learner.update",
        target_type="learner",
        target_id=learner.id,
        province_code=learner.province_code,
        commune_code=learner.commune_code,
        detail={"fields": sorted(changes)},
    )
    return learner


def erase_learner(session: Session, *, actor: Actor, learner: Learner) -> None:
    """Erase a person's identifying data on their request.

    Name, ID number, phone and agency go; what only counts (birth date, sex, commune, village,
    groups) and the completions stay, so aggregate figures remain right.
    """
    actor.require(
        Role.national_admin, Role.province_admin, Role.commune_admin, action="learner.erase"
    )
    now = utcnow()
    learner.citizen_id_hash = None
    learner.citizen_id_enc = None
    learner.citizen_id_last4 = None
    learner.full_name = ""
    learner.name_folded = ""
    learner.phone = None
    learner.agency = None
    learner.client_id = None
    learner.erased_at = now
    learner.updated_at = now
    session.add(learner)
    session.flush()
    forget_holder(session, learner=learner)
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="learner.erase",
        target_type="learner",
        target_id=learner.id,
        province_code=learner.province_code,
        commune_code=learner.commune_code,
    )
