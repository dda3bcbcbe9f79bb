"""Text folding for accent-insensitive search, and what a name may hold."""

import functools
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError


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


def clean_name(text: str) -> str:
    """A name in NFC, refusing invisible characters (a field problem).

    Zero-width and bidirectional formatting characters (Unicode's Cf) make two names look
    alike or reverse how one is shown.
    """
    # Cf characters are never printable: a printable name (nearly all) needs no closer look.
    if not text.isprintable() and any(unicodedata.category(c) == "Cf" for c in text):
        raise PydanticCustomError("name.invisible", "The name holds invisible characters")
    return unicodedata.normalize("NFC", text)


# Put after the string constraints of any name field (people, teams, villages, agencies).
CleanName = AfterValidator(clean_name)

FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120), CleanName
]
