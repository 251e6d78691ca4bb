"""The session rules, pure: each real-world case, and arrival order never changing the result."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parkingdone.sessions.machine import (
    MAX_TRACKED_STAYS,
    Context,
    Event,
    Flag,
    Outcome,
    Status,
    Track,
    apply,
    session_id_for,
)

T0 = datetime(2026, 3, 30, 14, 23, tzinfo=UTC)
NOW = T0 + timedelta(days=20)
CTX = Context(
    operator_id="op",
    facility_id="fac",
    driver_uid="uid-1",
    debounce=timedelta(seconds=120),
    max_stay=timedelta(days=7),
    retention=timedelta(days=60),
)


def ev(kind: str, minutes: float, key: str | None = None, **kw) -> Event:
    return Event(
        kind=kind,
        at=T0 + timedelta(minutes=minutes),
        plate="ABC123",
        plate_raw="ABC-123",
        event_id=key or f"{kind}-{minutes}",
        **kw,
    )


class Store:
    """Sessions as the store would leave them: the pure reducer of a stream of changes."""

    def __init__(self, ctx: Context = CTX, now: datetime = NOW) -> None:
        self.track = Track()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.ctx, self.now = ctx, now
        self.outcomes: list[Outcome] = []
        self.corrections: set[str] = set()

    def send(self, event: Event):
        change = apply(self.track, event, self.ctx, self.now)
        for sid, doc in change.creates.items():
            assert sid not in self.sessions
            self.sessions[sid] = dict(doc)
        for sid, fields in change.updates.items():
            fields = dict(fields)
            if "pairingFlags" in fields:
                fields["flags"] = list(fields.pop("pairingFlags")[1])
            self.sessions[sid].update(fields)
        self.corrections |= change.corrections
        self.track = change.track
        self.outcomes.append(change.outcome)
        return change

    def live(self) -> list[tuple[str, Any, Any]]:
        found = [
            (
                s["status"],
                (s["entry"] or {}).get("at"),
                (s["exit"] or {}).get("at"),
            )
            for s in self.sessions.values()
            if s["status"] != Status.SUPERSEDED
        ]
        return sorted(found, key=lambda r: (r[1] or r[2], r[2] or r[1]))


def test_entry_opens_a_session_with_the_driver() -> None:
    store = Store()
    entry = ev("entry", 0, image_url="https://cam/x.jpg")
    change = store.send(entry)
    assert change.outcome == Outcome.OPENED
    assert change.session_id == session_id_for(entry)
    doc = change.creates[change.session_id]
    assert doc["status"] == Status.OPEN and doc["driverUid"] == "uid-1"
    assert doc["entry"] == {"at": entry.at, "imageUrl": "https://cam/x.jpg", "eventId": "entry-0"}
    assert doc["exit"] is None and doc["fee"] is None and doc["payment"] is None
    assert doc["reviewRequired"] is False
    assert store.track.open_stay().session_id == change.session_id


def test_duplicate_entry_within_debounce_is_ignored() -> None:
    store = Store()
    first = store.send(ev("entry", 0))
    second = store.send(ev("entry", 1.5))
    assert second.outcome == Outcome.DUPLICATE_ENTRY
    assert second.session_id == first.session_id
    assert not second.creates and not second.updates


def test_the_same_event_delivered_twice_changes_nothing() -> None:
    store = Store()
    store.send(ev("entry", 0))
    again = store.send(ev("entry", 0))
    assert again.outcome == Outcome.DUPLICATE_ENTRY and not again.creates


def test_second_entry_ends_the_old_stay_as_missing_exit_and_opens_a_new_one() -> None:
    store = Store()
    first = store.send(ev("entry", 0))
    second = store.send(ev("entry", 300))
    assert second.outcome == Outcome.REOPENED_AFTER_MISSING_EXIT
    old = store.sessions[first.session_id]
    assert old["status"] == Status.MISSING_EXIT and old["reviewRequired"] is True
    assert Flag.MISSING_EXIT in old["flags"]
    assert store.sessions[second.session_id]["status"] == Status.OPEN


def test_exit_closes_the_open_session() -> None:
    store = Store()
    opened = store.send(ev("entry", 0))
    closed = store.send(ev("exit", 95))
    assert closed.outcome == Outcome.CLOSED and closed.session_id == opened.session_id
    assert store.sessions[opened.session_id]["status"] == Status.CLOSED
    assert store.track.open_stay() is None


def test_exit_after_max_stay_still_closes_but_is_flagged() -> None:
    store = Store()
    opened = store.send(ev("entry", 0))
    store.send(ev("exit", 8 * 24 * 60))
    assert Flag.OVER_MAX_STAY in store.sessions[opened.session_id]["flags"]


def test_exit_without_entry_is_an_anomaly_waiting_for_its_entry() -> None:
    store = Store()
    change = store.send(ev("exit", 0))
    assert change.outcome == Outcome.EXIT_WITHOUT_ENTRY
    doc = store.sessions[change.session_id]
    assert doc["status"] == Status.ANOMALY and doc["entry"] is None
    assert doc["flags"] == [Flag.EXIT_WITHOUT_ENTRY]


def test_second_camera_read_of_an_exit_is_a_duplicate() -> None:
    store = Store()
    store.send(ev("entry", 0))
    closed = store.send(ev("exit", 60))
    dup = store.send(ev("exit", 61))
    assert dup.outcome == Outcome.DUPLICATE_EXIT and dup.session_id == closed.session_id
    assert len(store.sessions) == 1


def test_entry_delivered_after_its_exit_completes_the_same_session() -> None:
    store = Store()
    exit_change = store.send(ev("exit", 95))
    entry_change = store.send(ev("entry", 0))
    assert entry_change.outcome == Outcome.LATE_ENTRY_MATCHED
    assert entry_change.session_id == exit_change.session_id
    doc = store.sessions[exit_change.session_id]
    assert doc["status"] == Status.CLOSED and doc["reviewRequired"] is False
    assert doc["flags"] == [Flag.OUT_OF_ORDER]


def test_backlog_of_an_entry_camera_pairs_each_exit_with_its_own_entry() -> None:
    # Exits 18:51 and 19:51 arrive, then entries 18:21 and 19:21.
    store = Store()
    for event in (ev("exit", 30, "x1"), ev("exit", 90, "x2"), ev("entry", 0, "e1")):
        store.send(event)
    store.send(ev("entry", 60, "e2"))
    assert store.live() == [
        (Status.CLOSED, T0, T0 + timedelta(minutes=30)),
        (Status.CLOSED, T0 + timedelta(minutes=60), T0 + timedelta(minutes=90)),
    ]
    assert store.track.open_stay() is None


def test_a_late_entry_that_splits_a_charged_stay_asks_for_a_correction() -> None:
    store = Store()
    opened = store.send(ev("entry", 0, "e1"))
    store.send(ev("exit", 90, "x2"))
    # The stay was closed (and may be charged) when the missing middle events arrive.
    store.send(ev("exit", 30, "x1"))
    assert opened.session_id in store.corrections
    store.send(ev("entry", 60, "e2"))
    assert store.live() == [
        (Status.CLOSED, T0, T0 + timedelta(minutes=30)),
        (Status.CLOSED, T0 + timedelta(minutes=60), T0 + timedelta(minutes=90)),
    ]


def test_superseded_stays_point_at_their_heir() -> None:
    store = Store()
    exit_only = store.send(ev("exit", 30, "x1"))
    opened = store.send(ev("entry", 0, "e1"))
    # The exit-only session took the entry in: the same id, no superseded session.
    assert opened.session_id == exit_only.session_id
    assert all(s["status"] != Status.SUPERSEDED for s in store.sessions.values())


def test_events_before_the_settled_horizon_are_held_for_review() -> None:
    ctx = Context("op", "fac", None, timedelta(seconds=120), timedelta(days=7), timedelta(days=1))
    store = Store(ctx, now=T0 + timedelta(days=10))
    store.send(ev("entry", 0, "e1"))
    store.send(ev("exit", 60, "x1"))
    store.send(ev("entry", 5 * 24 * 60, "e2"))  # the first stay is now settled
    assert store.track.horizon == T0 + timedelta(minutes=60)
    held = store.send(ev("exit", 30, "late"))
    assert held.outcome == Outcome.HELD_FOR_REVIEW and not held.creates and not held.updates


def test_the_track_keeps_a_bounded_number_of_stays() -> None:
    store = Store()
    for n in range(MAX_TRACKED_STAYS + 5):
        store.send(ev("entry", n * 100, f"e{n}"))
        store.send(ev("exit", n * 100 + 50, f"x{n}"))
    assert len(store.track.stays) <= MAX_TRACKED_STAYS
    assert len(store.track.events) <= 2 * MAX_TRACKED_STAYS


@pytest.mark.parametrize("source", ["anpr", "gps"])
def test_source_is_kept(source: str) -> None:
    change = Store().send(ev("entry", 0, source=source))
    assert change.creates[change.session_id]["source"] == source


# --- Arrival order never changes the result ------------------------------------------------


@st.composite
def deliveries(draw):
    """Stays of a plate (some without an entry or an exit), their events with camera
    duplicates and repeated deliveries, and an arrival order within a bounded delay."""
    count = draw(st.integers(min_value=1, max_value=6))
    events: list[Event] = []
    start = 0
    for n in range(count):
        start += draw(st.integers(min_value=10, max_value=600))
        length = draw(st.integers(min_value=5, max_value=400))
        shape = draw(st.sampled_from(["both", "both", "both", "no_exit", "no_entry"]))
        if shape != "no_entry":
            events.append(ev("entry", start, f"e{n}"))
            if draw(st.booleans()):
                events.append(ev("entry", start + 1, f"e{n}dup"))
        if shape != "no_exit":
            events.append(ev("exit", start + length, f"x{n}"))
        start += length
    max_delay = draw(st.integers(min_value=0, max_value=240))
    delays = draw(
        st.lists(
            st.integers(min_value=0, max_value=max_delay),
            min_size=len(events),
            max_size=len(events),
        )
    )
    arrival = [
        e
        for _, e in sorted(
            zip(delays, events, strict=True),
            key=lambda p: p[0] + (p[1].at - T0).total_seconds() / 60,
        )
    ]
    repeats = draw(st.lists(st.sampled_from(events), max_size=3))
    return events, arrival + repeats


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_any_arrival_order_gives_the_sessions_of_time_ordered_delivery(case) -> None:
    in_order, arrival = case
    expected, actual = Store(), Store()
    for event in sorted(in_order, key=lambda e: e.at):
        expected.send(event)
    for event in arrival:
        actual.send(event)
    assert actual.live() == expected.live()
    # The enforcement-relevant fact: the open stay is the same one, or there is none.
    open_expected = expected.track.open_stay()
    open_actual = actual.track.open_stay()
    assert (open_expected is None) == (open_actual is None)
    if open_actual is not None:
        assert (
            actual.track.event(open_actual.entry).at == expected.track.event(open_expected.entry).at
        )
    # A car whose exit was received after its last entry is never left parked.
    last = max(in_order, key=lambda e: (e.at, e.kind == "exit"))
    if last.kind == "exit":
        assert open_actual is None
