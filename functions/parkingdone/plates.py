"""Licence plates: normalisation and ANPR confusables. Pure functions, no I/O.

Cameras, barriers, drivers and enforcers write the same plate differently ("abc-123",
"ABC 123", "ABC123"); every stored plate is the normalised form and the raw text is kept
beside it. The same letters also arrive in other scripts: full-width forms from handhelds,
Cyrillic or Greek letters that look Latin (Cyrillic "АВС" is not "ABC" to a computer, but
is on the car), digits of other scripts (Arabic-Indic "١٢٣"). Normalising folds them all
onto Latin letters and ASCII digits, so one car is one plate whichever keyboard wrote it.
ANPR also confuses look-alike characters (O/0, I/1, B/8, S/5, Z/2): two plates whose
skeletons are equal may be the same vehicle.
"""

from __future__ import annotations

import re
import unicodedata

# Characters of the normalised plate, and of the text it was read from (separators and all).
MAX_PLATE_LENGTH = 15
MAX_RAW_PLATE_LENGTH = 32

# Spaces of every kind and the dash family (hyphen, en/em dash, minus) separate plate groups.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "B": "8", "S": "5", "Z": "2"})
# Upper-case Cyrillic and Greek letters that look like a Latin capital: plates of countries
# writing those scripts use only these letters, precisely so cameras can read them as Latin.
_LATIN_LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ү": "Y",
        # Greek
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    }
)  # fmt: skip


class InvalidPlate(ValueError):
    """The text cannot be a licence plate."""


def normalise(raw: str) -> str:
    """The canonical plate: upper case, spaces and dashes removed ("abc-123" -> "ABC123").

    Raises InvalidPlate when nothing plate-like is left or the text holds other characters
    (letters of any alphabet and digits are allowed, e.g. Nordic Å, Ä, Ö).
    """
    plate = "".join(_groups(raw))
    if not plate:
        raise InvalidPlate("The plate is empty")
    if len(plate) > MAX_PLATE_LENGTH:
        raise InvalidPlate(f"A plate has at most {MAX_PLATE_LENGTH} characters")
    if not plate.isalnum():
        raise InvalidPlate("A plate may contain only letters, digits, spaces and dashes")
    return plate


def display(raw: object, default: str) -> str:
    """The one form officers see: the normalised characters, in the raw text's groups.

    "abc 123", "ABC-123", full-width "ＡＢＣ－１２３" and Cyrillic "АВС 123" all show as
    "ABC-123". `default` (the normalised plate) when `raw` is not a plate.
    """
    try:
        groups = _groups(raw)
    except InvalidPlate:
        return default
    plate = "".join(groups)
    if not plate or len(plate) > MAX_PLATE_LENGTH or not plate.isalnum():
        return default
    return "-".join(groups)


def _groups(raw: object) -> list[str]:
    """The plate's character groups, folded onto Latin capitals and ASCII digits."""
    if not isinstance(raw, str):
        raise InvalidPlate("A plate must be text")
    if len(raw) > MAX_RAW_PLATE_LENGTH:
        raise InvalidPlate(f"A plate is written in at most {MAX_RAW_PLATE_LENGTH} characters")
    # NFKC folds full-width and other compatibility forms onto plain letters and digits.
    text = unicodedata.normalize("NFKC", raw).upper().translate(_LATIN_LOOKALIKES)
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    return [group for group in _SEPARATORS.split(text) if group]


def skeleton(plate: str) -> str:
    """The plate with ANPR look-alikes folded (O->0, I->1, B->8, S->5, Z->2).

    Takes a normalised plate; two plates are confusable iff their skeletons are equal.
    """
    return plate.translate(_CONFUSABLES)


def confusable(a: str, b: str) -> bool:
    return skeleton(a) == skeleton(b)
