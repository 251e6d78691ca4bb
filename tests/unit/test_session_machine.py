from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkingdone.sessions.machine import (
    Context,
    Event,
    Flag,
    Outcome,
    Pointer,
    Status,
    decide,
    needs_recent_exit,
    session_id_for,
)

T0 = datetime(2026, 3, 30, 14, 23, tzinfo=UTC)
CTX = Context(
    operator_id="op",
    facility_id="fac",
    driver_uid="uid-1",
    debounce=timedelta(seconds=120),
    max_stay=timedelta(days=7),
)


def ev(kind: str, minutes: float, key: str | None = None, **kw) -> Event:
    at = T0 + timedelta(minutes=minutes)
    return Event(
        kind=kind,
        at=at,
        plate="ABC123",
        plate_raw="ABC-123",
        event_id=key or f"{kind}-{minutes}",
        **kw,
    )


def test_entry_without_pointer_opens_a_session_with_the_driver() -> None:
    entry = ev("entry", 0, image_url="https://cam/x.jpg")
    d = decide(entry, None, CTX)
    assert d.outcome == Outcome.OPENED
    assert d.session_id == session_id_for(entry)
    assert d.create["status"] == Status.OPEN
    assert d.create["driverUid"] == "uid-1"
    assert d.create["entry"] == {
        "at": entry.at,
        "imageUrl": "https://cam/x.jpg",
        "eventId": "entry-0",
    }
    assert d.create["exit"] is None and d.create["fee"] is None and d.create["payment"] is None
    assert d.create["reviewRequired"] is False
    assert d.pointer == Pointer(d.session_id, "open", entry.at, "entry-0")


def test_duplicate_entry_within_debounce_is_ignored() -> None:
    pointer = Pointer("s1", "open", T0, "e1")
    d = decide(ev("entry", 1.5), pointer, CTX)
    assert d.outcome == Outcome.DUPLICATE_ENTRY
    assert d.session_id == "s1"
    assert not d.changes_anything


def test_second_entry_closes_old_as_missing_exit_and_opens_new() -> None:
    pointer = Pointer("s1", "open", T0, "e1")
    entry = ev("entry", 60)
    d = decide(entry, pointer, CTX)
    assert d.outcome == Outcome.REOPENED_AFTER_MISSING_EXIT
    assert d.create["status"] == Status.OPEN
    [old] = d.updates
    assert old.session_id == "s1"
    assert old.fields == {"status": "missing_exit", "reviewRequired": True}
    assert old.add_flags == [Flag.MISSING_EXIT]
    assert d.pointer.session_id == session_id_for(entry)


def test_exit_closes_the_open_session() -> None:
    pointer = Pointer("s1", "open", T0, "e1")
    exit_ = ev("exit", 102)
    d = decide(exit_, pointer, CTX)
    assert d.outcome == Outcome.CLOSED
    [update] = d.updates
    assert update.session_id == "s1"
    assert update.fields["status"] == "closed"
    assert update.fields["exit"]["at"] == exit_.at
    assert update.add_flags == []
    assert d.pointer is None


def test_exit_after_max_stay_still_closes_but_is_flagged() -> None:
    pointer = Pointer("s1", "open", T0, "e1")
    d = decide(ev("exit", 8 * 24 * 60), pointer, CTX)
    assert d.outcome == Outcome.CLOSED
    assert d.updates[0].add_flags == [Flag.OVER_MAX_STAY]


def test_exit_without_entry_is_an_anomaly_waiting_for_its_entry() -> None:
    exit_ = ev("exit", 100)
    assert needs_recent_exit(exit_, None)
    d = decide(exit_, None, CTX)
    assert d.outcome == Outcome.EXIT_WITHOUT_ENTRY
    assert d.create["status"] == Status.ANOMALY
    assert d.create["entry"] is None
    assert d.create["reviewRequired"] is True
    assert d.create["flags"] == ["exit_without_entry"]
    assert d.pointer.state == "awaiting_entry"


def test_second_camera_read_of_an_exit_is_a_duplicate() -> None:
    d = decide(ev("exit", 100), None, CTX, recent_exit_session="s1")
    assert d.outcome == Outcome.DUPLICATE_EXIT and d.session_id == "s1"
    assert not d.changes_anything
    pending = Pointer("s2", "awaiting_entry", T0, "x1")
    d = decide(ev("exit", 1), pending, CTX)
    assert d.outcome == Outcome.DUPLICATE_EXIT and not d.changes_anything


def test_out_of_order_entry_completes_the_waiting_exit() -> None:
    exit_ = ev("exit", 100)
    first = decide(exit_, None, CTX)
    d = decide(ev("entry", 0), first.pointer, CTX)
    assert d.outcome == Outcome.LATE_ENTRY_MATCHED
    assert d.session_id == first.session_id
    [update] = d.updates
    assert update.fields["status"] == "closed"
    assert update.fields["entry"]["at"] == T0
    assert update.fields["reviewRequired"] is False
    assert update.fields["flags"] == ["out_of_order"]
    assert d.pointer is None
    assert d.create is None


def test_entry_after_an_unmatched_exit_is_a_new_visit() -> None:
    pending = Pointer("s-x", "awaiting_entry", T0, "x1")
    d = decide(ev("entry", 30), pending, CTX)
    assert d.outcome == Outcome.OPENED
    assert d.pointer.state == "open"
    assert d.updates == []


def test_entry_far_older_than_an_unmatched_exit_is_not_matched() -> None:
    pending = Pointer("s-x", "awaiting_entry", T0, "x1")
    d = decide(ev("entry", -8 * 24 * 60), pending, CTX)
    assert d.outcome == Outcome.LATE_ENTRY_UNMATCHED
    assert d.create["status"] == Status.MISSING_EXIT
    assert d.pointer == "keep"


def test_late_entry_older_than_open_session_is_recorded_apart() -> None:
    pointer = Pointer("s1", "open", T0, "e1")
    d = decide(ev("entry", -300), pointer, CTX)
    assert d.outcome == Outcome.LATE_ENTRY_UNMATCHED
    assert d.create["status"] == Status.MISSING_EXIT
    assert d.create["reviewRequired"] is True
    assert d.pointer == "keep" and d.updates == []


def test_exit_older_than_open_session_is_an_anomaly_and_keeps_it_open() -> None:
    pointer = Pointer("s1", "open", T0, "e1")
    d = decide(ev("exit", -300), pointer, CTX)
    assert d.outcome == Outcome.LATE_EXIT_UNMATCHED
    assert d.create["status"] == Status.ANOMALY
    assert d.pointer == "keep"


def test_small_clock_skew_between_cameras_still_closes() -> None:
    pointer = Pointer("s1", "open", T0, "e1")
    assert decide(ev("exit", -1), pointer, CTX).outcome == Outcome.CLOSED


@pytest.mark.parametrize("source", ["anpr", "gps"])
def test_source_is_kept(source: str) -> None:
    assert decide(ev("entry", 0, source=source), None, CTX).create["source"] == source


# Replay of a whole stream through the machine with an in-memory pointer: whatever the
# interleaving of visits, a normal entry/exit pair always ends in exactly one closed session.
def _run(events: list[Event]) -> dict[str, dict]:
    sessions: dict[str, dict] = {}
    pointer = None
    for event in events:
        d = decide(event, pointer, CTX)
        if d.create is not None:
            sessions[d.session_id] = dict(d.create)
        for update in d.updates:
            sessions[update.session_id].update(update.fields)
        if d.pointer != "keep":
            pointer = d.pointer
    return sessions


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=6, unique=True))
def test_in_order_visits_each_end_in_one_closed_session(starts: list[int]) -> None:
    events = []
    for n, start in enumerate(sorted(starts)):
        base = start * 600  # visits ten hours apart at most, 3 hours long
        events.append(ev("entry", base, key=f"in{n}"))
        events.append(ev("exit", base + 180, key=f"out{n}"))
    sessions = _run(events)
    assert len(sessions) == len(starts)
    assert all(s["status"] == "closed" for s in sessions.values())


@given(st.integers(min_value=3, max_value=10_000))
def test_a_single_visit_delivered_in_either_order_ends_closed(minutes: int) -> None:
    entry, exit_ = ev("entry", 0, key="in"), ev("exit", minutes, key="out")
    for order in ([entry, exit_], [exit_, entry]):
        [session] = _run(order).values()
        assert session["status"] == "closed"
        assert session["entry"]["at"] == entry.at and session["exit"]["at"] == exit_.at
