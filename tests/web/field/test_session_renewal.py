"""The field app's token renewed from the pages' session while the app is open."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, Request, Route, expect
from sqlmodel import col, select

from app.accounts.models import Role
from app.core.clock import vietnam_today
from app.learners.models import Learner
from tests.factories import HN_HOAN_KIEM, PASSWORD, citizen_id_for
from tests.web.conftest import LiveServer, sign_in
from tests.web.field.conftest import change_kept_session, outbox
from tests.web.field.test_field_app import _arrange, _register

pytestmark = pytest.mark.browser

NAM = {
    "full_name": "Phạm Văn Nam",
    "citizen_id": citizen_id_for(date(1985, 4, 12), "male", serial=801),
    "birth_date": "12/04/1985",
    "sex": "male",
}
# The service's answer to a token it no longer accepts.
REFUSED_TOKEN = {"type": "about:blank", "title": "Chưa đăng nhập", "status": 401}


def _token_requests(page: Page) -> list[Request]:
    """The app's requests for a token from the pages' session, from now on."""
    taken: list[Request] = []
    page.context.on(
        "request",
        lambda request: (
            taken.append(request)
            if request.method == "POST" and request.url.endswith("/field/session")
            else None
        ),
    )
    return taken


def _open_from_the_pages(page: Page) -> list[Request]:
    """Opens the app through the pages' session; the token requests made after are listed."""
    sign_in(page, "hk_member")
    page.goto("/field/")
    expect(page.locator("#who")).to_contain_text("Cán bộ hk_member")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    return _token_requests(page)


def _sign_in_on_the_pages(page: Page, username: str) -> None:
    """Someone signs in on the pages in the same browser, without the app seeing it."""
    form = page.request.get("/sign-in").text()
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
    assert csrf
    signed_in = page.request.post(
        "/sign-in",
        form={"username": username, "password": PASSWORD, "csrf_token": csrf.group(1)},
        max_redirects=0,
    )
    assert signed_in.status == 303, signed_in.text()


def _token_runs_out(page: Page) -> None:
    """The token kept on the phone reaches its time."""
    change_kept_session(page, expires_at=0)


def _refuse_first_sync(page: Page) -> list[str]:
    """The service answers the first batch 401; the batches' keys are listed."""
    keys: list[str] = []

    def refuse_once(route: Route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fulfill(status=401, content_type="application/problem+json", json=REFUSED_TOKEN)
        else:
            route.fallback()

    page.context.route("**/api/v1/sync", refuse_once)
    return keys


def _type_an_earlier_day(page: Page) -> str:
    """The volunteer has typed a day in the results form (the app opens it on today)."""
    earlier = (vietnam_today() - timedelta(days=3)).strftime("%d/%m/%Y")
    page.click("[data-tab=results]")
    page.fill("#completed_at", earlier)
    return earlier


def _stored(live_server: LiveServer) -> int:
    with live_server.session() as db:
        learners = db.exec(select(Learner).where(col(Learner.full_name) == NAM["full_name"])).all()
    return len(learners)


def test_a_token_refused_while_the_app_is_open_is_renewed_from_the_pages_session(
    live_server: LiveServer, page: Page
) -> None:
    _arrange(live_server)
    taken = _open_from_the_pages(page)
    keys = _refuse_first_sync(page)
    earlier = _type_an_earlier_day(page)

    _register(page, **NAM)
    expect(page.locator("li.record[data-state=sent]")).to_have_count(1)
    expect(page.locator("#count")).to_have_text("0")
    # No password asked: a new token came from the pages' session, and the same batch went
    # again under its key.
    expect(page.locator("#signin-form")).to_be_hidden()
    assert len(taken) == 1
    assert len(keys) == 2 and keys[0] == keys[1]
    # The app was not reopened: what the volunteer typed is still there.
    page.click("[data-tab=results]")
    expect(page.locator("#completed_at")).to_have_value(earlier)
    assert _stored(live_server) == 1


def test_a_token_run_out_offline_is_renewed_from_the_pages_session_once_online(
    live_server: LiveServer, page: Page
) -> None:
    _arrange(live_server)
    _open_from_the_pages(page)
    page.context.set_offline(True)
    # The kept token's time ran out while the phone had no network.
    _token_runs_out(page)
    page.reload()
    expect(page.locator("#learner-form")).to_be_visible()
    _register(page, **NAM)
    expect(page.locator("#learner-saved")).to_have_text("Đã lưu trên máy.")
    earlier = _type_an_earlier_day(page)
    taken = _token_requests(page)

    page.context.set_offline(False)
    expect(page.locator("li.record[data-state=sent]")).to_have_count(1)
    expect(page.locator("#signin-form")).to_be_hidden()
    assert len(taken) == 1
    page.click("[data-tab=results]")
    expect(page.locator("#completed_at")).to_have_value(earlier)
    assert _stored(live_server) == 1


def test_without_the_pages_session_the_password_is_asked_and_nothing_is_lost(
    live_server: LiveServer, page: Page
) -> None:
    _arrange(live_server)
    taken = _open_from_the_pages(page)
    # The browser's session on the pages is gone (it ran out, or its cookies were cleared).
    page.context.clear_cookies()
    _refuse_first_sync(page)

    _register(page, **NAM)
    expect(page.locator("#signin-why")).to_be_visible()
    expect(page.locator("#username")).to_have_value("hk_member")
    assert taken, "the pages' session was not tried"
    [waiting] = outbox(page)
    assert waiting["body"]["citizen_id"] == NAM["citizen_id"]
    assert waiting["state"] in ("saved", "sending")
    assert _stored(live_server) == 0

    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.click("[data-tab=outbox]")
    expect(page.locator("li.record[data-state=sent]")).to_have_count(1)
    assert _stored(live_server) == 1


def test_another_user_signed_in_on_the_pages_does_not_take_over_the_phones_records(
    live_server: LiveServer, page: Page
) -> None:
    _arrange(live_server)
    live_server.create_staff("hk_other", Role.team_member, commune_code=HN_HOAN_KIEM)
    taken = _open_from_the_pages(page)
    _sign_in_on_the_pages(page, "hk_other")
    _refuse_first_sync(page)

    _register(page, **NAM)
    expect(page.locator("#signin-why")).to_be_visible()
    expect(page.locator("#username")).to_have_value("hk_member")
    assert taken, "the pages' session was not tried"
    [waiting] = outbox(page)
    assert waiting["body"]["citizen_id"] == NAM["citizen_id"]
    assert _stored(live_server) == 0


def test_a_phone_passed_to_a_user_of_another_commune_shows_nothing_of_the_last_one(
    live_server: LiveServer, page: Page
) -> None:
    _arrange(live_server)
    _open_from_the_pages(page)
    _register(page, **NAM)
    expect(page.locator("li.record[data-state=sent]")).to_have_count(1)
    # Nothing is left unsent, so the phone may pass on: a team member of Cửa Nam signs in on
    # the pages, and the app opens after the first one's token ran out.
    _sign_in_on_the_pages(page, "cn_member")
    _token_runs_out(page)
    page.reload()

    expect(page.locator("#who")).to_contain_text("Cán bộ cn_member")
    page.click("[data-tab=outbox]")
    expect(page.locator("#records li")).to_have_count(0)
    assert outbox(page) == []
    # "an" is in Cửa Nam's Vũ Minh Tuấn and in Hoàn Kiếm's Phạm Văn Nam: only he is found.
    page.click("[data-tab=results]")
    page.fill("#search", "an")
    expect(page.locator("#matches button")).to_have_count(1)
    expect(page.locator("#matches button")).to_contain_text("Vũ Minh Tuấn")
    assert _stored(live_server) == 1


def test_a_day_typed_while_the_token_is_renewed_at_start_is_kept(
    live_server: LiveServer, page: Page
) -> None:
    _arrange(live_server)
    _open_from_the_pages(page)
    _token_runs_out(page)
    # The app opens at once from what the phone kept; the renewal's look-ups are held until the
    # volunteer has typed a day.
    held: list[Route] = []
    page.route(f"**/api/v1/communes/{HN_HOAN_KIEM}", lambda route: held.append(route))
    page.reload()
    expect(page.locator("#learner-form")).to_be_visible()
    page.wait_for_function("() => performance.getEntriesByName('field-ready').length === 1")
    earlier = _type_an_earlier_day(page)
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)  # lets Playwright deliver the held request
    assert held, "the app did not look its commune up again"
    held[0].continue_()

    # Renewed, the app opens again over the same form.
    page.wait_for_function("() => performance.getEntriesByName('field-ready').length === 2")
    expect(page.locator("#signin-form")).to_be_hidden()
    expect(page.locator("#completed_at")).to_have_value(earlier)
