"""The real world against the real emulators: each case of the session rules, end to end."""

from datetime import UTC, datetime, timedelta

import pytest

from parkingdone.jobs import sessions_sweep
from tests.integration.ingest_support import (
    T0,
    add_tenant,
    body,
    minutes,
    pointer,
    post,
    sessions_of,
)

pytestmark = pytest.mark.usefixtures("demo")
F, P = "kamppi-p1", "ABC123"


def send(token: str, kind: str, at: datetime, **kw) -> dict:
    r = post(token, body(kind, at, **kw))
    assert r.status_code == 202, r.text
    return r.json()


def test_duplicate_camera_read_within_debounce_is_ignored(db, demo) -> None:
    first = send(demo.webhook_token, "entry", T0)
    second = send(demo.webhook_token, "entry", T0 + timedelta(seconds=40))
    assert second["outcome"] == "duplicate_entry"
    assert second["sessionId"] == first["sessionId"]
    [session] = sessions_of(db, F, P)
    assert session["entry"]["at"] == T0


def test_second_entry_closes_the_old_session_as_missing_exit(db, demo) -> None:
    first = send(demo.webhook_token, "entry", T0)
    second = send(demo.webhook_token, "entry", T0 + minutes(300))
    assert second["outcome"] == "session_opened_previous_missing_exit"
    old, new = sessions_of(db, F, P)
    assert old["id"] == first["sessionId"]
    assert old["status"] == "missing_exit" and old["reviewRequired"] is True
    assert "missing_exit" in old["flags"] and old["exit"] is None
    assert new["status"] == "open" and new["id"] == second["sessionId"]
    # The next exit closes the new stay only: no giant stay from the first entry.
    send(demo.webhook_token, "exit", T0 + minutes(330))
    old, new = sessions_of(db, F, P)
    assert old["status"] == "missing_exit"
    assert new["status"] == "closed" and new["exit"]["at"] == T0 + minutes(330)


def test_exit_without_entry_is_an_anomaly_for_review(db, demo) -> None:
    answer = send(demo.webhook_token, "exit", T0)
    assert answer["outcome"] == "exit_without_entry"
    [session] = sessions_of(db, F, P)
    assert session["status"] == "anomaly" and session["reviewRequired"] is True
    assert session["entry"] is None and session["exit"]["at"] == T0
    assert session["driverUid"] == demo.driver_uid
    assert session["fee"] is None
    # A second read of the same exit is not another anomaly.
    again = send(demo.webhook_token, "exit", T0 + timedelta(seconds=30))
    assert again["outcome"] == "duplicate_exit"
    assert len(sessions_of(db, F, P)) == 1


def test_exit_delivered_before_its_entry_ends_in_one_closed_session(db, demo) -> None:
    exit_answer = send(demo.webhook_token, "exit", T0 + minutes(95))
    entry_answer = send(demo.webhook_token, "entry", T0)
    assert entry_answer["outcome"] == "late_entry_matched"
    assert entry_answer["sessionId"] == exit_answer["sessionId"]
    [session] = sessions_of(db, F, P)
    assert session["status"] == "closed" and session["reviewRequired"] is False
    assert session["entry"]["at"] == T0 and session["exit"]["at"] == T0 + minutes(95)
    assert session["flags"] == ["out_of_order"]
    assert pointer(db, F, P) is None


def test_duplicate_exit_after_a_normal_close_is_ignored(db, demo) -> None:
    send(demo.webhook_token, "entry", T0)
    closed = send(demo.webhook_token, "exit", T0 + minutes(60))
    dup = send(demo.webhook_token, "exit", T0 + minutes(61))
    assert dup["outcome"] == "duplicate_exit" and dup["sessionId"] == closed["sessionId"]
    assert len(sessions_of(db, F, P)) == 1


def test_sweep_flags_open_sessions_over_the_maximum_stay(db, demo) -> None:
    # An operator accepting events up to 10 days old (the default bound is the maximum stay).
    token = add_tenant(db, "patient-operator", "patient-p1", "Patient P1")
    db.collection("operators").document("patient-operator").update(
        {"lateEventBoundMinutes": 10 * 24 * 60}
    )
    long_ago = datetime.now(UTC) - timedelta(days=8)
    stale = send(token, "entry", long_ago, facility="patient-p1")
    fresh = send(
        token, "entry", datetime.now(UTC) - minutes(5), plate="XYZ-9", facility="patient-p1"
    )
    later = datetime.now(UTC)
    report = sessions_sweep.run(db, now=later)
    assert report.flagged == [stale["sessionId"]]
    session = db.collection("sessions").document(stale["sessionId"]).get().to_dict()
    assert session["status"] == "open" and session["reviewRequired"] is True
    assert session["flags"] == ["max_stay_exceeded"]
    other = db.collection("sessions").document(fresh["sessionId"]).get().to_dict()
    assert other["reviewRequired"] is False
    # Flagged once; a late real exit still closes the stay (flag kept, plus over_max_stay).
    assert sessions_sweep.run(db, now=later).flagged == []
    send(token, "exit", datetime.now(UTC) - minutes(1), facility="patient-p1")
    session = db.collection("sessions").document(stale["sessionId"]).get().to_dict()
    assert session["status"] == "closed"
    assert set(session["flags"]) == {"max_stay_exceeded", "over_max_stay"}


def test_an_event_older_than_the_bound_is_held_for_review_not_applied(db, demo) -> None:
    """An entry months ago followed by an exit now must not become a stay to charge."""
    far = datetime.now(UTC) - timedelta(days=120)
    held = send(demo.webhook_token, "entry", far)
    assert held["status"] == "review" and held["outcome"] == "held_for_review"
    assert held["sessionId"] is None
    assert sessions_of(db, F, P) == []
    stored = db.collection("events").document(held["eventId"]).get().to_dict()
    assert stored["status"] == "review" and stored["reviewReason"] == "older_than_bound"
    # A repeat is answered like the first delivery, still without a session.
    r = post(demo.webhook_token, body("entry", far))
    assert r.status_code == 200 and r.json()["status"] == "review"
    exit_now = send(demo.webhook_token, "exit", datetime.now(UTC) - minutes(1))
    assert exit_now["outcome"] == "exit_without_entry"
    [session] = sessions_of(db, F, P)
    assert session["status"] == "anomaly" and session["fee"] is None


def test_two_operators_two_facilities_same_plate_never_mix(db, demo) -> None:
    other = add_tenant(db, "other-operator", "other-p9", "Other P9")
    a = send(demo.webhook_token, "entry", T0)
    b = send(other, "entry", T0 + minutes(5), facility="other-p9")
    assert a["sessionId"] != b["sessionId"]
    closed_b = send(other, "exit", T0 + minutes(50), facility="other-p9")
    assert closed_b["sessionId"] == b["sessionId"]
    [ours] = sessions_of(db, F, P)
    [theirs] = sessions_of(db, "other-p9", P)
    assert ours["status"] == "open" and ours["operatorId"] == demo.operator_id
    assert theirs["status"] == "closed" and theirs["operatorId"] == "other-operator"
    # The same exit time at the same-named plate cannot be replayed across tenants.
    ours_exit = send(demo.webhook_token, "exit", T0 + minutes(50))
    assert ours_exit["outcome"] == "session_closed"
    assert ours_exit["eventId"] != closed_b["eventId"]
