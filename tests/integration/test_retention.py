"""The retention sweep with an injected clock: past each limit gone or anonymised, inside it
kept, open business kept, other operators untouched, bounded and resumable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import retention
from parkingdone.jobs import retention as sweep
from tests.integration.lifecycle_support import (
    months_ago,
    object_exists,
    put_object,
    triggers_paused,
)
from tests.support.services import call_callable

NOW = datetime(2030, 6, 15, 12, tzinfo=UTC)


def _stay(operator: str, ended: datetime, status: str = "closed", **extra) -> dict:
    return {
        "operatorId": operator,
        "facilityId": f"{operator}-f1",
        "plate": "ABC123",
        "driverUid": "alice",
        "status": status,
        "entry": {"at": ended - timedelta(hours=2), "eventId": None},
        "exit": {"at": ended, "eventId": None} if status != "open" else None,
        "updatedAt": ended,
        **extra,
    }


def _image(operator: str, session_id: str) -> list[dict]:
    path = put_object(f"evidence/{operator}/{operator}-f1/{session_id}/entry.jpg")
    return [{"kind": "entry_image", "status": "stored", "storagePath": path, "eventId": "e"}]


@pytest.fixture
def seeded(db):
    with triggers_paused():
        old, between, recent = months_ago(NOW, 25), months_ago(NOW, 20), months_ago(NOW, 1)
        docs = {
            "operators/op-a": {"name": "A"},
            "operators/op-b": {"name": "B"},
            # op-b keeps stays and images 36 months and its books 10 years.
            "retentionPolicies/op-b": retention.RetentionPolicy(
                sessions_months=36, images_months=36, accounting_years=10
            ).to_doc(),
            "sessions/a-old": {
                **_stay("op-a", old),
                "entry": {"at": old - timedelta(hours=2), "eventId": "ev-a1"},
                "exit": {"at": old, "eventId": "ev-a2"},
                "payment": {"status": "succeeded", "attempt": 1},
                "evidence": _image("op-a", "a-old"),
            },
            "events/ev-a1": {"operatorId": "op-a", "receivedAt": old, "sessionId": "a-old"},
            "events/ev-a2": {"operatorId": "op-a", "receivedAt": old, "sessionId": "a-old"},
            "events/ev-dup": {"operatorId": "op-a", "receivedAt": old, "sessionId": None},
            "events/ev-new": {"operatorId": "op-a", "receivedAt": recent, "sessionId": None},
            "payments/s_a-old_1": {
                "operatorId": "op-a",
                "uid": "alice",
                "plate": "ABC123",
                "status": "succeeded",
                "amount": 300,
                "createdAt": old,
            },
            "receipts/s_a-old_1": {"operatorId": "op-a", "uid": "alice", "plate": "ABC123"},
            "sessions/a-between": {**_stay("op-a", between), "evidence": _image("op-a", "a-b")},
            "sessions/a-new": {**_stay("op-a", recent), "evidence": _image("op-a", "a-new")},
            "sessions/a-open": _stay("op-a", months_ago(NOW, 30), status="open"),
            "sessions/a-unpaid": {
                **_stay("op-a", months_ago(NOW, 30)),
                "payment": {"status": "to_invoice", "attempt": 1},
                "evidence": _image("op-a", "a-unpaid"),
            },
            "sessions/a-disputed": {
                **_stay("op-a", months_ago(NOW, 30)),
                "payment": {"status": "succeeded"},
            },
            "disputes/d1": {"operatorId": "op-a", "sessionId": "a-disputed", "status": "open"},
            "sessions/b-old": {
                **_stay("op-b", months_ago(NOW, 30)),
                "evidence": _image("op-b", "b"),
            },
            # The ledger: 2023's books may go in mid-2030, 2024's not yet.
            "payments/pay-2023": {
                "operatorId": "op-a",
                "status": "succeeded",
                "createdAt": datetime(2023, 5, 1, tzinfo=UTC),
            },
            "receipts/pay-2023": {"operatorId": "op-a", "number": 1},
            "payments/pay-2023-unpaid": {
                "operatorId": "op-a",
                "status": "failed",
                "createdAt": datetime(2023, 5, 1, tzinfo=UTC),
            },
            "payments/pay-2024": {
                "operatorId": "op-a",
                "status": "succeeded",
                "createdAt": datetime(2024, 2, 1, tzinfo=UTC),
            },
            "payments/pay-b-2023": {
                "operatorId": "op-b",
                "status": "succeeded",
                "createdAt": datetime(2023, 5, 1, tzinfo=UTC),
            },
            "enforcementChecks/c-old": {"operatorId": "op-a", "at": old, "plate": "ABC123"},
            "enforcementChecks/c-new": {"operatorId": "op-a", "at": recent, "plate": "ABC123"},
            "tickets/t-closed": {"operatorId": "op-a", "status": "closed", "closedAt": old},
            "tickets/t-closed/messages/m1": {"text": "thanks"},
            "tickets/t-open": {"operatorId": "op-a", "status": "open", "closedAt": None},
            "gdprRequests/done": {
                "uid": "x",
                "status": "completed",
                "expireAt": NOW - timedelta(1),
            },
            "gdprRequests/live": {
                "uid": "y",
                "status": "completed",
                "expireAt": NOW + timedelta(1),
            },
            "pushes/old": {"uid": "alice", "createdAt": NOW - timedelta(days=100)},
            "pushes/new": {"uid": "alice", "createdAt": NOW - timedelta(days=10)},
            "whitelistSnapshots/w": {"operatorId": "op-a", "expiresAt": NOW - timedelta(1)},
        }
        batch = db.batch()
        for path, data in docs.items():
            batch.set(db.document(path), data)
        batch.commit()
        yield db


def _exists(db, path: str) -> bool:
    return db.document(path).get().exists


def test_the_sweep_removes_what_is_past_each_limit_and_keeps_the_rest(seeded) -> None:
    db = seeded
    images = {
        sid: db.document(f"sessions/{sid}").get().get("evidence")[0]["storagePath"]
        for sid in ("a-old", "a-between", "a-new", "a-unpaid", "b-old")
    }

    counts = sweep.run(db, now=NOW)

    # Stays past 24 months: gone with their events and image; the ledger anonymised.
    for path in ("sessions/a-old", "events/ev-a1", "events/ev-a2", "events/ev-dup"):
        assert not _exists(db, path), path
    assert not object_exists(images["a-old"])
    payment = db.document("payments/s_a-old_1").get().to_dict()
    assert payment["uid"] is None and payment["plate"] is None and payment["amount"] == 300
    receipt = db.document("receipts/s_a-old_1").get().to_dict()
    assert receipt["uid"] is None and receipt["plate"] is None
    # Between 18 and 24 months: the stay is kept, its image removed and marked expired.
    between = db.document("sessions/a-between").get().to_dict()
    assert between["evidence"][0]["status"] == "expired"
    assert between["evidence"][0]["storagePath"] is None
    assert not object_exists(images["a-between"])
    # Inside every limit, and open business: kept whole.
    for sid in ("a-new", "a-open", "a-unpaid", "a-disputed"):
        assert _exists(db, f"sessions/{sid}"), sid
    assert object_exists(images["a-new"]) and object_exists(images["a-unpaid"])
    assert _exists(db, "events/ev-new")
    # The ledger: past the accounting limit deleted unless unpaid.
    assert not _exists(db, "payments/pay-2023") and not _exists(db, "receipts/pay-2023")
    assert _exists(db, "payments/pay-2023-unpaid") and _exists(db, "payments/pay-2024")
    # Check logs with the stays; closed tickets past 24 months with their messages.
    assert not _exists(db, "enforcementChecks/c-old") and _exists(db, "enforcementChecks/c-new")
    assert not _exists(db, "tickets/t-closed") and not _exists(db, "tickets/t-closed/messages/m1")
    assert _exists(db, "tickets/t-open")
    # TTL and age rules: what Firestore's TTL does in production, done here too.
    assert not _exists(db, "gdprRequests/done") and _exists(db, "gdprRequests/live")
    assert not _exists(db, "pushes/old") and _exists(db, "pushes/new")
    assert not _exists(db, "whitelistSnapshots/w")
    # The other operator's longer policy protects its data.
    assert _exists(db, "sessions/b-old") and object_exists(images["b-old"])
    assert _exists(db, "payments/pay-b-2023")

    assert counts["sessionsDeleted"] == 1
    assert counts["sessionsKept_open_stay"] == 1
    assert counts["sessionsKept_unpaid"] == 1
    assert counts["sessionsKept_open_dispute"] == 1
    assert counts["imagesDeleted"] == 2
    assert counts["paymentsAnonymised"] == 1 and counts["paymentsDeleted"] == 1

    # Idempotent: a second run finds nothing more to remove.
    again = sweep.run(db, now=NOW)
    assert not any(k.endswith(("Deleted", "Anonymised", "Expired")) and v for k, v in again.items())


def test_the_sweep_is_bounded_per_run_and_resumes(db) -> None:
    with triggers_paused():
        db.document("operators/op-a").set({"name": "A"})
        batch = db.batch()
        for n in range(5):
            batch.set(db.document(f"sessions/s{n}"), _stay("op-a", months_ago(NOW, 30)))
        batch.commit()

        first = sweep.run(db, now=NOW, budget=3)
        left = db.collection("sessions").where(filter=FieldFilter("operatorId", "==", "op-a"))
        assert first["sessionsDeleted"] == 3 and len(left.get()) == 2
        assert sweep.run(db, now=NOW, budget=3)["sessionsDeleted"] == 2
        assert left.get() == []


def test_super_admins_change_the_policy_within_bounds_and_operator_admins_read_it(db) -> None:
    db.document("operators/op-a").set({"name": "A"})
    admin = {"uid": "adm", "role": "operator_admin", "operatorId": "op-a"}
    read = call_callable("retentionPolicy", {"operatorId": "op-a"}, **admin)
    assert read.status_code == 200, read.text
    assert read.json()["result"]["policy"]["sessionsMonths"] == 24
    assert read.json()["result"]["bounds"]["accountingYears"] == {"min": 6, "max": 10}

    change = {"operatorId": "op-a", "policy": {"sessionsMonths": 30}}
    denied = call_callable("retentionPolicy", change, **admin)
    assert denied.json()["error"]["status"] == "PERMISSION_DENIED"
    other = call_callable(
        "retentionPolicy", {"operatorId": "op-a"}, uid="x", role="operator_admin", operatorId="b"
    )
    assert other.json()["error"]["status"] == "PERMISSION_DENIED"

    saved = call_callable("retentionPolicy", change, uid="root", role="super_admin")
    assert saved.json()["result"]["policy"]["sessionsMonths"] == 30
    assert retention.load(db, "op-a").sessions_months == 30
    bad = {"operatorId": "op-a", "policy": {"accountingYears": 3}}
    refused = call_callable("retentionPolicy", bad, uid="root", role="super_admin")
    assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "accountingYears" in refused.json()["error"]["message"]
    assert retention.load(db, "op-a").accounting_years == 6


def test_passes_lose_plate_and_driver_with_the_stays_and_check_logs_follow_the_policy(db) -> None:
    """A pass ended past the stays' limit keeps its record (and its charge) for accounting but
    no plate or driver; enforcement check logs live exactly as long as the operator's stays."""
    with triggers_paused():
        docs = {
            "operators/op-a": {"name": "A"},
            "operators/op-b": {"name": "B"},
            # op-b keeps stays 30 months, op-a the default 24.
            "retentionPolicies/op-b": retention.RetentionPolicy(sessions_months=30).to_doc(),
        }
        for op in ("op-a", "op-b"):
            for name, months, status in (("old", 27, "expired"), ("new", 3, "active")):
                pid = f"{op}-pass-{name}"
                docs[f"passes/{pid}"] = {
                    "operatorId": op,
                    "uid": "alice",
                    "plate": "ABC123",
                    "status": status,
                    "validUntil": months_ago(NOW, months),
                    "createdAt": months_ago(NOW, months + 1),
                    "paymentId": f"pay-{pid}",
                }
                docs[f"payments/pay-{pid}"] = {
                    "operatorId": op,
                    "uid": "alice",
                    "plate": "ABC123",
                    "customerId": "cus_1",
                    "status": "succeeded",
                    "amount": 4000,
                    "createdAt": months_ago(NOW, months + 1),
                }
                docs[f"receipts/pay-{pid}"] = {"operatorId": op, "uid": "alice", "plate": "ABC123"}
            # Check logs at 27 months: past op-a's 24, inside op-b's 30, whatever expiresAt says.
            docs[f"enforcementChecks/{op}-c27"] = {
                "operatorId": op,
                "at": months_ago(NOW, 27),
                "plate": "ABC123",
                "expiresAt": NOW + timedelta(days=365),
            }
        docs["passes/op-a-pass-pending"] = {
            **docs["passes/op-a-pass-old"],
            "status": "pending",
            "validUntil": months_ago(NOW, 26),
            "paymentId": None,
        }
        batch = db.batch()
        for path, data in docs.items():
            batch.set(db.document(path), data)
        batch.commit()

        counts = sweep.run(db, now=NOW)

    def doc(path: str) -> dict:
        return db.document(path).get().to_dict()

    old_a = doc("passes/op-a-pass-old")
    assert old_a["plate"] is None and old_a["uid"] is None and old_a["anonymisedAt"] == NOW
    assert old_a["validUntil"] == months_ago(NOW, 27)  # the record stays for accounting
    payment = doc("payments/pay-op-a-pass-old")
    assert payment["plate"] is None and payment["uid"] is None and payment["customerId"] is None
    assert payment["amount"] == 4000
    assert doc("receipts/pay-op-a-pass-old")["plate"] is None
    # Inside the limit, another operator's longer policy, a pass still being paid: untouched.
    for path in (
        "passes/op-a-pass-new",
        "passes/op-b-pass-old",
        "payments/pay-op-b-pass-old",
        "passes/op-a-pass-pending",
    ):
        assert doc(path)["plate"] == "ABC123", path
    assert counts["passesAnonymised"] == 1 and counts["passesKept_pending"] == 1

    assert not db.document("enforcementChecks/op-a-c27").get().exists
    assert db.document("enforcementChecks/op-b-c27").get().exists

    # Idempotent, and a pass once unlinked is not read again (the cursor moved past it).
    again = sweep.run(db, now=NOW)
    assert not again.get("passesAnonymised")
    state = doc("retentionState/op-a")["passesCursor"]
    assert state["id"] == "op-a-pass-old"
