"""Staff pages of a unit: its accounts (create; for an admin, set a lower user's password,
deactivate or reactivate), a commune's teams and their members, and its villages."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts import service as accounts
from app.accounts.actor import Actor
from app.accounts.deps import get_user_in_scope
from app.accounts.models import ROLE_RANK, Role, Team, User
from app.accounts.schemas import PasswordSet, TeamCreate, UserCreate
from app.core.db import SessionDep
from app.core.deps import PasswordsDep
from app.core.errors import Conflict, Invalid, NotFound
from app.units import service as units
from app.units.models import Commune
from app.units.schemas import VillageCreate
from app.web.forms import domain_errors, validation_errors
from app.web.i18n import page_language, register_messages, translate
from app.web.session import PageActor
from app.web.templating import render
from app.web.workpages import Unit, blank_to_none, commune_in_scope, crumbs, unit_in_scope

router = APIRouter()

CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$")]
ProvinceCode = Annotated[str, Path(pattern=r"^\d{2}$")]
LIST_LIMIT = 500
PAGE_SIZE = 100
VILLAGE_KINDS = ("thon", "ban", "to_dan_pho", "ap", "khu_pho", "other")

MESSAGES = {
    "staff.title": ("Tài khoản cán bộ", "Staff accounts"),
    "staff.new": ("Tạo tài khoản", "Create an account"),
    "staff.none": (
        "Chưa có tài khoản nào ở đây. Tạo tài khoản đầu tiên bằng biểu mẫu bên dưới.",
        "No account here yet. Create the first one with the form below.",
    ),
    "staff.username": ("Tên đăng nhập", "Username"),
    "staff.password": ("Mật khẩu (ít nhất 10 ký tự)", "Password (at least 10 characters)"),
    "staff.new_password": (
        "Mật khẩu mới (ít nhất 10 ký tự)",
        "New password (at least 10 characters)",
    ),
    "staff.full_name": ("Họ và tên", "Full name"),
    "staff.role": ("Vai trò", "Role"),
    "staff.province_code": ("Mã tỉnh/thành phố", "Province code"),
    "staff.commune_code": ("Mã xã/phường (5 chữ số)", "Commune code (5 digits)"),
    "staff.team_id": ("Tổ công nghệ số", "Team"),
    "staff.no_team": ("(không thuộc tổ)", "(no team)"),
    "staff.state": ("Trạng thái", "State"),
    "staff.active": ("Đang hoạt động", "Active"),
    "staff.inactive": ("Đã khóa", "Deactivated"),
    "staff.deactivate": ("Khóa tài khoản", "Deactivate"),
    "staff.activate": ("Mở lại", "Reactivate"),
    "staff.deactivate_confirm": (
        "Khóa tài khoản {username}? Mọi phiên đăng nhập của tài khoản sẽ kết thúc ngay.",
        "Deactivate {username}? All its sessions end at once.",
    ),
    "staff.set_password": ("Đặt lại mật khẩu", "Set a new password"),
    "staff.actions": ("Thao tác", "Actions"),
    "staff.created": ("Đã tạo tài khoản {username}.", "Account {username} was created."),
    "staff.deactivated": (
        "Đã khóa tài khoản {username}: mọi phiên đăng nhập của tài khoản này đã kết thúc.",
        "Account {username} was deactivated: all its sessions have ended.",
    ),
    "staff.activated": ("Đã mở lại tài khoản {username}.", "Account {username} was reactivated."),
    "staff.password_set": (
        "Đã đặt mật khẩu mới cho {username}: mọi phiên đăng nhập của tài khoản đã kết thúc.",
        "A new password was set for {username}: all its sessions have ended.",
    ),
    "teams.title": ("Tổ công nghệ số cộng đồng", "Community digital-technology teams"),
    "teams.name": ("Tên tổ", "Team name"),
    "teams.new": ("Tạo tổ", "Create a team"),
    "teams.members": ("Thành viên", "Members"),
    "teams.none": (
        "Xã chưa có tổ nào. Tạo tổ đầu tiên, rồi tạo tài khoản cho các thành viên.",
        "The commune has no team yet. Create the first one, then accounts for its members.",
    ),
    "teams.no_members": (
        "Tổ chưa có thành viên. Tạo tài khoản thành viên ở trang Tài khoản cán bộ.",
        "The team has no member yet. Create member accounts on the Staff accounts page.",
    ),
    "villages.title": ("Thôn, tổ dân phố", "Villages"),
    "villages.name": ("Tên thôn, tổ dân phố", "Village name"),
    "villages.kind": ("Loại", "Kind"),
    "villages.new": ("Thêm thôn, tổ dân phố", "Add a village"),
    "villages.none": (
        "Xã chưa có thôn, tổ dân phố nào. Thêm thôn đầu tiên bằng biểu mẫu bên dưới.",
        "The commune has no village yet. Add the first one with the form below.",
    ),
    "village.thon": ("Thôn", "Village (thôn)"),
    "village.ban": ("Bản", "Hamlet (bản)"),
    "village.to_dan_pho": ("Tổ dân phố", "Residential group"),
    "village.ap": ("Ấp", "Hamlet (ấp)"),
    "village.khu_pho": ("Khu phố", "Quarter"),
    "village.other": ("Khác", "Other"),
}
register_messages(MESSAGES)


def _unit_crumbs(request: Request, session: Session, actor: Actor, unit: Unit) -> Any:
    return crumbs(request, session, actor, unit.commune, province=unit.province)


def _unit(session: Session, actor: Actor, level: str, code: str | None) -> Unit:
    return unit_in_scope(session, actor, level, code)


# ---- staff accounts -------------------------------------------------------------------------


def _users_page(
    request: Request,
    session: Session,
    actor: Actor,
    unit: Unit,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    password_errors: dict[int, str] | None = None,
) -> Response:
    lang = page_language(request)
    cursor = request.query_params.get("cursor") or None
    users, next_cursor = accounts.list_users(
        session,
        actor=actor,
        cursor=cursor,
        limit=PAGE_SIZE,
        province_code=unit.province.code if unit.province else None,
        commune_code=unit.commune.code if unit.commune else None,
    )
    teams: list[Team] = []
    if unit.commune is not None:
        found, _ = accounts.list_teams(
            session, actor=actor, cursor=None, limit=LIST_LIMIT, commune_code=unit.commune.code
        )
        teams = list(found)
    lower_roles = [role for role in Role if ROLE_RANK[role] < actor.rank]
    if unit.commune is not None:
        lower_roles = [r for r in lower_roles if r in (Role.commune_admin, Role.team_member)]
    elif unit.province is not None:
        lower_roles = [r for r in lower_roles if r is not Role.national_admin]
    notice = request.query_params.get("done")
    notice_user = request.query_params.get("user", "")
    return render(
        request,
        "staff/users.html",
        {
            "unit": unit,
            "crumbs": _unit_crumbs(request, session, actor, unit),
            "users": users,
            "more_url": f"{unit.path}/users?cursor={next_cursor}" if next_cursor else None,
            "manageable": {
                u.id
                for u in users
                if ROLE_RANK[Role(u.role)] < actor.rank and u.id != actor.user_id
            },
            "role_options": [(r.value, translate(f"role.{r.value}", lang)) for r in lower_roles],
            "team_options": [(t.id, t.name) for t in teams],
            "team_names": {t.id: t.name for t in teams},
            "errors": errors or {},
            "values": values or {},
            "password_errors": password_errors or {},
            "notice": translate(f"staff.{notice}", lang, username=notice_user)
            if notice in ("created", "deactivated", "activated", "password_set")
            else None,
        },
        status_code=422 if errors or password_errors else 200,
    )


def _users_get(level: str):  # type: ignore[no-untyped-def]
    def page(
        request: Request, session: SessionDep, actor: PageActor, code: str | None = None
    ) -> Response:
        return _users_page(request, session, actor, _unit(session, actor, level, code))

    return page


router.add_api_route(
    "/communes/{code}/users", _users_get("commune"), methods=["GET"], response_class=HTMLResponse
)
router.add_api_route(
    "/provinces/{code}/users", _users_get("province"), methods=["GET"], response_class=HTMLResponse
)
router.add_api_route(
    "/national/users", _users_get("national"), methods=["GET"], response_class=HTMLResponse
)


def _create_user(level: str):  # type: ignore[no-untyped-def]
    async def create(
        request: Request,
        session: SessionDep,
        actor: PageActor,
        passwords: PasswordsDep,
        code: str | None = None,
    ) -> Response:
        form = await request.form()
        values = blank_to_none(
            form,
            "username",
            "password",
            "full_name",
            "role",
            "province_code",
            "commune_code",
            "team_id",
        )
        lang = page_language(request)

        def work() -> Response:
            unit = _unit(session, actor, level, code)
            body = dict(values)
            # The page's unit fixes the scope the form does not ask for.
            if unit.commune is not None:
                body["commune_code"] = unit.commune.code
            elif unit.province is not None and body.get("role") == Role.province_admin.value:
                body["province_code"] = unit.province.code
            try:
                data = UserCreate.model_validate(body)
                user = accounts.create_user(session, actor=actor, passwords=passwords, data=data)
            except ValidationError as exc:
                errors = validation_errors(exc, lang)
            except (Invalid, Conflict) as exc:
                session.rollback()
                errors = domain_errors(exc, lang)
            else:
                return RedirectResponse(f"{unit.path}/users?done=created&user={user.username}", 303)
            shown = {k: v for k, v in values.items() if k != "password"}
            return _users_page(request, session, actor, unit, errors=errors, values=shown)

        return await run_in_threadpool(work)

    return create


router.add_api_route(
    "/communes/{code}/users", _create_user("commune"), methods=["POST"], response_class=HTMLResponse
)
router.add_api_route(
    "/provinces/{code}/users",
    _create_user("province"),
    methods=["POST"],
    response_class=HTMLResponse,
)
router.add_api_route(
    "/national/users", _create_user("national"), methods=["POST"], response_class=HTMLResponse
)


def _user_of_unit(session: Session, actor: Actor, unit: Unit, user_id: int) -> User:
    """The account, loaded in the user's scope as the API does, and of this page's unit."""
    user = get_user_in_scope(user_id, session, actor)
    if not unit.holds(user.province_code, user.commune_code):
        raise NotFound("what.user")
    return user


def _set_active(level: str, active: bool):  # type: ignore[no-untyped-def]
    def change(
        session: SessionDep, actor: PageActor, user_id: int, code: str | None = None
    ) -> Response:
        unit = _unit(session, actor, level, code)
        user = _user_of_unit(session, actor, unit, user_id)
        accounts.set_active(session, actor=actor, user=user, active=active)
        done = "activated" if active else "deactivated"
        return RedirectResponse(f"{unit.path}/users?done={done}&user={user.username}", 303)

    return change


def _set_password(level: str):  # type: ignore[no-untyped-def]
    async def change(
        request: Request,
        session: SessionDep,
        actor: PageActor,
        passwords: PasswordsDep,
        user_id: int,
        code: str | None = None,
    ) -> Response:
        form = await request.form()
        password = str(form.get("password") or "")
        lang = page_language(request)

        def work() -> Response:
            unit = _unit(session, actor, level, code)
            user = _user_of_unit(session, actor, unit, user_id)
            try:
                data = PasswordSet.model_validate({"password": password})
            except ValidationError as exc:
                message = validation_errors(exc, lang).get("password", "")
                return _users_page(
                    request, session, actor, unit, password_errors={user_id: message}
                )
            accounts.set_password(
                session, actor=actor, passwords=passwords, user=user, password=data.password
            )
            return RedirectResponse(
                f"{unit.path}/users?done=password_set&user={user.username}", 303
            )

        return await run_in_threadpool(work)

    return change


for _level, _prefix in (
    ("commune", "/communes/{code}"),
    ("province", "/provinces/{code}"),
    ("national", "/national"),
):
    router.add_api_route(
        _prefix + "/users/{user_id}/deactivate",
        _set_active(_level, False),
        methods=["POST"],
        response_class=HTMLResponse,
    )
    router.add_api_route(
        _prefix + "/users/{user_id}/activate",
        _set_active(_level, True),
        methods=["POST"],
        response_class=HTMLResponse,
    )
    router.add_api_route(
        _prefix + "/users/{user_id}/password",
        _set_password(_level),
        methods=["POST"],
        response_class=HTMLResponse,
    )


# ---- teams ----------------------------------------------------------------------------------


def _teams_page(
    request: Request,
    session: Session,
    actor: Actor,
    commune: Commune,
    *,
    errors: dict[str, str] | None = None,
    name: str = "",
) -> Response:
    mine, _ = accounts.list_teams(
        session, actor=actor, cursor=None, limit=LIST_LIMIT, commune_code=commune.code
    )
    return render(
        request,
        "staff/teams.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            "teams": [(t, accounts.team_members(session, team=t)) for t in mine],
            "can_create": actor.role is not Role.team_member,
            "errors": errors or {},
            "name": name,
        },
        status_code=422 if errors else 200,
    )


@router.get("/communes/{code}/teams", response_class=HTMLResponse)
def teams_page(
    request: Request, code: CommuneCode, session: SessionDep, actor: PageActor
) -> Response:
    """A commune's teams with their members."""
    return _teams_page(request, session, actor, commune_in_scope(session, actor, code))


@router.post("/communes/{code}/teams", response_class=HTMLResponse)
async def create_team(
    request: Request, code: CommuneCode, session: SessionDep, actor: PageActor
) -> Response:
    """Create a team in the commune, by the API's rules."""
    form = await request.form()
    name = str(form.get("name") or "")
    lang = page_language(request)

    def work() -> Response:
        commune = commune_in_scope(session, actor, code)
        try:
            data = TeamCreate.model_validate({"name": name, "commune_code": commune.code})
            accounts.create_team(session, actor=actor, data=data)
        except ValidationError as exc:
            errors = validation_errors(exc, lang)
        except (Invalid, Conflict) as exc:
            session.rollback()
            errors = domain_errors(exc, lang)
            errors = {"name": errors.pop("__all__")} | errors if "__all__" in errors else errors
        else:
            return RedirectResponse(f"/communes/{commune.code}/teams", 303)
        return _teams_page(request, session, actor, commune, errors=errors, name=name)

    return await run_in_threadpool(work)


# ---- villages -------------------------------------------------------------------------------


def _villages_page(
    request: Request,
    session: Session,
    actor: Actor,
    commune: Commune,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    lang = page_language(request)
    return render(
        request,
        "staff/villages.html",
        {
            "commune": commune,
            "crumbs": crumbs(request, session, actor, commune),
            "villages": units.list_villages(session, commune.code),
            "kind_options": [(k, translate(f"village.{k}", lang)) for k in VILLAGE_KINDS],
            "can_create": actor.role is not Role.team_member,
            "errors": errors or {},
            "values": values or {"kind": "thon"},
        },
        status_code=422 if errors else 200,
    )


@router.get("/communes/{code}/villages", response_class=HTMLResponse)
def villages_page(
    request: Request, code: CommuneCode, session: SessionDep, actor: PageActor
) -> Response:
    """A commune's villages, and the form to add one."""
    return _villages_page(request, session, actor, commune_in_scope(session, actor, code))


@router.post("/communes/{code}/villages", response_class=HTMLResponse)
async def create_village(
    request: Request, code: CommuneCode, session: SessionDep, actor: PageActor
) -> Response:
    """Add a village to the commune, by the API's rules."""
    form = await request.form()
    values = blank_to_none(form, "name", "kind")
    lang = page_language(request)

    def work() -> Response:
        commune = commune_in_scope(session, actor, code)
        try:
            data = VillageCreate.model_validate(values)
            units.create_village(session, actor=actor, commune=commune, data=data)
        except ValidationError as exc:
            errors = validation_errors(exc, lang)
        except (Invalid, Conflict) as exc:
            session.rollback()
            errors = domain_errors(exc, lang)
            errors = {"name": errors.pop("__all__")} | errors if "__all__" in errors else errors
        else:
            return RedirectResponse(f"/communes/{commune.code}/villages", 303)
        return _villages_page(request, session, actor, commune, errors=errors, values=values)

    return await run_in_threadpool(work)
