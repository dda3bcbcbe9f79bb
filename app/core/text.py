"""Text folding for accent-insensitive search."""

import functools
import unicodedata


def fold(text: str) -> str:
    """Lower-case `text` without diacritics: "Đồng Tháp" -> "dong thap"."""
    return " ".join(folded for folded in map(_fold_word, text.split()) if folded)


@functools.lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    # Names are made of few distinct words (Nguyễn, Văn, Thị, …), so each is folded once.
    # Neither decomposition nor dropping marks makes a space, so folding word by word (and
    # leaving out words that were only marks) is the same as folding the whole text.
    decomposed = unicodedata.normalize("NFD", word.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def normalize_name(text: str) -> str:
    """A person's or place's name in NFC with single spaces, as stored."""
    return " ".join(unicodedata.normalize("NFC", text).split())
