"""The mock's sign-in page, in Vietnamese or English; a page of its own, with no script."""

from html import escape

from fastapi.responses import HTMLResponse, Response

from app.core.i18n import Language, negotiate

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Đăng nhập VNeID", "Sign in with VNeID"),
    "banner": ("VNeID (bản mô phỏng)", "VNeID (mock)"),
    "asks": (
        "Ứng dụng “{client}” đề nghị xác thực danh tính của bạn.",
        "The application “{client}” asks to confirm who you are.",
    ),
    "username": ("Số định danh cá nhân", "Personal ID number"),
    "username_hint": ("12 chữ số, trên thẻ căn cước", "12 digits, on your ID card"),
    "password": ("Mật mã VNeID", "VNeID passcode"),
    "submit": ("Đăng nhập", "Sign in"),
    "cancel": ("Hủy, quay lại ứng dụng", "Cancel and go back"),
    "bad_username": (
        "Số định danh cá nhân gồm đúng 12 chữ số.",
        "A personal ID number has exactly 12 digits.",
    ),
    "error_title": ("Yêu cầu đăng nhập không hợp lệ", "Invalid sign-in request"),
    "error_body": (
        "Ứng dụng đã gửi một yêu cầu đăng nhập mà VNeID không nhận ({error}).",
        "The application sent a sign-in request VNeID does not accept ({error}).",
    ),
}

CSS = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f3f4f6; color: #111827; }
header { background: #a50e0e; color: #fff; padding: 0.75rem 1rem; font-weight: 600; }
main { max-width: 26rem; margin: 1.5rem auto; background: #fff; padding: 1.25rem;
       border-radius: 0.5rem; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { display: block; font-weight: 600; margin-top: 1rem; }
.hint { color: #374151; font-size: 0.9rem; margin: 0.25rem 0; }
input { box-sizing: border-box; width: 100%; font-size: 1.1rem; padding: 0.6rem;
        border: 1px solid #4b5563; border-radius: 0.25rem; }
button { margin-top: 1.25rem; width: 100%; font-size: 1.1rem; padding: 0.75rem;
         background: #a50e0e; color: #fff; border: 0; border-radius: 0.25rem; }
.cancel { text-align: center; margin-top: 1rem; }
a { color: #1d4ed8; }
.error { border-left: 4px solid #a50e0e; background: #fef2f2; padding: 0.75rem; }
"""

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def language(ui_locales: str | None, accept_language: str | None) -> Language:
    """OpenID Connect's `ui_locales` first (the relying party's language), then the browser's."""
    for tag in (ui_locales or "").split():
        primary = tag.split("-")[0].lower()
        if primary in ("vi", "en"):
            return primary
    return negotiate(accept_language)


def text(key: str, lang: Language, **params: str) -> str:
    vi, en = TEXT[key]
    return (en if lang == "en" else vi).format(**params)


def sign_in_page(
    *,
    lang: Language,
    action: str,
    hidden: dict[str, str],
    client_name: str,
    cancel_url: str,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The form a citizen signs in with; `error` is shown above it, announced to screen readers."""
    fields = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    alert = f'<p class="error" role="alert" id="error">{escape(error)}</p>' if error else ""
    described = ' aria-describedby="error"' if error else ""
    body = f"""
<h1>{escape(text("title", lang))}</h1>
<p>{escape(text("asks", lang, client=client_name))}</p>
{alert}
<form method="post" action="{escape(action)}">
{fields}
<label for="username">{escape(text("username", lang))}</label>
<p class="hint" id="username-hint">{escape(text("username_hint", lang))}</p>
<input id="username" name="username" inputmode="numeric" autocomplete="username" required
 maxlength="12" aria-describedby="username-hint"{described}>
<label for="password">{escape(text("password", lang))}</label>
<input id="password" name="password" type="password" inputmode="numeric"
 autocomplete="current-password" required{described}>
<button type="submit">{escape(text("submit", lang))}</button>
</form>
<p class="cancel"><a href="{escape(cancel_url)}">{escape(text("cancel", lang))}</a></p>"""
    return _page(lang, text("title", lang), body, status_code, headers)


def error_page(*, lang: Language, error: str, status_code: int = 400) -> HTMLResponse:
    """An authorization request that cannot go back to its client."""
    body = (
        f"<h1>{escape(text('error_title', lang))}</h1>"
        f"<p>{escape(text('error_body', lang, error=error))}</p>"
    )
    return _page(lang, text("error_title", lang), body, status_code, None)


def stylesheet() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


def _page(
    lang: Language, title: str, body: str, status_code: int, headers: dict[str, str] | None
) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} — VNeID</title>
<link rel="stylesheet" href="static/sign-in.css">
</head>
<body>
<header>{escape(text("banner", lang))}</header>
<main>{body}
</main>
</body>
</html>
"""
    return HTMLResponse(
        html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )
