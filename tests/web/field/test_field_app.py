"""The volunteers' field app in Chromium: offline registration, the outbox, sending."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect
from sqlmodel import col, func, select

from app.accounts.models import Role
from app.core.clock import VIETNAM, vietnam_today
from app.learners.models import Learner
from app.training.models import Completion
from tests.factories import HN_CUA_NAM, HN_HOAN_KIEM, PASSWORD, citizen_id_for, learner_payload
from tests.learners import rule_cases
from tests.web.conftest import LiveServer, axe, sign_in
from tests.web.field.conftest import Phone, change_kept_session, everything_kept, outbox

pytestmark = pytest.mark.browser

COURSE = "CB-VNEID"
# A person already registered by another commune's team.
ELSEWHERE_ID = citizen_id_for(date(1990, 5, 20), "male", serial=777)


def _arrange(live_server: LiveServer) -> dict[str, Any]:
    live_server.create_staff("hk_member", Role.team_member, commune_code=HN_HOAN_KIEM)
    live_server.create_staff("hk_admin", Role.commune_admin, commune_code=HN_HOAN_KIEM)
    live_server.create_staff("cn_member", Role.team_member, commune_code=HN_CUA_NAM)
    admin = live_server.api_headers("hk_admin")
    village = httpx.post(
        f"{live_server.url}/api/v1/communes/{HN_HOAN_KIEM}/villages",
        json={"name": "Tổ dân phố số 1", "kind": "to_dan_pho"},
        headers=admin,
    )
    assert village.status_code == 201, village.text
    own = httpx.post(
        f"{live_server.url}/api/v1/learners",
        json=learner_payload(HN_HOAN_KIEM, serial=500, full_name="Lê Thị Hoa", sex="female"),
        headers=live_server.api_headers("hk_member"),
    )
    assert own.status_code == 201, own.text
    elsewhere = httpx.post(
        f"{live_server.url}/api/v1/learners",
        json=learner_payload(HN_CUA_NAM, full_name="Vũ Minh Tuấn", birth_date=date(1990, 5, 20))
        | {"citizen_id": ELSEWHERE_ID},
        headers=live_server.api_headers("cn_member"),
    )
    assert elsewhere.status_code == 201, elsewhere.text
    return {"village": village.json()["name"], "hoa": own.json()["id"]}


def _sign_in(page: Page) -> None:
    page.fill("#username", "hk_member")
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#learner-form")).to_be_visible()
    # The shell is cached and the worker controls the page before the network goes.
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def _register(page: Page, **fields: str) -> None:
    page.click("[data-tab=register]")
    page.fill("#full_name", fields["full_name"])
    page.fill("#citizen_id", fields["citizen_id"])
    page.fill("#birth_date", fields["birth_date"])
    page.check(f"input[name=sex][value={fields['sex']}]")
    if "village" in fields:
        page.select_option("#village_id", label=fields["village"])
    page.check("#consent")
    page.click("#learner-form button[type=submit]")


def _record(page: Page, client_id: str) -> Any:
    return page.locator(f"li.record[data-client-id='{client_id}']")


def _by_name(page: Page, name: str) -> dict[str, Any]:
    [record] = [r for r in outbox(page) if r["kind"] == "learner" and r["label"] == name]
    return record


def test_offline_registrations_and_results_arrive_once_and_are_shown(
    live_server: LiveServer, phone: Phone
) -> None:
    arranged = _arrange(live_server)
    page = phone.open()
    axe(page)
    _sign_in(page)
    phone.context.set_offline(True)  # type: ignore[union-attr]
    expect(page.locator("#network")).to_contain_text("Không có mạng")

    _register(
        page,
        full_name="Phạm Văn Nam",
        citizen_id=citizen_id_for(date(1985, 4, 12), "male", serial=201),
        birth_date="12/04/1985",
        sex="male",
        village=arranged["village"],
    )
    expect(page.locator("#learner-saved")).to_have_text("Đã lưu trên máy.")
    # An ID number that does not match the birth year is refused on the phone, beside the
    # field, and what was typed stays.
    _register(
        page,
        full_name="Đỗ Thị Lan",
        citizen_id=citizen_id_for(date(1992, 1, 3), "female", serial=202),
        birth_date="03/01/1993",
        sex="female",
    )
    expect(page.locator("#err-citizen_id")).to_have_text(
        "Chữ số thứ 5–6 của số định danh không khớp với năm sinh."
    )
    expect(page.locator("#full_name")).to_have_value("Đỗ Thị Lan")
    assert len(outbox(page)) == 1
    page.fill("#birth_date", "03/01/1992")
    page.click("#learner-form button[type=submit]")
    expect(page.locator("#err-citizen_id")).to_be_empty()
    expect(page.locator("#learner-saved")).to_have_text("Đã lưu trên máy.")
    # Another commune's person: the phone cannot know, the service will say.
    _register(
        page, full_name="Vũ Minh Tuấn", citizen_id=ELSEWHERE_ID, birth_date="20/05/1990", sex="male"
    )
    expect(page.locator("#count")).to_have_text("3")

    # A class's attendance: a learner of the commune found without diacritics, and one
    # registered on the phone a moment ago.
    page.click("[data-tab=results]")
    page.fill("#search", "le thi hoa")
    page.click("#matches button >> nth=0")
    page.fill("#search", "pham van")
    page.click("#matches button >> nth=0")
    page.fill("#score-0", "80")
    page.fill("#score-1", "90,5")
    page.select_option("#course_code", COURSE)
    page.select_option("#method", "class")
    page.click("#completion-form button[type=submit]")
    expect(page.locator("#completion-saved")).to_have_text("Đã lưu trên máy.")
    expect(page.locator("#count")).to_have_text("5")

    # Reloaded with no network, and after a browser restart: the outbox is still there.
    page.reload()
    expect(page.locator("#learner-form")).to_be_visible()
    expect(page.locator("#count")).to_have_text("5")
    phone.close()
    page = phone.open(offline=True)
    expect(page.locator("#learner-form")).to_be_visible()
    expect(page.locator("#count")).to_have_text("5")
    page.click("[data-tab=outbox]")
    expect(page.locator("li.record[data-state=saved]")).to_have_count(5)
    axe(page)

    # The network comes back, the batch reaches the service, but its answer is lost.
    keys: list[str] = []

    def lose_first_answer(route: Route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.fallback()

    phone.context.route("**/api/v1/sync", lose_first_answer)  # type: ignore[union-attr]
    phone.context.set_offline(False)  # type: ignore[union-attr]
    expect(page.locator("#send-status")).to_contain_text("Gửi chưa được")
    expect(page.locator("li.record[data-state=sending]")).to_have_count(5)
    page.click("#send")
    expect(page.locator("#send-status")).to_have_text("Đã gửi xong.")
    assert len(keys) == 2 and keys[0] == keys[1]

    records = {r["label"]: r for r in outbox(page)}
    registered_ids = [
        citizen_id_for(date(1985, 4, 12), "male", serial=201),
        citizen_id_for(date(1992, 1, 3), "female", serial=202),
    ]
    assert {label: r["state"] for label, r in records.items()} == {
        "Phạm Văn Nam": "sent",
        "Đỗ Thị Lan": "sent",
        "Vũ Minh Tuấn": "rejected",
        f"Lê Thị Hoa — {COURSE}": "sent",
        f"Phạm Văn Nam — {COURSE}": "sent",
    }
    rejected = _record(page, records["Vũ Minh Tuấn"]["client_id"])
    expect(rejected).to_contain_text("Người này đã được đăng ký trong hệ thống.")
    for label in ("Phạm Văn Nam", "Đỗ Thị Lan"):
        expect(_record(page, records[label]["client_id"])).to_contain_text("Đã gửi")
        # Acknowledged: the ID number is gone from the phone.
        assert "citizen_id" not in records[label]["body"]
    assert records["Vũ Minh Tuấn"]["body"]["citizen_id"] == ELSEWHERE_ID
    axe(page)

    # The rejected record is corrected (the ID number was mistyped) and sent again.
    rejected.get_by_role("button", name="Sửa").click()
    expect(page.locator("#full_name")).to_have_value("Vũ Minh Tuấn")
    expect(page.locator("#err-citizen_id")).to_contain_text("đã được đăng ký")
    corrected_id = citizen_id_for(date(1990, 5, 20), "male", serial=778)
    page.fill("#citizen_id", corrected_id)
    page.click("#learner-form button[type=submit]")
    page.click("[data-tab=outbox]")
    expect(page.locator("#count")).to_have_text("0")
    tuan = _by_name(page, "Vũ Minh Tuấn")
    assert tuan["state"] == "sent" and "citizen_id" not in tuan["body"]
    expect(_record(page, tuan["client_id"])).to_contain_text("Đã gửi")
    # Acknowledged, no ID number is left anywhere on the phone (batches sent included).
    kept = everything_kept(page)
    assert '"batches":[]' in kept
    for sent_id in (ELSEWHERE_ID, corrected_id, *registered_ids):
        assert sent_id not in kept

    # Every record arrived exactly once.
    with live_server.session() as db:
        names = db.exec(
            select(Learner.full_name, func.count())
            .where(col(Learner.commune_code) == HN_HOAN_KIEM)
            .group_by(Learner.full_name)
        ).all()
        assert sorted(names) == [
            ("Lê Thị Hoa", 1),
            ("Phạm Văn Nam", 1),
            ("Vũ Minh Tuấn", 1),
            ("Đỗ Thị Lan", 1),
        ]
        completions = db.exec(
            select(Learner.full_name, Completion.score)
            .join(Completion, col(Completion.learner_id) == col(Learner.id))
            .where(col(Completion.course_code) == COURSE)
        ).all()
        assert sorted(completions) == [("Lê Thị Hoa", 80.0), ("Phạm Văn Nam", 90.5)]


def test_signing_out_warns_of_unsent_records_then_clears_the_phone(
    live_server: LiveServer, phone: Phone
) -> None:
    _arrange(live_server)
    page = phone.open()
    _sign_in(page)
    phone.context.set_offline(True)  # type: ignore[union-attr]
    _register(
        page,
        full_name="Phạm Văn Nam",
        citizen_id=citizen_id_for(date(1985, 4, 12), "male", serial=301),
        birth_date="12/04/1985",
        sex="male",
    )
    page.click("[data-tab=outbox]")
    page.click("#signout")
    expect(page.locator("#signout-warning")).to_have_text(
        "Còn 1 bản ghi chưa gửi. Đăng xuất sẽ xóa chúng khỏi máy."
    )
    assert len(outbox(page)) == 1
    page.click("#signout-confirm")
    expect(page.locator("#signin-form")).to_be_visible()
    assert outbox(page) == []
    # What the form opens with (the volunteer's profile, the commune's villages) is gone too;
    # only the service's rules, read again by the page that reopened, are kept.
    kept = page.evaluate("() => JSON.parse(localStorage.getItem('field-app-start') ?? '{}')")
    assert "profile" not in kept and "rules" in kept


# A database that never opens: what a slow phone's storage looks like at a cold start.
STALLED_DATABASE = "indexedDB.open = () => ({});"


def test_the_form_opens_offline_without_waiting_for_the_database(
    live_server: LiveServer, phone: Phone
) -> None:
    arranged = _arrange(live_server)
    page = phone.open()
    _sign_in(page)
    phone.close()
    page = phone.open(offline=True)
    expect(page.locator("#learner-form")).to_be_visible()
    # The browser restarted, the network off, and the phone's database slow to open: the form
    # is on screen at once, with the volunteer's commune and its villages to choose from.
    phone.context.add_init_script(STALLED_DATABASE)  # type: ignore[union-attr]
    page.reload()
    expect(page.locator("#learner-form")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("Cán bộ hk_member")
    expect(page.locator("#village_id option", has_text=arranged["village"])).to_have_count(1)
    page.fill("#full_name", "Phạm Văn Nam")
    expect(page.locator("#full_name")).to_have_value("Phạm Văn Nam")


def test_the_phone_checks_every_shared_case_as_the_table_says(
    live_server: LiveServer, phone: Phone
) -> None:
    page = phone.open()
    table = rule_cases.load()
    learners = [
        rule_cases.learner_of(table, case, villages={"own": 1, "other": 2})
        for case in table["cases"]
    ]
    answers = page.evaluate(
        """async (learners) => {
            const { checkLearner } = await import("/field/static/rules.js");
            const rules = await (await fetch("/field/rules.json")).json();
            const today = new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10);
            return learners.map((learner) =>
              checkLearner(learner, rules, { today, villageIds: [1] })
                .map(({ field, type }) => [field, type]));
        }""",
        learners,
    )
    disagreements = [
        (case["name"], got)
        for case, got in zip(table["cases"], answers, strict=True)
        if sorted(tuple(pair) for pair in got) != rule_cases.expected(case)
    ]
    assert disagreements == []


def test_the_phone_checks_every_shared_result_case_as_the_table_says(
    live_server: LiveServer, phone: Phone
) -> None:
    page = phone.open()
    table = rule_cases.load()
    courses = {"active": "CB-VNEID", "inactive": "CB-AI"}
    completions = [
        rule_cases.completion_of(table, case, courses=courses)
        for case in table["completion"]["cases"]
    ]
    answers = page.evaluate(
        """async ([completions, birthDate]) => {
            const { checkCompletion } = await import("/field/static/rules.js");
            const rules = await (await fetch("/field/rules.json")).json();
            const today = new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10);
            const courses = [{ code: "CB-VNEID", active: true }, { code: "CB-AI", active: false }];
            return completions.map((completion) =>
              checkCompletion(completion, rules, { today, courses, birthDate })
                .map(({ field, type }) => [field, type]));
        }""",
        [completions, table["base"]["birth_date"]],
    )
    disagreements = [
        (case["name"], got)
        for case, got in zip(table["completion"]["cases"], answers, strict=True)
        if sorted(tuple(pair) for pair in got) != rule_cases.expected(case)
    ]
    assert disagreements == []


def test_a_team_member_signed_in_at_the_root_lands_in_the_field_app(
    live_server: LiveServer, page: Page
) -> None:
    live_server.create_staff("hk_member", Role.team_member, commune_code=HN_HOAN_KIEM)
    sign_in(page, "hk_member")
    page.goto("/")
    assert page.url == live_server.url + "/field/"
    # The pages' session opens the app: no second sign-in.
    expect(page.locator("#who")).to_contain_text("Cán bộ hk_member")
    expect(page.locator("#learner-form")).to_be_visible()
    expect(page.locator("#signin-form")).to_be_hidden()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # Signing out of the app signs the browser out of the pages too: it does not come back.
    page.click("[data-tab=outbox]")
    page.click("#signout")
    expect(page.locator("#signin-form")).to_be_visible()
    page.goto("/")
    assert page.url.startswith(live_server.url + "/sign-in")
    page.goto("/field/")
    expect(page.locator("#signin-form")).to_be_visible()


# The phone's clock three days fast: Date.now() and new Date() run ahead, time still flows.
CLOCK_THREE_DAYS_FAST = """(() => {
  const shift = 3 * 24 * 3600 * 1000;
  const Real = Date;
  globalThis.Date = class extends Real {
    constructor(...args) { if (args.length === 0) super(Real.now() + shift); else super(...args); }
    static now() { return Real.now() + shift; }
  };
})();"""


def test_a_phone_with_a_wrong_clock_misdates_nothing(live_server: LiveServer, page: Page) -> None:
    _arrange(live_server)
    page.context.add_init_script(CLOCK_THREE_DAYS_FAST)
    page.goto("/field/")
    page.fill("#username", "hk_member")
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#learner-form")).to_be_visible()
    today = vietnam_today()
    # The form offers the service's today, not the phone's.
    page.click("[data-tab=results]")
    expect(page.locator("#completed_at")).to_have_value(today.strftime("%d/%m/%Y"))
    _register(
        page,
        full_name="Phạm Văn Nam",
        citizen_id=citizen_id_for(date(1985, 4, 12), "male", serial=401),
        birth_date="12/04/1985",
        sex="male",
    )
    page.click("[data-tab=results]")
    page.fill("#search", "pham van nam")
    page.click("#matches button >> nth=0")
    page.fill("#score-0", "75")
    page.select_option("#course_code", COURSE)
    page.click("#completion-form button[type=submit]")
    expect(page.locator("#completion-saved"), page.inner_text("#completion-form")).to_have_text(
        "Đã lưu trên máy."
    )
    page.click("[data-tab=outbox]")
    expect(page.locator("#count")).to_have_text("0")
    assert sorted(r["state"] for r in outbox(page)) == ["sent", "sent"], outbox(page)

    with live_server.session() as db:
        learner = db.exec(select(Learner).where(col(Learner.full_name) == "Phạm Văn Nam")).one()
        completion = db.exec(
            select(Completion).where(col(Completion.learner_id) == learner.id)
        ).one()
    assert learner.consent_given_at is not None
    assert abs(learner.consent_given_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert completion.completed_at.astimezone(VIETNAM).date() == today


def test_records_wait_through_an_expired_session_and_go_after_signing_in_again(
    live_server: LiveServer, phone: Phone
) -> None:
    _arrange(live_server)
    page = phone.open()
    _sign_in(page)
    phone.context.set_offline(True)  # type: ignore[union-attr]
    _register(
        page,
        full_name="Phạm Văn Nam",
        citizen_id=citizen_id_for(date(1985, 4, 12), "male", serial=501),
        birth_date="12/04/1985",
        sex="male",
    )
    expect(page.locator("#count")).to_have_text("1")
    # The kept token is no longer accepted (as after its expiry, or a revoked account's).
    change_kept_session(page, token="expired")
    page.reload()
    expect(page.locator("#count")).to_have_text("1")
    phone.context.set_offline(False)  # type: ignore[union-attr]
    expect(page.locator("#signin-why")).to_be_visible()
    expect(page.locator("#username")).to_have_value("hk_member")
    [waiting] = outbox(page)
    assert waiting["body"]["citizen_id"] == citizen_id_for(date(1985, 4, 12), "male", serial=501)

    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.click("[data-tab=outbox]")
    expect(page.locator("#count")).to_have_text("0")
    expect(page.locator("li.record[data-state=sent]")).to_have_count(1)
    with live_server.session() as db:
        stored = db.exec(select(Learner).where(col(Learner.full_name) == "Phạm Văn Nam")).all()
    assert len(stored) == 1


def test_the_app_switches_to_english_with_the_services_own_words(
    live_server: LiveServer, phone: Phone
) -> None:
    _arrange(live_server)
    page = phone.open()
    _sign_in(page)
    page.click("#lang")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#learner-form button[type=submit]")).to_have_text("Save on the phone")
    _register(
        page,
        full_name="Phạm Văn Nam",
        citizen_id=citizen_id_for(date(1985, 4, 12), "male", serial=601),
        birth_date="12/04/1985",
        sex="female",
    )
    expect(page.locator("#err-citizen_id")).to_have_text(
        "Digit 4 of the ID number does not match the sex and birth century."
    )
    # The choice is kept on the phone.
    page.reload()
    expect(page.locator("#learner-form button[type=submit]")).to_have_text("Save on the phone")


def test_the_forms_are_made_for_a_phone_and_keep_what_was_typed(
    live_server: LiveServer, phone: Phone
) -> None:
    _arrange(live_server)
    page = phone.open()
    _sign_in(page)
    # Fields named as the API names them; the ID number on the numeric keyboard.
    names = page.eval_on_selector_all(
        "#learner-form [name], #completion-form [name]", "(all) => all.map((e) => e.name)"
    )
    assert {"citizen_id", "full_name", "birth_date", "sex", "groups", "consent"} <= set(names)
    assert {"course_code", "completed_at", "method"} <= set(names)
    assert page.get_attribute("#citizen_id", "inputmode") == "numeric"
    assert page.get_attribute("#birth_date", "placeholder") == "dd/mm/yyyy"

    page.click("[data-tab=results]")
    page.fill("#search", "le thi hoa")
    page.click("#matches button >> nth=0")
    expect(page.locator("#score-0")).to_have_attribute("name", "score")
    # Every control a finger must hit is at least 44 px high (most 48).
    small = page.evaluate(
        """() => [...document.querySelectorAll(
              "button, select, input:not([type=radio]):not([type=checkbox]), .choice")]
            .filter((e) => e.offsetParent !== null)
            .map((e) => [e.id || e.className || e.tagName, e.getBoundingClientRect().height])
            .filter(([, height]) => height < 44)"""
    )
    assert small == []

    # A result the service would refuse is refused on the phone with the service's words,
    # and what was typed stays.
    tomorrow = (vietnam_today() + timedelta(days=1)).strftime("%d/%m/%Y")
    page.fill("#score-0", "101")
    page.select_option("#course_code", COURSE)
    page.fill("#completed_at", tomorrow)
    page.click("#completion-form button[type=submit]")
    # As on the service, a field's own problem comes first: the date is checked after.
    expect(page.locator("#err-score-0")).to_have_text("Giá trị quá lớn.")
    expect(page.locator("#err-completed_at")).to_be_empty()
    expect(page.locator("#score-0")).to_have_value("101")
    expect(page.locator("#completed_at")).to_have_value(tomorrow)
    expect(page.locator("#course_code")).to_have_value(COURSE)
    expect(page.locator("#chosen li")).to_have_count(1)
    page.fill("#score-0", "75")
    page.click("#completion-form button[type=submit]")
    expect(page.locator("#err-score-0")).to_be_empty()
    expect(page.locator("#err-completed_at")).to_have_text(
        "Thời điểm hoàn thành không thể ở tương lai."
    )
    expect(page.locator("#score-0")).to_have_value("75")
    assert outbox(page) == []
    # Before the learner's birth (Lê Thị Hoa was born on the factory's date): refused too.
    page.fill("#completed_at", "01/01/1901")
    page.click("#completion-form button[type=submit]")
    expect(page.locator("#err-completed_at")).to_have_text(
        "Ngày hoàn thành không được trước ngày sinh của người học."
    )
    assert outbox(page) == []

    # Corrected, it is kept on the phone and says so, then sent, and says that.
    phone.context.set_offline(True)  # type: ignore[union-attr]
    page.fill("#completed_at", vietnam_today().strftime("%d/%m/%Y"))
    page.click("#completion-form button[type=submit]")
    expect(page.locator("#completion-saved")).to_have_text("Đã lưu trên máy.")
    page.click("[data-tab=outbox]")
    [saved] = outbox(page)
    expect(_record(page, saved["client_id"])).to_contain_text("Đã lưu trên máy")
    phone.context.set_offline(False)  # type: ignore[union-attr]
    expect(_record(page, saved["client_id"])).to_contain_text("Đã gửi")
