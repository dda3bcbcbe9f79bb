"""The staff work pages (learners, imports, certificates, staff, planning) and their links."""

from fastapi import APIRouter

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.web import certificates, imports, learners, planning, staff
from app.web.i18n import register_messages
from app.web.templating import register_nav

router = APIRouter()
for _module in (learners, imports, certificates, staff, planning):
    router.include_router(_module.router)

MESSAGES = {
    "nav.learners": ("Người học", "Learners"),
    "nav.villages": ("Thôn, tổ", "Villages"),
    "nav.teams": ("Tổ công nghệ số", "Teams"),
    "nav.imports": ("Nhập tệp", "Imports"),
    "nav.baselines": ("Mẫu số", "Baselines"),
    "nav.users": ("Tài khoản", "Accounts"),
    "nav.targets": ("Mục tiêu", "Targets"),
}
register_messages(MESSAGES)


def _commune_page(area: str, *, admins_only: bool = False):  # type: ignore[no-untyped-def]
    def url_for(actor: Actor) -> str | None:
        if actor.commune_code is None or (admins_only and actor.role is Role.team_member):
            return None
        return f"/communes/{actor.commune_code}/{area}"

    return url_for


def _unit_page(area: str):  # type: ignore[no-untyped-def]
    def url_for(actor: Actor) -> str | None:
        if actor.role is Role.national_admin:
            return f"/national/{area}"
        if actor.role is Role.province_admin:
            return f"/provinces/{actor.province_code}/{area}"
        if area == "users" and actor.role is Role.commune_admin:
            return f"/communes/{actor.commune_code}/users"
        return None

    return url_for


def _imports_page(actor: Actor) -> str | None:
    if actor.role is Role.province_admin:
        return f"/provinces/{actor.province_code}/imports"
    return _commune_page("imports")(actor)  # type: ignore[no-any-return]


def _baselines_page(actor: Actor) -> str | None:
    if actor.role is Role.province_admin:
        return f"/provinces/{actor.province_code}/baselines"
    if actor.role is Role.commune_admin:
        return f"/communes/{actor.commune_code}/baselines"
    return None


register_nav("nav.learners", _commune_page("learners"), 20)
register_nav("nav.villages", _commune_page("villages"), 30)
register_nav("nav.teams", _commune_page("teams"), 40)
register_nav("nav.imports", _imports_page, 50)
register_nav("nav.baselines", _baselines_page, 60)
register_nav("nav.users", _unit_page("users"), 70)
register_nav("nav.targets", _unit_page("targets"), 80)
