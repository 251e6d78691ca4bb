"""Licence plates: normalisation and ANPR confusables. Pure functions, no I/O.

Cameras, barriers, drivers and enforcers write the same plate differently ("abc-123",
"ABC 123", "ABC123"); every stored plate is the normalised form and the raw text is kept
beside it. ANPR also confuses look-alike characters (O/0, I/1, B/8, S/5, Z/2): two plates
whose skeletons are equal may be the same vehicle.
"""

from __future__ import annotations

import re
import unicodedata

MAX_PLATE_LENGTH = 15

# Spaces of every kind and the dash family (hyphen, en/em dash, minus) separate plate groups.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "B": "8", "S": "5", "Z": "2"})


class InvalidPlate(ValueError):
    """The text cannot be a licence plate."""


def normalise(raw: str) -> str:
    """The canonical plate: upper case, spaces and dashes removed ("abc-123" -> "ABC123").

    Raises InvalidPlate when nothing plate-like is left or the text holds other characters
    (letters of any alphabet and digits are allowed, e.g. Nordic Å, Ä, Ö).
    """
    if not isinstance(raw, str):
        raise InvalidPlate("A plate must be text")
    # NFKC folds full-width and other compatibility forms onto plain letters and digits.
    plate = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()
    if not plate:
        raise InvalidPlate("The plate is empty")
    if len(plate) > MAX_PLATE_LENGTH:
        raise InvalidPlate(f"A plate has at most {MAX_PLATE_LENGTH} characters")
    if not plate.isalnum():
        raise InvalidPlate("A plate may contain only letters, digits, spaces and dashes")
    return plate


def skeleton(plate: str) -> str:
    """The plate with ANPR look-alikes folded (O->0, I->1, B->8, S->5, Z->2).

    Takes a normalised plate; two plates are confusable iff their skeletons are equal.
    """
    return plate.translate(_CONFUSABLES)


def confusable(a: str, b: str) -> bool:
    return skeleton(a) == skeleton(b)
