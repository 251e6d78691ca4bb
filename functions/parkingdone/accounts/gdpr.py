"""GDPR: a driver downloads their data and asks for its deletion; a daily job deletes it.

We promise drivers deletion within 30 days of the request. A request is recorded at once in
gdprRequests/deletion-{uid} with dueBy = requestedAt + 30 days, and the daily job processes
every pending request on its next run. It waits only while the driver is still parked (the
stay must be settled first), and never past DEFER_UNTIL_BEFORE_DUE before the deadline.

What deletion does (each step can run again safely):
- deletes the profile with its vehicles and push tokens, the driver's plate registrations,
  support tickets and recorded pushes, and the Auth account;
- unlinks the driver from sessions, payments, receipts and passes (driverUid / uid set to
  None): those records are the operator's bookkeeping, kept as the law and the operator's
  retention require, and no longer point to a person.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any

from firebase_admin import auth
from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import firebase
from parkingdone.callable_api import Caller

GDPR_REQUESTS = "gdprRequests"
DELETION_DEADLINE = timedelta(days=30)
DEFER_UNTIL_BEFORE_DUE = timedelta(days=2)
EXPORT_LIMIT = 5000
BATCH_SIZE = 400

# Collections whose documents name the driver, and the field that does.
LINKED = {
    "sessions": "driverUid",
    "payments": "uid",
    "receipts": "uid",
    "passes": "uid",
}
OWNED = {"plateOwners": "uid", "tickets": "uid", "pushes": "uid"}


def jsonable(value: Any) -> Any:
    """Firestore values as JSON: timestamps in ISO 8601, references as paths."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, firestore.DocumentReference):
        return value.path
    if isinstance(value, firestore.GeoPoint):
        return {"latitude": value.latitude, "longitude": value.longitude}
    return value


def _docs(query: firestore.Query) -> list[dict[str, Any]]:
    return [{"id": d.id, **jsonable(d.to_dict())} for d in query.limit(EXPORT_LIMIT).stream()]


def _where(db: firestore.Client, collection: str, field: str, uid: str) -> firestore.Query:
    return db.collection(collection).where(filter=FieldFilter(field, "==", uid))


def export(db: firestore.Client, caller: Caller) -> dict[str, Any]:
    """Everything stored about the driver, as one JSON document."""
    uid = caller.uid
    user_ref = db.collection("users").document(uid)
    profile = user_ref.get()
    try:
        record = auth.get_user(uid, app=firebase.app())
        account = {
            "uid": uid,
            "email": record.email,
            "displayName": record.display_name,
            "createdAt": record.user_metadata.creation_timestamp,
            "lastSignInAt": record.user_metadata.last_sign_in_timestamp,
        }
    except auth.UserNotFoundError:
        account = {"uid": uid}
    tickets = []
    for ticket in _where(db, "tickets", "uid", uid).limit(EXPORT_LIMIT).stream():
        messages = _docs(ticket.reference.collection("messages"))
        tickets.append({"id": ticket.id, **jsonable(ticket.to_dict()), "messages": messages})
    now = datetime.now(UTC)
    data = {
        "exportedAt": now.isoformat(),
        "account": account,
        "profile": jsonable(profile.to_dict()) if profile.exists else None,
        "vehicles": _docs(user_ref.collection("vehicles")),
        # Tokens identify devices, not people; the export says which devices are registered.
        "pushTokens": [
            {"id": d.id, "platform": d.get("platform"), "updatedAt": jsonable(d.get("updatedAt"))}
            for d in user_ref.collection("pushTokens").stream()
        ],
        "plateRegistrations": _docs(_where(db, "plateOwners", "uid", uid)),
        "sessions": _docs(_where(db, "sessions", "driverUid", uid)),
        "payments": _docs(_where(db, "payments", "uid", uid)),
        "receipts": _docs(_where(db, "receipts", "uid", uid)),
        "passes": _docs(_where(db, "passes", "uid", uid)),
        "tickets": tickets,
        "gdprRequests": _docs(_where(db, GDPR_REQUESTS, "uid", uid)),
    }
    db.collection(GDPR_REQUESTS).add(
        {
            "uid": uid,
            "kind": "export",
            "status": "completed",
            "requestedAt": now,
            "completedAt": now,
        }
    )
    logger.info("gdpr.exported", uid=uid, sessions=len(data["sessions"]))
    return data


def request_deletion(db: firestore.Client, caller: Caller) -> dict[str, Any]:
    """Record the driver's deletion request (once; asking again returns the same request)."""
    ref = db.collection(GDPR_REQUESTS).document(f"deletion-{caller.uid}")
    now = datetime.now(UTC)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        if snapshot.exists and snapshot.get("status") in ("pending", "completed"):
            return snapshot.to_dict()
        record = {
            "uid": caller.uid,
            "kind": "deletion",
            "status": "pending",
            "requestedAt": now,
            "dueBy": now + DELETION_DEADLINE,
            "completedAt": None,
            "deferredReason": None,
            "result": None,
        }
        transaction.set(ref, record)
        return record

    record = run(db.transaction())
    logger.info("gdpr.deletion_requested", uid=caller.uid, status=record["status"])
    return {"requestId": ref.id, **jsonable(record)}


def _still_parked(db: firestore.Client, uid: str) -> bool:
    query = (
        _where(db, "sessions", "driverUid", uid)
        .where(filter=FieldFilter("status", "==", "open"))
        .limit(1)
    )
    return any(True for _ in query.stream())


def _in_batches(db: firestore.Client, query: firestore.Query, apply) -> int:
    """Apply `apply(batch, ref)` to every match, BATCH_SIZE writes at a time."""
    total = 0
    while True:
        refs = [d.reference for d in query.limit(BATCH_SIZE).stream()]
        if not refs:
            return total
        batch = db.batch()
        for ref in refs:
            apply(batch, ref)
        batch.commit()
        total += len(refs)
        if len(refs) < BATCH_SIZE:
            return total


def delete_driver_data(db: firestore.Client, uid: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for collection, field in LINKED.items():
        counts[f"{collection}Unlinked"] = _in_batches(
            db, _where(db, collection, field, uid), lambda b, r, f=field: b.update(r, {f: None})
        )
    for collection, field in OWNED.items():
        deleted = 0
        for doc in _where(db, collection, field, uid).stream():
            db.recursive_delete(doc.reference)
            deleted += 1
        counts[f"{collection}Deleted"] = deleted
    counts["userDocumentsDeleted"] = db.recursive_delete(db.collection("users").document(uid))
    try:
        auth.delete_user(uid, app=firebase.app())
        counts["authAccountDeleted"] = 1
    except auth.UserNotFoundError:
        counts["authAccountDeleted"] = 0
    return counts


def process_due_deletions(
    db: firestore.Client, now: datetime | None = None, limit: int = 100
) -> dict[str, int]:
    """The scheduled job: carry out pending deletion requests. Safe to run at any time."""
    now = now or datetime.now(UTC)
    pending = (
        db.collection(GDPR_REQUESTS)
        .where(filter=FieldFilter("kind", "==", "deletion"))
        .where(filter=FieldFilter("status", "==", "pending"))
        .limit(limit)
    )
    summary = {"completed": 0, "deferred": 0, "failed": 0}
    for request in pending.stream():
        uid = request.get("uid")
        due_by = request.get("dueBy")
        if _still_parked(db, uid) and now < due_by - DEFER_UNTIL_BEFORE_DUE:
            request.reference.update({"deferredReason": "open_session", "checkedAt": now})
            summary["deferred"] += 1
            continue
        try:
            counts = delete_driver_data(db, uid)
        except Exception as exc:  # the request stays pending; the next run tries again
            logger.error("gdpr.deletion_failed", request_id=request.id, error=repr(exc))
            request.reference.update({"lastError": type(exc).__name__, "checkedAt": now})
            summary["failed"] += 1
            continue
        request.reference.update(
            {"status": "completed", "completedAt": now, "result": counts, "deferredReason": None}
        )
        logger.info("gdpr.deletion_completed", request_id=request.id, **counts)
        summary["completed"] += 1
    logger.info("gdpr.deletion_run", **summary)
    return summary
