"""GDPR: the driver's data export, the deletion request and the daily deletion job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from firebase_admin import auth
from google.api_core.exceptions import Aborted
from google.cloud import firestore
from stripe import InvalidRequestError

from parkingdone.accounts import gdpr
from parkingdone.callable_api import Caller
from parkingdone.firebase import app
from tests.support.services import call_callable, stripe_client

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
    # The previous test's triggers may still hold these documents in their transactions on
    # a loaded machine: the emulator then aborts the write, and a second try goes through.
    for attempt in range(3):
        batch = db.batch()
        for path, data in docs.items():
            batch.set(db.document(path), data)
        try:
            batch.commit()
            return
        except Aborted:
            if attempt == 2:
                raise


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


def test_the_export_is_complete_and_delivered_as_a_file_behind_a_link(db, monkeypatch) -> None:
    # Pages of two: what used to stop silently at a limit must now read every page.
    monkeypatch.setattr(gdpr, "PAGE", 2)
    batch = db.batch()
    for n in range(5):
        batch.set(
            db.document(f"sessions/more{n}"),
            {"operatorId": "op-a", "driverUid": "alice", "status": "closed", "plate": "ABC123"},
        )
    batch.set(
        db.document("events/gps1"),
        {"operatorId": "op-a", "uid": "alice", "location": firestore.GeoPoint(60.17, 24.93)},
    )
    batch.commit()

    result = gdpr.export(db, Caller(uid="alice"))

    assert len(result["sessions"]) == 6
    link = result["file"]
    assert link["url"] and link["expiresAt"] > datetime.now(UTC).isoformat()
    downloaded = requests.get(link["url"], timeout=30)
    assert downloaded.status_code == 200
    data = downloaded.json()
    assert sorted(s["id"] for s in data["sessions"]) == sorted(
        ["s1"] + [f"more{n}" for n in range(5)]
    )
    assert [e["id"] for e in data["events"]] == ["gps1"]
    assert data["events"][0]["location"] == {"latitude": 60.17, "longitude": 24.93}
    assert "bob" not in downloaded.text


def test_deletion_removes_the_stripe_customer_and_leaves_a_proof_naming_no_one(db) -> None:
    stripe = stripe_client()
    customer = stripe.v1.customers.create({"email": "alice@example.test"})
    db.document("users/alice").update({"stripeCustomerId": customer.id})
    db.document("events/gps1").set(
        {"operatorId": "op-a", "uid": "alice", "location": firestore.GeoPoint(60.17, 24.93)}
    )
    call_callable("requestDataDeletion", {}, uid="alice")

    assert gdpr.process_due_deletions(db)["completed"] == 1

    try:
        gone = stripe.v1.customers.retrieve(customer.id)
        assert gone.get("deleted") is True
    except InvalidRequestError:
        pass  # deleted customers are not found
    event = db.document("events/gps1").get().to_dict()
    assert event["uid"] is None and event["location"] is None
    request = db.document("gdprRequests/deletion-alice").get().to_dict()
    assert request["result"]["stripeCustomerDeleted"] == 1
    assert request["expireAt"] == request["completedAt"] + timedelta(days=30)
    proof = db.document(f"deletionProofs/{request['proofId']}").get().to_dict()
    assert proof["counts"]["sessionsUnlinked"] == 1
    text = repr(proof)
    for personal in ("alice", "ABC123", customer.id):
        assert personal not in text


def test_an_unpaid_debt_holds_the_deletion_and_the_driver_sees_why(db) -> None:
    db.document("payments/debt").set(
        {"operatorId": "op-a", "uid": "alice", "status": "failed", "amount": 900}
    )
    call_callable("requestDataDeletion", {}, uid="alice")

    past_deadline = datetime.now(UTC) + timedelta(days=31)
    assert gdpr.process_due_deletions(db, now=past_deadline)["deferred"] == 1
    assert db.document("users/alice").get().exists
    seen = call_callable("exportMyData", {}, uid="alice").json()["result"]
    request = next(r for r in seen["gdprRequests"] if r["id"] == "deletion-alice")
    assert request["deferredReason"] == "unpaid_debt"

    db.document("payments/debt").update({"status": "succeeded"})
    assert gdpr.process_due_deletions(db, now=past_deadline)["completed"] == 1
    assert not db.document("users/alice").get().exists
