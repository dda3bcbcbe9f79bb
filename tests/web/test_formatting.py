"""Numbers, rates and dates written the Vietnamese way (and the English way on English pages)."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

from app.web.dashboards import _chart_rows
from app.web.formatting import format_date, format_datetime, format_number, format_percent
from app.web.i18n import translate


def test_numbers_rates_and_dates() -> None:
    assert format_number(1234567) == "1.234.567"
    assert format_number(1234.5, digits=1) == "1.234,5"
    assert format_number(1234567, "en") == "1,234,567"
    assert format_number(None) == "–"
    assert format_percent(0.805) == "80,5 %"
    assert format_percent(0.805, "en") == "80.5%"
    assert format_percent(1) == "100,0 %"
    assert format_percent(None) == "–"
    assert format_date(date(2026, 12, 3)) == "03/12/2026"
    # A moment is shown on Vietnam's calendar: 20:00 UTC is the next morning there.
    assert format_date(datetime(2026, 12, 3, 20, 0, tzinfo=UTC)) == "04/12/2026"
    assert format_datetime("2026-12-03T20:00:00+00:00") == "04/12/2026 03:00"
    assert format_date("2026-01-31") == "31/01/2026"


def test_page_words_fall_back_to_the_apis_messages() -> None:
    assert translate("sign_in.title", "vi") == "Đăng nhập"
    assert translate("sign_in.title", "en") == "Sign in"
    assert translate("login_failed.detail", "en") == "Wrong username or password."
    assert translate("not_found.detail", "vi", what="what.learner") == "Không tìm thấy người học."
    assert translate("no.such.key", "vi") == "no.such.key"


def test_a_charts_data_table_writes_numbers_in_the_pages_language() -> None:
    month = SimpleNamespace(date=date(2026, 11, 30), numerator=12345, rate=0.805)
    assert _chart_rows([month], "vi") == [("30/11/2026", "12.345", "80,5 %")]
    assert _chart_rows([month], "en") == [("30/11/2026", "12,345", "80.5%")]
