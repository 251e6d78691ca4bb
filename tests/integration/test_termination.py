"""An operator's termination: the archive with its manifest, then removal of everything of
that operator on schedule, resumable, with progress and a proof; the other operator
untouched."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import archives, privacy, termination
from tests.integration.lifecycle_support import object_exists, put_object, triggers_paused
from tests.support.services import call_callable

SUPER = {"uid": "root", "role": "super_admin"}


def _seed(db, op: str) -> str:
    # Storage is not emptied between tests: start this operator's images from nothing.
    archives.delete_prefix(f"evidence/{op}/", limit=1000)
    image = put_object(f"evidence/{op}/{op}-f1/{op}-s1/entry.jpg", f"image of {op}".encode())
    t = datetime(2026, 1, 5, 10, tzinfo=UTC)
    docs = {
        f"operators/{op}": {"name": f"Operator {op}"},
        f"retentionPolicies/{op}": {"sessionsMonths": 24, "operatorId": op},
        f"facilities/{op}-f1": {"operatorId": op, "name": "P1"},
        f"credentials/{op}-token": {"operatorId": op, "kind": "webhook"},
        f"sessions/{op}-s1": {
            "operatorId": op,
            "plate": "ABC123",
            "status": "closed",
            "updatedAt": t,
            "evidence": [{"kind": "entry_image", "storagePath": image}],
        },
        f"sessions/{op}-s2": {"operatorId": op, "plate": "XYZ789", "status": "open"},
        f"events/{op}-e1": {"operatorId": op, "plate": "ABC123", "receivedAt": t},
        f"payments/{op}-p1": {"operatorId": op, "amount": 300, "status": "succeeded"},
        f"receipts/{op}-p1": {"operatorId": op, "number": 1},
        f"enforcementChecks/{op}-c1": {"operatorId": op, "plate": "ABC123", "at": t},
        f"tickets/{op}-t1": {"operatorId": op, "status": "open"},
        f"tickets/{op}-t1/messages/m1": {"text": f"hello from {op}"},
    }
    batch = db.batch()
    for path, data in docs.items():
        batch.set(db.document(path), data)
    batch.commit()
    return image


def _left(db, op: str) -> dict[str, int]:
    found = {}
    for entry in privacy.of_operator():
        if entry.tenant_field == "__id__":
            n = int(db.collection(entry.name).document(op).get().exists)
        else:
            query = db.collection(entry.name).where(
                filter=FieldFilter(entry.tenant_field, "==", op)
            )
            n = len(query.get())
        if n:
            found[entry.name] = n
    return found


def test_only_a_super_admin_terminates_and_must_confirm(db) -> None:
    db.document("operators/op-a").set({"name": "A"})
    data = {"operatorId": "op-a", "confirmOperatorId": "op-a"}
    staff = call_callable(
        "terminateOperator", data, uid="a", role="operator_admin", operatorId="op-a"
    )
    assert staff.json()["error"]["status"] == "PERMISSION_DENIED"
    wrong = call_callable("terminateOperator", {**data, "confirmOperatorId": "op-b"}, **SUPER)
    assert wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    missing = call_callable(
        "terminateOperator", {"operatorId": "x", "confirmOperatorId": "x"}, **SUPER
    )
    assert missing.json()["error"]["status"] == "NOT_FOUND"
    assert not db.document("operatorTerminations/op-a").get().exists


def test_termination_exports_everything_then_removes_only_that_operator(db) -> None:
    with triggers_paused():
        image_a = _seed(db, "op-a")
        image_b = _seed(db, "op-b")
        before_b = _left(db, "op-b")

        started = call_callable(
            "terminateOperator", {"operatorId": "op-a", "confirmOperatorId": "op-a"}, **SUPER
        )
        assert started.status_code == 200, started.text
        assert started.json()["result"]["status"] == "exporting"
        now = datetime.now(UTC)

        assert termination.advance(db, now=now) == {"op-a": "exported"}
        record = db.document("operatorTerminations/op-a").get().to_dict()
        assert record["deleteFrom"] <= record["dueBy"] - timedelta(days=7)

        # The archive: a link, every collection as JSON lines and CSV, the images, a manifest
        # whose checksums match, nothing of the other operator.
        again = call_callable(
            "terminateOperator", {"operatorId": "op-a", "confirmOperatorId": "op-a"}, **SUPER
        ).json()["result"]
        assert again["status"] == "exported"
        archive = requests.get(again["download"]["url"], timeout=30)
        assert archive.status_code == 200
        zf = zipfile.ZipFile(io.BytesIO(archive.content))
        manifest = json.loads(zf.read("manifest.json"))
        for item in manifest["files"]:
            assert hashlib.sha256(zf.read(item["file"])).hexdigest() == item["sha256"], item
        names = set(zf.namelist())
        for collection in ("sessions", "events", "payments", "receipts", "facilities"):
            assert {f"{collection}.jsonl", f"{collection}.csv"} <= names, collection
        assert "tickets__messages.jsonl" in names
        assert zf.read(archives.split_gs(image_a)[1]) == b"image of op-a"
        sessions = [json.loads(line) for line in zf.read("sessions.jsonl").splitlines()]
        assert sorted(s["id"] for s in sessions) == ["op-a-s1", "op-a-s2"]
        assert "op-a-s1" in zf.read("sessions.csv").decode()
        for name in names:
            assert b"op-b" not in zf.read(name), name

        # Nothing is removed inside the download window.
        assert termination.advance(db, now=now + timedelta(days=1)) == {"op-a": "exported"}
        assert _left(db, "op-a")["sessions"] == 2

        # Then removal, bounded per run, progress visible, resumed by the next run.
        later = now + timedelta(days=8)
        assert termination.advance(db, now=later, budget=4) == {"op-a": "deleting"}
        progress = db.document("operatorTerminations/op-a").get().get("progress")
        assert sum(progress.values()) == 4
        assert termination.advance(db, now=later, budget=100) == {"op-a": "completed"}

        assert _left(db, "op-a") == {}
        assert not object_exists(image_a)
        assert not db.document("tickets/op-a-t1/messages/m1").get().exists
        done = db.document("operatorTerminations/op-a").get().to_dict()
        assert done["status"] == "completed"
        proof = db.document(f"deletionProofs/{done['proofId']}").get().to_dict()
        assert proof["kind"] == "operator_termination"
        assert proof["counts"]["sessions"] == 2 and proof["counts"]["evidenceImages"] == 1
        assert "ABC123" not in json.dumps(proof, default=str)

        # The other operator is untouched.
        assert _left(db, "op-b") == before_b
        assert object_exists(image_b)
        assert db.document("tickets/op-b-t1/messages/m1").get().exists
        # Finished terminations are not run again.
        assert termination.advance(db, now=later) == {}


def _seed_every_collection(db, op: str) -> None:
    """One document of the operator in every collection the registry gives an operator, and a
    recorded push naming one of its stays."""
    batch = db.batch()
    for entry in privacy.of_operator():
        if entry.name in termination.KEPT:
            continue
        if entry.tenant_field == "__id__":
            batch.set(db.collection(entry.name).document(op), {"name": op})
        else:
            batch.set(
                db.collection(entry.name).document(f"{op}-{entry.name}"),
                {entry.tenant_field: op, "createdAt": datetime(2026, 1, 5, tzinfo=UTC)},
            )
    for entry in privacy.via_stays():
        field, _, sub = entry.session_field.partition(".")
        value = {sub: f"{op}-sessions"} if sub else f"{op}-sessions"
        batch.set(db.collection(entry.name).document(f"{op}-{entry.name}"), {field: value})
    batch.commit()


def _via_stays_left(db, op: str) -> list[str]:
    return [
        e.name
        for e in privacy.via_stays()
        if db.collection(e.name).document(f"{op}-{e.name}").get().exists
    ]


def test_termination_covers_every_registry_collection_and_ends_staff_access(db) -> None:
    from firebase_admin import auth

    from parkingdone.firebase import app

    staff = {
        "term-admin-a": {"role": "operator_admin", "operatorId": "op-a", "locale": "fi"},
        "term-staff-a": {"role": "operator_staff", "operatorId": "op-a"},
        "term-staff-b": {"role": "operator_staff", "operatorId": "op-b"},
    }
    for uid, claims in staff.items():
        auth.create_user(uid=uid, app=app())
        auth.set_custom_user_claims(uid, claims, app=app())
    with triggers_paused():
        for op in ("op-a", "op-b"):
            _seed_every_collection(db, op)
        before_b = _left(db, "op-b")
        assert set(before_b) == {e.name for e in privacy.of_operator()} - set(termination.KEPT)

        revoked_from = datetime.now(UTC).replace(microsecond=0)
        started = call_callable(
            "terminateOperator", {"operatorId": "op-a", "confirmOperatorId": "op-a"}, **SUPER
        )
        assert started.status_code == 200, started.text
        assert started.json()["result"]["staffRevoked"] == 2

        # Staff of the terminated operator lose their role (other claims stay) and every
        # refresh token; the other operator's staff keep theirs.
        admin_a = auth.get_user("term-admin-a", app=app())
        assert admin_a.custom_claims == {"locale": "fi"}
        assert auth.get_user("term-staff-a", app=app()).custom_claims in (None, {})
        for uid in ("term-admin-a", "term-staff-a"):
            after = auth.get_user(uid, app=app()).tokens_valid_after_timestamp / 1000
            assert after >= revoked_from.timestamp(), uid
        assert auth.get_user("term-staff-b", app=app()).custom_claims == staff["term-staff-b"]

        now = datetime.now(UTC)
        assert termination.advance(db, now=now) == {"op-a": "exported"}
        assert termination.advance(db, now=now + timedelta(days=8)) == {"op-a": "completed"}

        assert _left(db, "op-a") == {}
        assert _via_stays_left(db, "op-a") == []
        assert _left(db, "op-b") == before_b
        assert _via_stays_left(db, "op-b") == [e.name for e in privacy.via_stays()]
