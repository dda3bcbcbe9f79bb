"""Administrative units: loading the official list, lookups, search, villages."""

from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.audit import service as audit
from app.core.errors import Conflict, Invalid, NotFound
from app.core.pagination import decode_cursor, encode_cursor, paginate
from app.core.search import name_matches
from app.core.text import fold, normalize_name
from app.units import legacy, official
from app.units.models import Commune, Province, Village
from app.units.schemas import VillageCreate


def load_official_units(session: Session) -> tuple[int, int]:
    """Insert or update the 34 provinces and 3,321 communes; running it again changes nothing.

    Records which list the units came from. A database loaded from another list is moved to
    this one by a migration (`official.recode_communes`), never here: upserting by code would
    file people under whichever commune now has their old number.
    """
    loaded = official.loaded_version(session.connection())
    installed = official.installed_version()
    if loaded is not None and loaded != installed:
        raise RuntimeError(f"the units were loaded from {loaded}; migrate before seeding")
    provinces = {p.code: p for p in session.exec(select(Province)).all()}
    for official_province in official.official_provinces():
        values = {
            "name": official_province.name,
            "division_type": official_province.division_type,
            "codename": official_province.codename,
            "name_folded": fold(official_province.name),
        }
        _upsert(
            session, provinces.get(official_province.code), Province, official_province.code, values
        )
    session.flush()
    communes = {c.code: c for c in session.exec(select(Commune)).all()}
    for ward in official.official_communes():
        values = {
            "province_code": ward.province_code,
            "name": ward.name,
            "division_type": ward.division_type,
            "codename": ward.codename,
            "name_folded": fold(ward.name),
        }
        _upsert(session, communes.get(ward.code), Commune, ward.code, values)
    session.flush()
    if loaded is None:
        official.record_version(session.connection(), installed)
    province_count = len(session.exec(select(Province.code)).all())
    commune_count = len(session.exec(select(Commune.code)).all())
    return province_count, commune_count


def _upsert(
    session: Session,
    existing: Province | Commune | None,
    model: type[Province] | type[Commune],
    code: str,
    values: dict[str, str],
) -> None:
    if existing is None:
        session.add(model(code=code, **values))
        return
    for name, value in values.items():
        if getattr(existing, name) != value:
            setattr(existing, name, value)


def list_provinces(
    session: Session, *, cursor: str | None, limit: int
) -> tuple[Sequence[Province], str | None]:
    """The provinces, by code."""
    return paginate(
        session,
        select(Province),
        key_column=col(Province.code),
        key_of=lambda p: p.code,
        cursor=cursor,
        limit=limit,
    )


def get_province(session: Session, code: str) -> Province:
    province = session.get(Province, code)
    if province is None:
        raise NotFound("what.province")
    return province


def get_commune(session: Session, code: str) -> Commune:
    commune = session.get(Commune, code)
    if commune is None:
        # A code of the old map only: say where to look it up.
        raise NotFound("what.commune", extra=legacy.pointer(code))
    return commune


def search_communes(
    session: Session,
    *,
    query: str | None,
    province_code: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Commune], str | None]:
    """Communes whose name contains the words of `query`, ignoring accents and case.

    With a query, the best matches come first: the name itself, then the words as a phrase,
    then every word whole, then the name starting with them; the rest by code.
    """
    statement = select(Commune)
    if province_code:
        statement = statement.where(Commune.province_code == province_code)
    words = fold(query or "").split()
    statement = statement.where(*name_matches(col(Commune.name_folded), query))
    if words:
        # At most the 3,321 communes match: ranking them here costs little.
        ranked = sorted(session.exec(statement).all(), key=lambda c: (_rank(c, words), c.code))
        return page_of(ranked, cursor=cursor, limit=limit)
    return paginate(
        session,
        statement,
        key_column=col(Commune.code),
        key_of=lambda c: c.code,
        cursor=cursor,
        limit=limit,
    )


def _rank(commune: Commune, words: list[str]) -> int:
    """0 for the best match of the query's words to the commune's name, up to 4."""
    name = commune.name_folded.split()
    # "Xã", "Phường", "Đặc khu" say what the unit is, not what it is called.
    kind = fold(commune.division_type).split()
    if name[: len(kind)] == kind:
        name = name[len(kind) :]
    phrase, bare = " ".join(words), " ".join(name)
    if bare == phrase:
        return 0
    if f" {phrase} " in f" {bare} ":
        return 1
    if all(word in name for word in words):
        return 2
    if bare.startswith(phrase):
        return 3
    return 4


def page_of[Item](
    ranked: Sequence[Item], *, cursor: str | None, limit: int
) -> tuple[Sequence[Item], str | None]:
    """One page of an ordered list; the cursor is the position of the next page."""
    start = 0
    if cursor is not None:
        try:
            start = int(decode_cursor(cursor))
        except ValueError as exc:
            raise Invalid("bad_cursor.detail") from exc
        if start < 0:
            raise Invalid("bad_cursor.detail")
    page = ranked[start : start + limit]
    more = start + limit < len(ranked)
    return page, encode_cursor(str(start + limit)) if more else None


def list_villages(session: Session, commune_code: str) -> Sequence[Village]:
    return session.exec(
        select(Village).where(Village.commune_code == commune_code).order_by(col(Village.id))
    ).all()


def create_village(
    session: Session, *, actor: Actor, commune: Commune, data: VillageCreate
) -> Village:
    """Add a village (thôn, bản, tổ dân phố) to a commune."""
    actor.require(
        Role.national_admin, Role.province_admin, Role.commune_admin, action="village.create"
    )
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="village.create"
    )
    name = normalize_name(data.name)
    folded = fold(name)
    clash = select(Village.id).where(
        Village.commune_code == commune.code, Village.name_folded == folded
    )
    if session.exec(clash).first() is not None:
        raise Conflict("village.duplicate")
    village = Village(
        province_code=commune.province_code,
        commune_code=commune.code,
        name=name,
        name_folded=folded,
        kind=data.kind,
        created_by_id=actor.user_id,
    )
    session.add(village)
    session.flush()
    audit.record(
        session,
        actor_id=actor.audit_id,
        actor_role=actor.role,
        action="village.create",
        target_type="village",
        target_id=village.id,
        province_code=village.province_code,
        commune_code=village.commune_code,
    )
    return village
