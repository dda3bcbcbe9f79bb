import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.i18n import negotiate, translate
from app.core.text import fold


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "vi"),
        ("", "vi"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("fr-FR,en;q=0.5", "en"),
        ("fr", "vi"),
        ("en;q=0.2,vi;q=0.8", "vi"),
        ("en;q=0", "vi"),
        ("en;q=abc", "vi"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_translate_fills_nested_message_keys() -> None:
    assert translate("not_found.detail", "en", what="what.learner") == "The learner was not found."
    assert translate("not_found.detail", "vi", what="what.learner") == "Không tìm thấy người học."


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Hà Giang", "ha giang"),
        ("Đồng Tháp", "dong thap"),
        ("  Nguyễn   Thị  Ánh ", "nguyen thi anh"),
        ("TRƯỜNG SA", "truong sa"),
        ("đặc khu Phú Quốc", "dac khu phu quoc"),
        # A word that is only a combining mark folds to nothing, and leaves no extra space.
        ("\u0301 Lê\u2000\tVăn", "le van"),
    ],
)
def test_fold_removes_diacritics_and_d_stroke(text: str, folded: str) -> None:
    assert fold(text) == folded


@given(st.text(alphabet="aăâdđeêioôơuưyAĂÂĐÊÔƠƯẢẠÃ \t\u00a0\u2000\u0300\u0301\u0303"))
def test_folding_word_by_word_is_folding_the_whole_text(text: str) -> None:
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    assert fold(text) == " ".join(stripped.lower().split())
