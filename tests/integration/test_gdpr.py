"""GDPR: the driver's data export, the deletion request and the daily deletion job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from firebase_admin import auth

from parkingdone.accounts import gdpr
from parkingdone.firebase import app
from tests.support.services import call_callable

T = datetime(2026, 3, 30, 14, 23, tzinfo=UTC)


@pytest.fixture(autouse=True)
def two_drivers(db) -> None:
    for uid in ("alice", "bob"):
        auth.create_user(uid=uid, email=f"{uid}@example.test", app=app())
    docs = {
        "users/alice": {"email": "alice@example.test", "language": "fi", "createdAt": T},
        "users/alice/vehicles/ABC123": {"plate": "ABC123", "addedAt": T},
        "users/alice/pushTokens/t1": {"token": "tok-a", "platform": "ios", "updatedAt": T},
        "plateOwners/ABC123": {"uid": "alice", "plate": "ABC123", "since": T},
        "sessions/s1": {
            "operatorId": "op-a",
            "driverUid": "alice",
            "status": "closed",
            "plate": "ABC123",
            "entry": {"at": T},
        },
        "payments/p1": {"operatorId": "op-a", "uid": "alice", "amount": 300, "currency": "EUR"},
        "receipts/r1": {"operatorId": "op-a", "uid": "alice", "number": "R-1"},
        "passes/pass1": {"operatorId": "op-a", "uid": "alice", "status": "active"},
        "tickets/tk1": {"operatorId": "op-a", "uid": "alice", "subject": "Wrong fee"},
        "tickets/tk1/messages/m1": {"from": "alice", "text": "Please check"},
        "pushes/s1__entry": {"uid": "alice", "kind": "entry"},
        "users/bob": {"email": "bob@example.test", "createdAt": T},
        "plateOwners/XYZ789": {"uid": "bob", "plate": "XYZ789", "since": T},
        "sessions/s2": {"operatorId": "op-a", "driverUid": "bob", "status": "closed"},
        "payments/p2": {"operatorId": "op-a", "uid": "bob", "amount": 600, "currency": "EUR"},
    }
    batch = db.batch()
    for path, data in docs.items():
        batch.set(db.document(path), data)
    batch.commit()


def test_export_holds_the_drivers_data_and_nobody_elses(db) -> None:
    response = call_callable("exportMyData", {}, uid="alice")
    assert response.status_code == 200, response.text
    data = response.json()["result"]
    assert data["account"]["email"] == "alice@example.test"
    assert data["profile"]["language"] == "fi"
    assert data["profile"]["createdAt"] == T.isoformat()
    assert [v["id"] for v in data["vehicles"]] == ["ABC123"]
    assert data["pushTokens"] == [{"id": "t1", "platform": "ios", "updatedAt": T.isoformat()}]
    assert [p["id"] for p in data["plateRegistrations"]] == ["ABC123"]
    assert [s["id"] for s in data["sessions"]] == ["s1"]
    assert [p["id"] for p in data["payments"]] == ["p1"]
    assert [r["id"] for r in data["receipts"]] == ["r1"]
    assert [p["id"] for p in data["passes"]] == ["pass1"]
    assert data["tickets"][0]["messages"][0]["text"] == "Please check"
    assert "bob" not in response.text
    exports = [d.to_dict() for d in db.collection("gdprRequests").stream()]
    assert [(e["uid"], e["kind"], e["status"]) for e in exports] == [
        ("alice", "export", "completed")
    ]


def test_deletion_request_is_recorded_once_with_a_30_day_deadline(db) -> None:
    before = datetime.now(UTC)
    first = call_callable("requestDataDeletion", {}, uid="alice").json()["result"]
    second = call_callable("requestDataDeletion", {}, uid="alice").json()["result"]
    assert first["requestId"] == second["requestId"] == "deletion-alice"
    assert first["status"] == "pending"
    stored = db.document("gdprRequests/deletion-alice").get().to_dict()
    assert stored["uid"] == "alice" and stored["kind"] == "deletion"
    deadline = stored["dueBy"] - stored["requestedAt"]
    assert deadline == timedelta(days=30)
    assert stored["requestedAt"] >= before - timedelta(seconds=1)
    # Nothing is deleted until the job runs.
    assert db.document("users/alice").get().exists


def test_signed_out_callers_cannot_export_or_ask_for_deletion() -> None:
    for name in ("exportMyData", "requestDataDeletion"):
        assert call_callable(name, {}).json()["error"]["status"] == "UNAUTHENTICATED"


def test_the_job_deletes_the_drivers_data_and_unlinks_the_bookkeeping(db) -> None:
    call_callable("requestDataDeletion", {}, uid="alice")

    summary = gdpr.process_due_deletions(db)

    assert summary == {"completed": 1, "deferred": 0, "failed": 0}
    for path in (
        "users/alice",
        "users/alice/vehicles/ABC123",
        "users/alice/pushTokens/t1",
        "plateOwners/ABC123",
        "tickets/tk1",
        "tickets/tk1/messages/m1",
        "pushes/s1__entry",
    ):
        assert not db.document(path).get().exists, path
    # Money and stays stay with the operator, no longer pointing at the person.
    assert db.document("sessions/s1").get().to_dict()["driverUid"] is None
    assert db.document("sessions/s1").get().get("plate") == "ABC123"
    for path in ("payments/p1", "receipts/r1", "passes/pass1"):
        assert db.document(path).get().get("uid") is None, path
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user("alice", app=app())
    request = db.document("gdprRequests/deletion-alice").get().to_dict()
    assert request["status"] == "completed"
    assert request["result"]["sessionsUnlinked"] == 1
    assert request["result"]["authAccountDeleted"] == 1
    # The other driver is untouched.
    assert db.document("users/bob").get().exists
    assert db.document("plateOwners/XYZ789").get().get("uid") == "bob"
    assert db.document("sessions/s2").get().get("driverUid") == "bob"
    assert db.document("payments/p2").get().get("uid") == "bob"
    assert auth.get_user("bob", app=app()).email == "bob@example.test"
    # Running again finds nothing to do.
    assert gdpr.process_due_deletions(db) == {"completed": 0, "deferred": 0, "failed": 0}


def test_a_driver_still_parked_is_deleted_after_the_stay_but_never_past_the_deadline(db) -> None:
    db.document("sessions/s-open").set(
        {"operatorId": "op-a", "driverUid": "alice", "status": "open"}
    )
    call_callable("requestDataDeletion", {}, uid="alice")

    assert gdpr.process_due_deletions(db)["deferred"] == 1
    assert db.document("users/alice").get().exists
    assert db.document("gdprRequests/deletion-alice").get().get("deferredReason") == "open_session"

    near_deadline = datetime.now(UTC) + timedelta(days=29)
    assert gdpr.process_due_deletions(db, now=near_deadline)["completed"] == 1
    assert not db.document("users/alice").get().exists
    assert db.document("sessions/s-open").get().get("driverUid") is None
