"""The gpsEvent callable: geofence with accuracy, flapping debounce, same session logic."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.ingest_support import sessions_of
from tests.support.services import call_callable

pytestmark = pytest.mark.usefixtures("demo")
INSIDE = {"latitude": 60.1690, "longitude": 24.9320}
OUTSIDE = {"latitude": 60.1760, "longitude": 24.9320}  # ~670 m north


def gps(demo, action, at, where=INSIDE, accuracy=15.0, uid=None, **over):
    data = {
        "facilityId": demo.facility_id,
        "action": action,
        "accuracy": accuracy,
        "timestamp": at.isoformat(),
        "plate": "abc-123",
        **where,
        **over,
    }
    return call_callable("gpsEvent", data, uid=uid or demo.driver_uid)


def test_enter_and_exit_make_a_gps_session(db, demo) -> None:
    t = datetime.now(UTC) - timedelta(minutes=30)
    entered = gps(demo, "enter", t)
    assert entered.status_code == 200, entered.text
    assert entered.json()["result"]["outcome"] == "session_opened"
    left = gps(demo, "exit", t + timedelta(minutes=20), where=OUTSIDE)
    assert left.json()["result"]["outcome"] == "session_closed"
    [session] = sessions_of(db, demo.facility_id, "ABC123")
    assert session["source"] == "gps" and session["status"] == "closed"
    assert session["driverUid"] == demo.driver_uid
    event = db.collection("events").document(entered.json()["result"]["eventId"]).get()
    assert event.get("source") == "gps" and event.get("uid") == demo.driver_uid


def test_flapping_at_the_boundary_is_debounced(db, demo) -> None:
    t = datetime.now(UTC) - timedelta(minutes=30)
    gps(demo, "enter", t)
    flap = gps(demo, "exit", t + timedelta(seconds=20), where=OUTSIDE)
    assert flap.json()["result"]["outcome"] == "debounced"
    assert 39 <= flap.json()["result"]["retryAfterSeconds"] <= 40
    [session] = sessions_of(db, demo.facility_id, "ABC123")
    assert session["status"] == "open"
    # A real exit later closes; an enter 30 s after it is flapping, not a new stay.
    gps(demo, "exit", t + timedelta(minutes=10), where=OUTSIDE)
    again = gps(demo, "enter", t + timedelta(minutes=10, seconds=30))
    assert again.json()["result"]["outcome"] == "debounced"
    [session] = sessions_of(db, demo.facility_id, "ABC123")
    assert session["status"] == "closed"


def test_geofence_allows_for_accuracy(db, demo) -> None:
    t = datetime.now(UTC) - timedelta(minutes=5)
    near = {"latitude": 60.17018, "longitude": 24.9320}  # ~20 m outside the fence
    refused = gps(demo, "enter", t, where=near, accuracy=5)
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert gps(demo, "enter", t, where=near, accuracy=40).status_code == 200
    far = gps(demo, "enter", t + timedelta(minutes=1), where=OUTSIDE, accuracy=40)
    assert far.status_code == 400
    vague = gps(demo, "enter", t, accuracy=500)
    assert vague.status_code == 400 and "accuracy" in vague.json()["error"]["message"]


def test_only_the_plates_owner_may_report_it(db, demo) -> None:
    t = datetime.now(UTC) - timedelta(minutes=5)
    assert gps(demo, "enter", t, uid="someone-else").status_code == 403
    anonymous = call_callable("gpsEvent", {"facilityId": demo.facility_id}, uid=None)
    assert anonymous.status_code == 401
    bad = gps(demo, "enter", t, latitude=123.0)
    assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"
    unknown = gps(demo, "enter", t, facilityId="nowhere")
    assert unknown.status_code == 404
    assert sessions_of(db, demo.facility_id, "ABC123") == []
