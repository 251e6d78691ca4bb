"""The pure rules of a support ticket: its status machine, SLA due times, numbers and
search terms. No I/O; unit-tested."""

from __future__ import annotations

import contextlib
import re
import statistics
from collections.abc import Iterable, Mapping
from datetime import timedelta

from parkingdone import plates, settings

STATUSES = ("open", "pending", "resolved", "closed")
OPEN_STATUSES = ("open", "pending")
PRIORITIES = ("normal", "critical")
LINES = ("driver", "operator")
# Letters of the number per line: DEMO-T-000042 (a driver's), DEMO-P-000003 (to ParkingDone).
LINE_LETTER = {"driver": "T", "operator": "P"}
MAX_SUBJECT = 120
MAX_TEXT = 4000
MAX_SEARCH_TERMS = 300

# Where support may move a ticket by hand. The requester moves it only by writing: any
# message of theirs reopens it (see after_requester_message).
SUPPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"pending", "resolved", "closed"}),
    "pending": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset({"open"}),
}


class RuleError(ValueError):
    """A change the rules do not allow, with a code for the API error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_transition(current: str, target: str) -> None:
    if target not in STATUSES:
        raise RuleError("invalid_status", f"Status must be one of {', '.join(STATUSES)}")
    if target != current and target not in SUPPORT_TRANSITIONS[current]:
        raise RuleError("invalid_transition", f"A {current} ticket cannot become {target}")


def after_requester_message(current: str) -> tuple[str, bool]:
    """(new status, reopened): a requester's message puts the ticket back in support's queue."""
    return "open", current in ("resolved", "closed")


def first_response_target(
    priority: str, line: str, operator_sla: Mapping[str, object] | None = None
) -> timedelta:
    """How soon the first answer is due. The driver line follows the operator's own targets
    (operators/{id}.supportSla: {"criticalMinutes": 60, "normalMinutes": 1440}) or the
    default; the operator line follows ParkingDone's promise."""
    if priority not in PRIORITIES:
        raise RuleError("invalid_priority", "Priority must be normal or critical")
    if line == "operator":
        return settings.PARKINGDONE_FIRST_RESPONSE[priority]
    minutes = (operator_sla or {}).get(f"{priority}Minutes")
    if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes > 0:
        return timedelta(minutes=minutes)
    return settings.SUPPORT_FIRST_RESPONSE[priority]


def number(prefix: str, line: str, seq: int) -> str:
    """DEMO-T-000042."""
    return f"{prefix.upper()}-{LINE_LETTER[line]}-{seq:06d}"


def prefix_of(slug: str | None, operator_id: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (slug or operator_id).upper()) or "OP"


_WORD = re.compile(r"[\w@.+-]+", re.UNICODE)


def _words(text: str) -> set[str]:
    found = set()
    for raw in _WORD.findall(text.lower()):
        word = raw.strip(".-+")
        if len(word) >= 3:
            found.add(word[:60])
    return found


def search_terms(
    *,
    number: str,
    seq: int,
    email: str | None,
    plate: str | None,
    texts: Iterable[str],
    existing: Iterable[str] = (),
) -> list[str]:
    """The terms a ticket is found by: its number (whole, or the sequence alone), the
    e-mail, the plate (normalised) and the words of its subject and messages."""
    terms = set(existing) | {number.lower(), str(seq)}
    if email:
        terms.add(email.lower())
    if plate:
        terms.add(plate.lower())
    for text in texts:
        terms |= _words(text)
    # The number, sequence and e-mail are never crowded out by words.
    fixed = list(dict.fromkeys([number.lower(), str(seq), *([email.lower()] if email else [])]))
    rest = sorted(terms - set(fixed))
    return (fixed + rest)[:MAX_SEARCH_TERMS]


def _exact_terms(query: str) -> set[str]:
    """A plate (normalised), a ticket number or its sequence, an e-mail: one term each."""
    text = query.strip()
    exact = {text.lower()}
    if re.fullmatch(r"\d+", text):
        exact.add(str(int(text)))
    with contextlib.suppress(plates.InvalidPlate):
        exact.add(plates.normalise(text).lower())
    return exact


def query_terms(query: str) -> list[str]:
    """The terms a search looks up (any of them: Firestore's array-contains-any, at most 30);
    `matches` then keeps the tickets that really answer the query."""
    if not query.strip():
        return []
    return sorted(_exact_terms(query) | _words(query))[:30]


def matches(ticket_terms: Iterable[str], query: str) -> bool:
    """The query is the ticket's plate, number or e-mail, or all its words are in the ticket."""
    have = set(ticket_terms)
    if _exact_terms(query) & have:
        return True
    words = _words(query)
    return bool(words) and words <= have


def median_seconds(values: Iterable[int]) -> int | None:
    found = list(values)
    return int(statistics.median(found)) if found else None


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
