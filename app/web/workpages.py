"""What the staff work pages share: the unit a page's address names, its breadcrumb, forms.

Every work page lives under the unit it belongs to (`/communes/{code}/…`,
`/provinces/{code}/…`); the unit is loaded and checked against the signed-in user's scope
exactly as the API checks it, so another scope's address answers not-found.
"""

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session
from starlette.requests import Request

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.core.errors import NotFound
from app.units import service as units
from app.units.models import Commune, Province
from app.web.i18n import page_language, register_messages
from app.web.i18n import translate as page_translate

MESSAGES = {
    "work.nation": ("Toàn quốc", "Nation"),
}
register_messages(MESSAGES)


def commune_in_scope(session: Session, actor: Actor, code: str) -> Commune:
    """The commune of a page's address, if the user's scope covers it; else not-found."""
    commune = units.get_commune(session, code)
    actor.require_in_scope(
        commune.province_code, commune.code, what="what.commune", action="page.read", target=code
    )
    return commune


def province_in_scope(session: Session, actor: Actor, code: str) -> Province:
    """The province of a page's address, if the user's scope covers all of it; else not-found."""
    province = units.get_province(session, code)
    whole = actor.role is Role.national_admin or (
        actor.role is Role.province_admin and actor.province_code == province.code
    )
    if not whole:
        raise NotFound("what.province", audit_action="page.read", audit_target=code)
    return province


def blank_to_none(form: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The named fields of a submitted form, with empty ones left out (as the API's JSON
    would leave them out)."""
    values: dict[str, Any] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, ""):
            values[name] = value
    return values


class Unit:
    """The unit a page's address names: the nation, a province or a commune."""

    def __init__(
        self, level: str, *, province: Province | None = None, commune: Commune | None = None
    ) -> None:
        self.level = level
        self.province = province
        self.commune = commune

    @property
    def path(self) -> str:
        if self.commune is not None:
            return f"/communes/{self.commune.code}"
        if self.province is not None:
            return f"/provinces/{self.province.code}"
        return "/national"

    @property
    def name(self) -> str:
        unit = self.commune or self.province
        return unit.name if unit is not None else ""

    def holds(self, province_code: str | None, commune_code: str | None) -> bool:
        """Whether something of that province and commune belongs to this unit."""
        if self.commune is not None:
            return commune_code == self.commune.code
        if self.province is not None:
            return province_code == self.province.code
        return True


def unit_in_scope(session: Session, actor: Actor, level: str, code: str | None) -> Unit:
    """The unit of a page's address (`national` has no code), inside the user's scope."""
    if level == "commune" and code is not None:
        return Unit("commune", commune=commune_in_scope(session, actor, code))
    if level == "province" and code is not None:
        return Unit("province", province=province_in_scope(session, actor, code))
    if actor.role is not Role.national_admin:
        raise NotFound("what.resource", audit_action="page.read", audit_target="national")
    return Unit("national")


def crumbs(
    request: Request,
    session: Session,
    actor: Actor,
    commune: Commune | None = None,
    *,
    province: Province | None = None,
) -> list[tuple[str, str]]:
    """The way back up from a unit's page, as far as the user's scope reaches."""
    items: list[tuple[str, str]] = []
    if actor.role is Role.national_admin:
        items.append((page_translate("work.nation", page_language(request)), "/national"))
    if commune is not None and province is None:
        province = units.get_province(session, commune.province_code)
    if province is not None and actor.role in (Role.national_admin, Role.province_admin):
        items.append((province.name, f"/provinces/{province.code}"))
    if commune is not None:
        items.append((commune.name, f"/communes/{commune.code}"))
    return items
