"""Text folding for accent-insensitive search."""

import unicodedata


def fold(text: str) -> str:
    """Lower-case `text` without diacritics: "Đồng Tháp" -> "dong thap"."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.lower().split())


def normalize_name(text: str) -> str:
    """A person's or place's name in NFC with single spaces, as stored."""
    return " ".join(unicodedata.normalize("NFC", text).split())
