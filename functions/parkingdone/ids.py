"""Ids that become part of a Firestore document path, checked once at the boundary.

Firestore refuses "/", "." and "..", and reserves "__...__"; a value like that reaching
`collection(...).document(value)` would be a 500. Every id a caller sends (a session,
payment, product, facility or operator id) is checked here first, so such input is a 400
(or, for a facility named by id or display name, simply not an id: see tenants).

Our ids are short and plain: a letter or digit, then letters, digits and `_ - . : @ + =`,
at most MAX_ID_LENGTH characters.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

MAX_ID_LENGTH = 200
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.:@+=]*")


def is_valid(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= MAX_ID_LENGTH
        and _ID.fullmatch(value) is not None
        and not (value.startswith("__") and value.endswith("__"))
    )


def check(value: str) -> str:
    """`value` if it is a valid id; ValueError (a 400 through pydantic) otherwise."""
    if not is_valid(value):
        raise ValueError(
            f"an id is 1 to {MAX_ID_LENGTH} characters: a letter or digit, then letters, "
            "digits and _ - . : @ + ="
        )
    return value


# A field that holds such an id: `session_id: DocumentId`.
DocumentId = Annotated[str, AfterValidator(check)]
