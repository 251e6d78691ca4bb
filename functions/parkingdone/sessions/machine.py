"""The parking-session rules: pure, no I/O.

A plate's sessions at a facility are what its events say when read in time order, whatever
order they arrived in. The plate's recent events are kept in a `Track` (stored on the plate's
document at the facility, see sessions/store.py); each new event is added to it and the whole
track is paired again (`pair`), so a camera that delivers its backlog late re-pairs exactly
the stays it affects. `apply` turns the difference between the old and the new pairing into
session writes, keeping session ids stable (a stay keeps the id of the session that already
held its entry, else its exit), so the real-world cases are plain function tests:

- a duplicate camera read within the facility's debounce window changes nothing;
- a second entry while a stay is open ends the old one as "missing_exit" (for review, never
  charged as one giant stay) and opens a new one;
- an exit without an entry before it is an "anomaly" for review, until its entry arrives;
- an exit closes the latest entry before it: the stay is "closed" and charged;
- a stay no longer produced by the pairing (its events now belong to another stay) becomes
  "superseded", pointing at the stay that took its events over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

EventKind = Literal["entry", "exit"]
Source = Literal["anpr", "gps"]

# At most this many stays stay in a plate's track (a bound on the document's size); complete
# stays older than the retention are settled first, so this only bites on a plate seen
# dozens of times a day.
MAX_TRACKED_STAYS = 100


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MISSING_EXIT = "missing_exit"
    ANOMALY = "anomaly"
    SUPERSEDED = "superseded"


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
    # A late event changed stays other than its own: they were paired again.
    REPAIRED = "sessions_repaired"
    # Older than what the track still holds (or than the operator's bound): kept for review.
    HELD_FOR_REVIEW = "held_for_review"


class Flag(StrEnum):
    MISSING_EXIT = "missing_exit"
    EXIT_WITHOUT_ENTRY = "exit_without_entry"
    OUT_OF_ORDER = "out_of_order"
    LATE_EVENT = "late_event"
    OVER_MAX_STAY = "over_max_stay"
    MAX_STAY_EXCEEDED = "max_stay_exceeded"


# Flags the pairing decides; others (the max-stay sweep's) are kept as they are.
PAIRING_FLAGS = frozenset(
    {Flag.MISSING_EXIT, Flag.EXIT_WITHOUT_ENTRY, Flag.OUT_OF_ORDER, Flag.OVER_MAX_STAY}
)


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
class Tracked:
    """An event as the plate's track keeps it; `seq` is its arrival order in the track."""

    event: Event
    seq: int

    @property
    def id(self) -> str:
        return self.event.event_id

    @property
    def at(self) -> datetime:
        return self.event.at

    @property
    def kind(self) -> EventKind:
        return self.event.kind


@dataclass(frozen=True)
class Stay:
    """One stay as the time-ordered pairing sees it."""

    entry: Tracked | None
    exit: Tracked | None
    status: Status
    flags: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()

    @property
    def first(self) -> Tracked:
        first = self.entry or self.exit
        assert first is not None  # a stay always has at least one event
        return first

    @property
    def last(self) -> Tracked:
        last = self.exit or self.entry
        assert last is not None
        return last

    def event_ids(self) -> set[str]:
        ids = {e.id for e in (self.entry, self.exit) if e is not None}
        return ids | set(self.duplicates)


@dataclass(frozen=True)
class StayRecord:
    """A stay as the track stores it: its session and the ids of its events."""

    session_id: str
    entry: str | None
    exit: str | None
    status: Status
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Track:
    """The plate's recent events at one facility and the stays they were last paired into."""

    events: tuple[Tracked, ...] = ()
    stays: tuple[StayRecord, ...] = ()
    seq: int = 0
    # Events at or before this instant were settled and dropped: a later one is for review.
    horizon: datetime | None = None
    # Session ids that were superseded and must not be given to a new stay.
    retired: tuple[str, ...] = ()

    def open_stay(self) -> StayRecord | None:
        return next((s for s in self.stays if s.status == Status.OPEN), None)

    def event(self, event_id: str | None) -> Tracked | None:
        if event_id is None:
            return None
        return next((e for e in self.events if e.id == event_id), None)


@dataclass(frozen=True)
class Context:
    operator_id: str
    facility_id: str
    driver_uid: str | None
    debounce: timedelta
    max_stay: timedelta
    # How long complete stays stay in the track (and events may still arrive for them).
    retention: timedelta = timedelta(days=7)


@dataclass
class Change:
    """What one event does: the new track, and the session writes it takes."""

    outcome: Outcome
    session_id: str | None
    track: Track
    creates: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Sessions whose entry, exit or status changed after they were closed (money may need a
    # correction), superseded ones included.
    corrections: set[str] = field(default_factory=set)

    @property
    def changes_anything(self) -> bool:
        return bool(self.creates or self.updates) or self.outcome != Outcome.HELD_FOR_REVIEW


def session_id_for(event: Event) -> str:
    """A session is named after an event of it, so a retry cannot make two."""
    return f"s_{event.event_id}"


def mark(event: Event) -> dict[str, Any]:
    """The entry/exit sub-document of a session."""
    return {"at": event.at, "imageUrl": event.image_url, "eventId": event.event_id}


def order_key(tracked: Tracked) -> tuple[datetime, int, str]:
    # At the same instant an entry comes before an exit: a zero-length stay, not an anomaly.
    return (tracked.at, 0 if tracked.kind == "entry" else 1, tracked.id)


def pair(events: Iterable[Tracked], debounce: timedelta, max_stay: timedelta) -> list[Stay]:
    """The stays `events` make when read in time order; arrival order only sets flags."""
    stays: list[Stay] = []
    open_entry: Tracked | None = None
    open_dups: list[str] = []

    def close_open(status: Status, exit_: Tracked | None = None) -> None:
        assert open_entry is not None
        flags: list[str] = []
        if status == Status.MISSING_EXIT:
            flags.append(Flag.MISSING_EXIT)
        if exit_ is not None:
            if exit_.seq < open_entry.seq:
                flags.append(Flag.OUT_OF_ORDER)
            if exit_.at - open_entry.at > max_stay:
                flags.append(Flag.OVER_MAX_STAY)
        stays.append(Stay(open_entry, exit_, status, tuple(flags), tuple(open_dups)))

    for tracked in sorted(events, key=order_key):
        if tracked.kind == "entry":
            if open_entry is not None and tracked.at - open_entry.at <= debounce:
                open_dups.append(tracked.id)
                continue
            if open_entry is not None:
                # The vehicle came in again, so it left unseen.
                close_open(Status.MISSING_EXIT)
            open_entry, open_dups = tracked, []
            continue
        if open_entry is not None:
            close_open(Status.CLOSED, tracked)
            open_entry, open_dups = None, []
            continue
        last = stays[-1] if stays else None
        if last is not None and last.exit is not None and tracked.at - last.exit.at <= debounce:
            stays[-1] = replace(last, duplicates=(*last.duplicates, tracked.id))
            continue
        stays.append(Stay(None, tracked, Status.ANOMALY, (Flag.EXIT_WITHOUT_ENTRY,)))
    if open_entry is not None:
        stays.append(Stay(open_entry, None, Status.OPEN, (), tuple(open_dups)))
    return stays


def _assign_ids(
    stays: Sequence[Stay], previous: Sequence[StayRecord], retired: set[str]
) -> list[str]:
    """A session id per stay: the previous session holding its entry, else its exit, else new."""
    by_event: dict[str, str] = {}
    for record in previous:
        for event_id in (record.entry, record.exit):
            if event_id is not None:
                by_event.setdefault(event_id, record.session_id)
    taken: set[str] = set()
    ids: list[str] = []
    # Entries claim first, so a stay whose exit moved to another keeps its id.
    for pass_kind in ("entry", "exit"):
        for index, stay in enumerate(stays):
            if len(ids) > index and ids[index]:
                continue
            if len(ids) <= index:
                ids.extend([""] * (index + 1 - len(ids)))
            tracked = stay.entry if pass_kind == "entry" else stay.exit
            candidate = by_event.get(tracked.id) if tracked is not None else None
            if candidate is not None and candidate not in taken:
                ids[index] = candidate
                taken.add(candidate)
    used = {r.session_id for r in previous} | retired
    for index, stay in enumerate(stays):
        if ids[index]:
            continue
        base = session_id_for(stay.first.event)
        candidate, n = base, 1
        while candidate in used or candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        ids[index] = candidate
        taken.add(candidate)
    return ids


def _trim(stays: list[Stay], ids: list[str], now: datetime, ctx: Context) -> int:
    """How many leading stays are settled: complete, and older than the retention or the cap."""
    cut = 0
    for index, stay in enumerate(stays):
        over_cap = len(stays) - index > MAX_TRACKED_STAYS
        old = stay.last.at < now - ctx.retention - ctx.debounce
        if stay.status == Status.OPEN or not (over_cap or old):
            break
        cut = index + 1
    return cut


def session_document(stay: Stay, ctx: Context) -> dict[str, Any]:
    """A new session document (without createdAt/updatedAt, which the store stamps)."""
    first = stay.first.event
    return {
        "operatorId": ctx.operator_id,
        "facilityId": ctx.facility_id,
        "plate": first.plate,
        "plateRaw": first.plate_raw,
        "country": first.country,
        "source": first.source,
        "status": str(stay.status),
        "entry": mark(stay.entry.event) if stay.entry else None,
        "exit": mark(stay.exit.event) if stay.exit else None,
        "driverUid": ctx.driver_uid,
        "reviewRequired": stay.status in (Status.MISSING_EXIT, Status.ANOMALY),
        "flags": [str(f) for f in stay.flags],
        "fee": None,
        "payment": None,
        "evidence": [],
    }


def _fields_changed(stay: Stay, record: StayRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    entry_id = stay.entry.id if stay.entry else None
    exit_id = stay.exit.id if stay.exit else None
    if entry_id != record.entry:
        fields["entry"] = mark(stay.entry.event) if stay.entry else None
    if exit_id != record.exit:
        fields["exit"] = mark(stay.exit.event) if stay.exit else None
    if stay.status != record.status:
        fields["status"] = str(stay.status)
        fields["reviewRequired"] = stay.status in (Status.MISSING_EXIT, Status.ANOMALY)
    if tuple(stay.flags) != tuple(record.flags):
        fields["pairingFlags"] = (list(record.flags), [str(f) for f in stay.flags])
    return fields


def apply(track: Track, event: Event, ctx: Context, now: datetime) -> Change:
    """Add `event` to the plate's track and say which sessions change, and how."""
    if any(t.id == event.event_id for t in track.events):
        stay = next((s for s in track.stays if event.event_id in (s.entry, s.exit)), None)
        kind = Outcome.DUPLICATE_ENTRY if event.kind == "entry" else Outcome.DUPLICATE_EXIT
        return Change(kind, stay.session_id if stay else None, track)
    if track.horizon is not None and event.at <= track.horizon:
        return Change(Outcome.HELD_FOR_REVIEW, None, track)

    tracked = Tracked(event, track.seq + 1)
    events = [*track.events, tracked]
    stays = pair(events, ctx.debounce, ctx.max_stay)
    ids = _assign_ids(stays, track.stays, set(track.retired))
    previous = {r.session_id: r for r in track.stays}
    change = Change(Outcome.REPAIRED, None, track)
    own_index = next(i for i, s in enumerate(stays) if event.event_id in s.event_ids())
    own_stay, own_id = stays[own_index], ids[own_index]

    for stay, session_id in zip(stays, ids, strict=True):
        record = previous.get(session_id)
        if record is None:
            change.creates[session_id] = session_document(stay, ctx)
            continue
        fields = _fields_changed(stay, record)
        if fields:
            change.updates[session_id] = fields
            material = fields.keys() & {"entry", "exit", "status"}
            if material and record.status == Status.CLOSED:
                change.corrections.add(session_id)
    kept = set(ids)
    retired = list(track.retired)
    for session_id, record in previous.items():
        if session_id in kept:
            continue
        # Its events now belong to other stays: the one holding its first event takes over.
        heir = next(
            (ids[i] for i, s in enumerate(stays) if (record.entry or record.exit) in s.event_ids()),
            None,
        )
        change.updates[session_id] = {
            "status": str(Status.SUPERSEDED),
            "supersededBy": heir,
            "reviewRequired": False,
        }
        if record.status == Status.CLOSED:
            change.corrections.add(session_id)
        retired.append(session_id)

    change.session_id = own_id
    change.outcome = _outcome(event, own_stay, own_id, previous, change)

    cut = _trim(stays, ids, now, ctx)
    horizon = track.horizon
    if cut:
        settled_events = {e for s in stays[:cut] for e in s.event_ids()}
        settled_at = max(t.at for t in events if t.id in settled_events)
        horizon = settled_at if horizon is None else max(horizon, settled_at)
        events = [t for t in events if t.id not in settled_events]
        retired = [r for r in retired if r not in set(ids[:cut])]
    for session_id in change.creates:
        change.creates[session_id]["pairingSeq"] = tracked.seq
    for session_id in change.updates:
        change.updates[session_id]["pairingSeq"] = tracked.seq
    records = tuple(
        StayRecord(
            session_id=session_id,
            entry=stay.entry.id if stay.entry else None,
            exit=stay.exit.id if stay.exit else None,
            status=stay.status,
            flags=tuple(str(f) for f in stay.flags),
        )
        for stay, session_id in list(zip(stays, ids, strict=True))[cut:]
    )
    change.track = Track(
        events=tuple(sorted(events, key=order_key)),
        stays=records,
        seq=tracked.seq,
        horizon=horizon,
        retired=tuple(retired[-MAX_TRACKED_STAYS:]),
    )
    return change


def _outcome(
    event: Event,
    stay: Stay,
    session_id: str,
    previous: dict[str, StayRecord],
    change: Change,
) -> Outcome:
    if event.event_id in stay.duplicates:
        return Outcome.DUPLICATE_ENTRY if event.kind == "entry" else Outcome.DUPLICATE_EXIT
    others_changed = any(
        sid != session_id and (fields.keys() & {"entry", "exit", "status"})
        for sid, fields in change.updates.items()
    ) or any(sid != session_id for sid in change.creates)
    before = previous.get(session_id)
    if event.kind == "exit":
        if stay.status == Status.ANOMALY and not others_changed:
            return Outcome.EXIT_WITHOUT_ENTRY
        if stay.status == Status.CLOSED and before is not None and before.status == Status.OPEN:
            return Outcome.CLOSED if not others_changed else Outcome.REPAIRED
        return Outcome.REPAIRED
    if stay.status == Status.OPEN and before is None:
        if not others_changed:
            return Outcome.OPENED
        replaced = [
            sid
            for sid, fields in change.updates.items()
            if fields.get("status") == Status.MISSING_EXIT and previous[sid].status == Status.OPEN
        ]
        if replaced and len(change.updates) == 1:
            return Outcome.REOPENED_AFTER_MISSING_EXIT
        return Outcome.REPAIRED
    if stay.status == Status.CLOSED and before is not None and before.status == Status.ANOMALY:
        return Outcome.LATE_ENTRY_MATCHED if not others_changed else Outcome.REPAIRED
    if stay.status == Status.MISSING_EXIT and before is None and not others_changed:
        return Outcome.LATE_ENTRY_UNMATCHED
    return Outcome.REPAIRED
