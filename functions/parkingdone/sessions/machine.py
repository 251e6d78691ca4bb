"""The parking-session state machine: pure, no I/O.

Given one entry or exit event and the plate's pointer at the facility (the open session, or
an exit still waiting for its late entry), `decide` says what to write. The store reads the
pointer, calls `decide` and applies the decision in one transaction, so every real-world
case below is a plain function test:

- a duplicate camera read within the facility's debounce window changes nothing;
- a second entry while a session is open closes the old one as "missing_exit" (flagged for
  review, never charged as one giant stay) and opens a new one;
- an exit without any entry is an "anomaly" session for review, and waits for its entry:
- an entry delivered after its exit (out of order) completes that session, which becomes
  "closed" like any normal stay;
- an entry or exit older than the open session belongs to an earlier visit and is recorded
  apart, flagged, without disturbing the open session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

EventKind = Literal["entry", "exit"]
Source = Literal["anpr", "gps"]
PointerState = Literal["open", "awaiting_entry"]


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MISSING_EXIT = "missing_exit"
    ANOMALY = "anomaly"


class Outcome(StrEnum):
    OPENED = "session_opened"
    CLOSED = "session_closed"
    DUPLICATE_ENTRY = "duplicate_entry"
    DUPLICATE_EXIT = "duplicate_exit"
    # The previous open session was closed as missing_exit and a new one opened.
    REOPENED_AFTER_MISSING_EXIT = "session_opened_previous_missing_exit"
    EXIT_WITHOUT_ENTRY = "exit_without_entry"
    LATE_ENTRY_MATCHED = "late_entry_matched"
    LATE_ENTRY_UNMATCHED = "late_entry_unmatched"
    LATE_EXIT_UNMATCHED = "late_exit_unmatched"


class Flag(StrEnum):
    MISSING_EXIT = "missing_exit"
    EXIT_WITHOUT_ENTRY = "exit_without_entry"
    OUT_OF_ORDER = "out_of_order"
    LATE_EVENT = "late_event"
    OVER_MAX_STAY = "over_max_stay"
    MAX_STAY_EXCEEDED = "max_stay_exceeded"


@dataclass(frozen=True)
class Event:
    """A validated, normalised event; `event_id` is its inbox key."""

    kind: EventKind
    at: datetime
    plate: str
    plate_raw: str
    event_id: str
    source: Source = "anpr"
    country: str | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class Pointer:
    """openSessions/{facilityId}__{plate}: what an event of this plate needs, in one read.

    state "open": `session_id` is the open session, `at` its entry time.
    state "awaiting_entry": `session_id` is an exit-only anomaly, `at` its exit time.
    """

    session_id: str
    state: PointerState
    at: datetime
    event_id: str


@dataclass(frozen=True)
class Context:
    operator_id: str
    facility_id: str
    driver_uid: str | None
    debounce: timedelta
    max_stay: timedelta


@dataclass
class SessionUpdate:
    session_id: str
    fields: dict[str, Any]
    add_flags: list[str] = field(default_factory=list)


@dataclass
class Decision:
    outcome: Outcome
    session_id: str | None
    # A new session document (without createdAt/updatedAt, which the store stamps).
    create: dict[str, Any] | None = None
    updates: list[SessionUpdate] = field(default_factory=list)
    # "keep" leaves the pointer as it is; None deletes it.
    pointer: Pointer | Literal["keep"] | None = "keep"

    @property
    def changes_anything(self) -> bool:
        return self.create is not None or bool(self.updates) or self.pointer != "keep"


def session_id_for(event: Event) -> str:
    """A session is named after the event that created it, so a retry cannot make two."""
    return f"s_{event.event_id}"


def mark(event: Event) -> dict[str, Any]:
    """The entry/exit sub-document of a session."""
    return {"at": event.at, "imageUrl": event.image_url, "eventId": event.event_id}


def new_session(
    event: Event,
    ctx: Context,
    status: Status,
    flags: list[str] | None = None,
) -> dict[str, Any]:
    is_entry = event.kind == "entry"
    flags = flags or []
    return {
        "operatorId": ctx.operator_id,
        "facilityId": ctx.facility_id,
        "plate": event.plate,
        "plateRaw": event.plate_raw,
        "country": event.country,
        "source": event.source,
        "status": str(status),
        "entry": mark(event) if is_entry else None,
        "exit": None if is_entry else mark(event),
        "driverUid": ctx.driver_uid,
        "reviewRequired": status in (Status.MISSING_EXIT, Status.ANOMALY),
        "flags": [str(f) for f in flags],
        "fee": None,
        "payment": None,
        "evidence": [],
    }


def needs_recent_exit(event: Event, pointer: Pointer | None) -> bool:
    """An exit with no pointer may be a second camera read of an exit just recorded."""
    return event.kind == "exit" and pointer is None


def decide(
    event: Event,
    pointer: Pointer | None,
    ctx: Context,
    recent_exit_session: str | None = None,
) -> Decision:
    """What `event` does to the plate's sessions at this facility.

    `recent_exit_session`: for an exit without a pointer, the id of a session whose exit lies
    within the debounce window of this one (found by the store), if any.
    """
    if event.kind == "entry":
        return _entry(event, pointer, ctx)
    return _exit(event, pointer, ctx, recent_exit_session)


def _open(event: Event, ctx: Context, outcome: Outcome = Outcome.OPENED) -> Decision:
    session_id = session_id_for(event)
    return Decision(
        outcome=outcome,
        session_id=session_id,
        create=new_session(event, ctx, Status.OPEN),
        pointer=Pointer(session_id, "open", event.at, event.event_id),
    )


def _entry(event: Event, pointer: Pointer | None, ctx: Context) -> Decision:
    if pointer is None:
        return _open(event, ctx)

    if pointer.state == "open":
        if abs(event.at - pointer.at) <= ctx.debounce:
            return Decision(Outcome.DUPLICATE_ENTRY, pointer.session_id)
        if event.at > pointer.at:
            # The vehicle came in again, so it left unseen: the old stay ends as missing_exit.
            decision = _open(event, ctx, Outcome.REOPENED_AFTER_MISSING_EXIT)
            decision.updates.append(
                SessionUpdate(
                    pointer.session_id,
                    {"status": str(Status.MISSING_EXIT), "reviewRequired": True},
                    add_flags=[Flag.MISSING_EXIT],
                )
            )
            return decision
        # Older than the open session: an earlier visit whose exit we never saw.
        session_id = session_id_for(event)
        return Decision(
            Outcome.LATE_ENTRY_UNMATCHED,
            session_id,
            create=new_session(
                event, ctx, Status.MISSING_EXIT, [Flag.LATE_EVENT, Flag.MISSING_EXIT]
            ),
        )

    # An exit arrived first and waits for its entry.
    exit_at = pointer.at
    if event.at <= exit_at and exit_at - event.at <= ctx.max_stay:
        # The entry of that exit, delivered late: the stay is complete and normal.
        return Decision(
            Outcome.LATE_ENTRY_MATCHED,
            pointer.session_id,
            updates=[
                SessionUpdate(
                    pointer.session_id,
                    {
                        "status": str(Status.CLOSED),
                        "entry": mark(event),
                        "reviewRequired": False,
                        # An exit-only session carries just exit_without_entry, now resolved.
                        "flags": [str(Flag.OUT_OF_ORDER)],
                    },
                )
            ],
            pointer=None,
        )
    if event.at > exit_at:
        # A new visit; the unmatched exit stays an anomaly for review.
        return _open(event, ctx)
    session_id = session_id_for(event)
    return Decision(
        Outcome.LATE_ENTRY_UNMATCHED,
        session_id,
        create=new_session(event, ctx, Status.MISSING_EXIT, [Flag.LATE_EVENT, Flag.MISSING_EXIT]),
    )


def _exit_only(event: Event, ctx: Context, outcome: Outcome, pointer: Any) -> Decision:
    session_id = session_id_for(event)
    return Decision(
        outcome,
        session_id,
        create=new_session(event, ctx, Status.ANOMALY, [Flag.EXIT_WITHOUT_ENTRY]),
        pointer=pointer,
    )


def _exit(
    event: Event, pointer: Pointer | None, ctx: Context, recent_exit_session: str | None
) -> Decision:
    if pointer is None:
        if recent_exit_session is not None:
            return Decision(Outcome.DUPLICATE_EXIT, recent_exit_session)
        session_id = session_id_for(event)
        return _exit_only(
            event,
            ctx,
            Outcome.EXIT_WITHOUT_ENTRY,
            Pointer(session_id, "awaiting_entry", event.at, event.event_id),
        )

    if pointer.state == "awaiting_entry":
        if abs(event.at - pointer.at) <= ctx.debounce:
            return Decision(Outcome.DUPLICATE_EXIT, pointer.session_id)
        session_id = session_id_for(event)
        # The newest unmatched exit is the one a late entry most likely belongs to.
        newer = event.at > pointer.at
        return _exit_only(
            event,
            ctx,
            Outcome.EXIT_WITHOUT_ENTRY,
            Pointer(session_id, "awaiting_entry", event.at, event.event_id) if newer else "keep",
        )

    entry_at = pointer.at
    # A few seconds of clock skew between entry and exit cameras still closes the stay.
    if event.at >= entry_at - ctx.debounce:
        flags = [Flag.OVER_MAX_STAY] if event.at - entry_at > ctx.max_stay else []
        return Decision(
            Outcome.CLOSED,
            pointer.session_id,
            updates=[
                SessionUpdate(
                    pointer.session_id,
                    {"status": str(Status.CLOSED), "exit": mark(event)},
                    add_flags=flags,
                )
            ],
            pointer=None,
        )
    # Older than the open session's entry: the exit of an earlier visit.
    return _exit_only(event, ctx, Outcome.LATE_EXIT_UNMATCHED, "keep")
