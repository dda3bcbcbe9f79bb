"""The pages' words, Vietnamese first with English, and the visitor's chosen language.

Every page module keeps its own words in a `MESSAGES` mapping (key -> (vi, en)) and hands it to
`register_messages` at import; a key the pages do not know falls back to the API's messages
(`app.core.i18n`), so an error shown beside a field reads as the API's own.
"""

from collections.abc import Mapping

from starlette.requests import Request

from app.core.i18n import MESSAGES as API_MESSAGES
from app.core.i18n import SUPPORTED, Language

LANGUAGE_COOKIE = "lang"
DEFAULT_LANGUAGE: Language = "vi"

_MESSAGES: dict[str, tuple[str, str]] = {}


def register_messages(messages: Mapping[str, tuple[str, str]]) -> None:
    """Add a page module's words; a key may be registered once only."""
    clash = _MESSAGES.keys() & messages.keys()
    if clash:
        raise ValueError(f"page messages registered twice: {sorted(clash)}")
    _MESSAGES.update(messages)


def page_language(request: Request) -> Language:
    """The language the visitor chose with the switch (a cookie); Vietnamese otherwise."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, DEFAULT_LANGUAGE)
    return chosen if chosen in SUPPORTED else DEFAULT_LANGUAGE


def translate(key: str, lang: Language, **params: object) -> str:
    """The text of `key` in `lang`, with its `{name}` placeholders filled.

    A placeholder whose value is itself a key (`what.learner`) is translated too. An unknown
    key is shown as it is, so a missing word is visible rather than an error.
    """
    pair = _MESSAGES.get(key) or API_MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    if not params:
        return text
    values = {
        name: translate(value, lang) if isinstance(value, str) and value in API_MESSAGES else value
        for name, value in params.items()
    }
    try:
        return text.format(**values)
    except (KeyError, IndexError):
        return text


MESSAGES: Mapping[str, tuple[str, str]] = {
    "app.name": ("Bình dân học vụ số", "Digital skills for all"),
    "app.tagline": ("Theo dõi phổ cập kỹ năng số", "Digital-skills tracker"),
    "nav.skip": ("Bỏ qua, đến nội dung chính", "Skip to main content"),
    "nav.main": ("Điều hướng chính", "Main navigation"),
    "nav.breadcrumb": ("Bạn đang ở", "You are here"),
    "nav.dashboard": ("Tổng quan", "Dashboard"),
    "nav.password": ("Đổi mật khẩu", "Change password"),
    "nav.sign_out": ("Đăng xuất", "Sign out"),
    "nav.api_docs": ("Tài liệu API", "API documentation"),
    "nav.language": ("Ngôn ngữ", "Language"),
    "lang.vi": ("Tiếng Việt", "Tiếng Việt"),
    "lang.en": ("English", "English"),
    "role.national_admin": ("Quản trị toàn quốc", "National admin"),
    "role.province_admin": ("Quản trị tỉnh", "Province admin"),
    "role.commune_admin": ("Quản trị xã", "Commune admin"),
    "role.team_member": ("Thành viên tổ công nghệ số", "Team member"),
    "footer.text": (
        "Phong trào “Bình dân học vụ số” — hệ thống theo dõi kết quả phổ cập kỹ năng số.",
        "The “Bình dân học vụ số” movement — digital-skills tracker.",
    ),
    "form.required": ("bắt buộc", "required"),
    "form.errors": (
        "Chưa lưu được: vui lòng sửa các trường được đánh dấu.",
        "Not saved: please correct the marked fields.",
    ),
    "form.error_prefix": ("Lỗi:", "Error:"),
    "empty.default": ("Chưa có dữ liệu.", "Nothing here yet."),
    "sign_in.title": ("Đăng nhập", "Sign in"),
    "sign_in.intro": (
        "Dành cho cán bộ xã, tỉnh, trung ương và thành viên tổ công nghệ số cộng đồng.",
        "For commune, province and national staff and community digital-technology teams.",
    ),
    "sign_in.username": ("Tên đăng nhập", "Username"),
    "sign_in.password": ("Mật khẩu", "Password"),
    "sign_in.submit": ("Đăng nhập", "Sign in"),
    "sign_in.missing": (
        "Nhập tên đăng nhập và mật khẩu.",
        "Enter your username and password.",
    ),
    "sign_in.expired": (
        "Phiên làm việc đã hết hạn; vui lòng đăng nhập lại.",
        "Your session has ended; please sign in again.",
    ),
    "sign_in.signed_out": ("Bạn đã đăng xuất.", "You have signed out."),
    "password.title": ("Đổi mật khẩu", "Change password"),
    "password.current": ("Mật khẩu hiện tại", "Current password"),
    "password.new": ("Mật khẩu mới", "New password"),
    "password.hint": ("Ít nhất 10 ký tự.", "At least 10 characters."),
    "password.submit": ("Đổi mật khẩu", "Change password"),
    "password.changed": ("Đã đổi mật khẩu.", "Your password has been changed."),
    "error.not_found.title": ("Không tìm thấy trang", "Page not found"),
    "error.not_found.text": (
        "Trang này không tồn tại hoặc nằm ngoài phạm vi của bạn.",
        "This page does not exist or lies outside your scope.",
    ),
    "error.forbidden.title": ("Không được phép", "Not allowed"),
    "error.csrf.text": (
        "Biểu mẫu đã hết hạn hoặc không gửi từ trang này. Tải lại trang rồi thử lại.",
        "The form has expired or was not sent from this site. Reload the page and try again.",
    ),
    "error.other.title": ("Có lỗi xảy ra", "Something went wrong"),
    "error.back_home": ("Về trang của bạn", "Back to your page"),
    "docs.title": ("Tài liệu API", "API documentation"),
}

register_messages(MESSAGES)
