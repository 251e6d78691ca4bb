"""GDPR: a driver downloads their data and asks for its deletion; a daily job deletes it.

Both read the one registry of personal data (parkingdone/privacy.py): the export lists every
document that names the driver, in every collection the registry links to a driver, with no
limit; the deletion acts on the same documents as the registry says (delete or anonymise).

The export is written as one JSON file to Cloud Storage (`exports/drivers/{uid}/...`) behind
a link valid for an hour (the file itself is removed by the retention sweep after 7 days);
a small export is also returned inline, as the app has always received it.

We promise drivers deletion within 30 days of the request. A request is recorded at once in
gdprRequests/deletion-{uid} with dueBy = requestedAt + 30 days, and the daily job processes
every pending request on its next run. It waits only while something must be settled, and
says why in `deferredReason` (the driver reads the request):
- open_session: the driver is still parked (never past DEFER_UNTIL_BEFORE_DUE before the
  deadline);
- open_dispute / unpaid_debt: an open dispute or an unpaid payment of the driver's; the
  operator's legal claim allows waiting until it is settled (GDPR art. 17(3)(e)).

What deletion does (each step can run again safely):
- deletes the Stripe customer with its saved cards, the driver's export files in Storage;
- deletes the profile with its vehicles and push tokens, the driver's plate registrations,
  support tickets, recorded pushes and export records, and the Auth account;
- anonymises sessions, inbox events (GPS position), payments, receipts, passes and
  disputes: those records are the operator's bookkeeping, kept as the law and the
  operator's retention require, and no longer point to a person;
- writes a proof, deletionProofs/{id}: when, and how many of what was removed — no uid, no
  plate. The request record (which names the uid) expires 30 days after completion.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from firebase_admin import auth
from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import archives, firebase, privacy
from parkingdone.callable_api import Caller
from parkingdone.models import events, push_tokens, users, vehicles
from parkingdone.models.deletion_proofs import COLLECTION as PROOFS
from parkingdone.models.gdpr_requests import COLLECTION as GDPR_REQUESTS

DELETION_DEADLINE = timedelta(days=30)
DEFER_UNTIL_BEFORE_DUE = timedelta(days=2)
REQUEST_KEPT_AFTER_COMPLETION = timedelta(days=30)
PAGE = 500
BATCH_SIZE = 400
# Exports up to this size are also returned inline by the callable.
INLINE_LIMIT = 1_000_000
UNPAID = frozenset(
    {
        "pending",
        "requires_action",
        "failed",
        "to_invoice",
        "invoiced",
        "review_required",
        "dead_letter",
    }
)
# The export's section for a collection, where its name is not the collection's.
SECTIONS = {"plateOwners": "plateRegistrations"}


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


def _all(query: firestore.Query) -> list[firestore.DocumentSnapshot]:
    """Every match of `query`, page by page: no silent limit."""
    found: list[firestore.DocumentSnapshot] = []
    last = None
    while True:
        page_query = query.order_by("__name__").limit(PAGE)
        if last is not None:
            page_query = page_query.start_after(last)
        page = list(page_query.stream())
        found.extend(page)
        if len(page) < PAGE:
            return found
        last = page[-1]


def _plain(snapshot: firestore.DocumentSnapshot) -> dict[str, Any]:
    return {"id": snapshot.id, **jsonable(snapshot.to_dict())}


def _where(db: firestore.Client, collection: str, field: str, uid: str) -> firestore.Query:
    return db.collection(collection).where(filter=FieldFilter(field, "==", uid))


def _matches(db: firestore.Client, entry: privacy.Collection, uid: str):
    """The driver's documents of a registry collection, each once."""
    seen: set[str] = set()
    for field in entry.driver_fields:
        for snapshot in _all(_where(db, entry.name, field, uid)):
            if snapshot.id not in seen:
                seen.add(snapshot.id)
                yield snapshot


def _account(uid: str) -> dict[str, Any]:
    try:
        record = auth.get_user(uid, app=firebase.app())
    except auth.UserNotFoundError:
        return {"uid": uid}
    return {
        "uid": uid,
        "email": record.email,
        "displayName": record.display_name,
        "createdAt": record.user_metadata.creation_timestamp,
        "lastSignInAt": record.user_metadata.last_sign_in_timestamp,
    }


def collect(db: firestore.Client, uid: str, now: datetime) -> dict[str, Any]:
    """Everything stored about the driver, section by section, as JSON values."""
    user_ref = users.ref(db, uid)
    profile = user_ref.get()
    data: dict[str, Any] = {
        "exportedAt": now.isoformat(),
        "account": _account(uid),
        "profile": jsonable(profile.to_dict()) if profile.exists else None,
        "vehicles": [_plain(d) for d in _all(vehicles.of_user(db, uid))],
        # Tokens identify devices, not people; the export says which devices are registered.
        "pushTokens": [
            {"id": d.id, "platform": d.get("platform"), "updatedAt": jsonable(d.get("updatedAt"))}
            for d in _all(push_tokens.of_user(db, uid))
        ],
    }
    for entry in privacy.linked_to_driver():
        items = []
        for snapshot in _matches(db, entry, uid):
            item = _plain(snapshot)
            for sub in entry.subcollections:
                item[sub] = [_plain(d) for d in _all(snapshot.reference.collection(sub))]
            items.append(item)
        data[SECTIONS.get(entry.name, entry.name)] = items
    # The camera events of the driver's stays (GPS events already matched by uid).
    known = {e["id"] for e in data.get("events", [])}
    event_ids = (
        {
            (s.get(mark) or {}).get("eventId")
            for s in data.get("sessions", [])
            for mark in ("entry", "exit")
        }
        - known
        - {None}
    )
    refs = [db.collection(events.COLLECTION).document(i) for i in sorted(event_ids)]
    for snapshot in db.get_all(refs) if refs else []:
        if snapshot.exists:
            data.setdefault("events", []).append(_plain(snapshot))
    return data


def export(db: firestore.Client, caller: Caller) -> dict[str, Any]:
    """Everything stored about the driver: a JSON file in Storage behind a short-lived link,
    and inline too when it is small."""
    uid = caller.uid
    now = datetime.now(UTC)
    data = collect(db, uid, now)
    body = json.dumps(data, ensure_ascii=False, indent=1, default=str).encode()
    name = f"{archives.EXPORTS_PREFIX}drivers/{uid}/{now:%Y%m%dT%H%M%S%fZ}.json"
    archives.bucket().blob(name).upload_from_string(
        body, content_type="application/json", timeout=60
    )
    link = archives.download_link(name, now)
    db.collection(GDPR_REQUESTS).add(
        {
            "uid": uid,
            "kind": "export",
            "status": "completed",
            "requestedAt": now,
            "completedAt": now,
            "bytes": len(body),
            "expireAt": now + REQUEST_KEPT_AFTER_COMPLETION,
        }
    )
    counts = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    logger.info("gdpr.exported", uid=uid, bytes=len(body), **counts)
    result = {"file": {**jsonable(link), "bytes": len(body)}}
    if len(body) <= INLINE_LIMIT:
        result |= data
    return result


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


def _has(query: firestore.Query) -> bool:
    return any(True for _ in query.limit(1).stream())


def holds(db: firestore.Client, uid: str) -> list[str]:
    """What must be settled before the driver's data can go (empty: nothing)."""
    reasons = []
    if _has(
        _where(db, "sessions", "driverUid", uid).where(filter=FieldFilter("status", "==", "open"))
    ):
        reasons.append("open_session")
    if _has(_where(db, "disputes", "uid", uid).where(filter=FieldFilter("status", "==", "open"))):
        reasons.append("open_dispute")
    unpaid = _where(db, "payments", "uid", uid).where(
        filter=FieldFilter("status", "in", sorted(UNPAID))
    )
    if _has(unpaid):
        reasons.append("unpaid_debt")
    return reasons


def _in_batches(db: firestore.Client, snapshots, apply) -> int:
    """Apply `apply(batch, ref)` to every snapshot, BATCH_SIZE writes at a time."""
    total = 0
    batch = db.batch()
    pending = 0
    for snapshot in snapshots:
        apply(batch, snapshot.reference)
        pending += 1
        total += 1
        if pending == BATCH_SIZE:
            batch.commit()
            batch, pending = db.batch(), 0
    if pending:
        batch.commit()
    return total


def _delete_stripe_customer(db: firestore.Client, uid: str) -> int:
    profile = users.ref(db, uid).get()
    customer_id = (profile.to_dict() or {}).get("stripeCustomerId") if profile.exists else None
    if not customer_id:
        return 0
    from parkingdone.payments.registry import get_provider

    get_provider().delete_customer(customer_id)
    return 1


def delete_driver_data(
    db: firestore.Client, uid: str, keep_request: str | None = None
) -> dict[str, int]:
    """Remove the driver as the registry says; counts of what was done. Safe to repeat."""
    counts: dict[str, int] = {"stripeCustomerDeleted": _delete_stripe_customer(db, uid)}
    counts["exportFilesDeleted"] = archives.delete_prefix(
        f"{archives.EXPORTS_PREFIX}drivers/{uid}/", limit=10_000
    )
    for entry in privacy.linked_to_driver():
        matches = [s for s in _matches(db, entry, uid) if s.id != keep_request]
        if entry.on_deletion == "anonymise":
            cleared = {f: None for f in (*entry.driver_fields, *entry.personal_fields)}
            counts[f"{entry.name}Unlinked"] = _in_batches(
                db, matches, lambda b, r, c=cleared: b.update(r, c)
            )
        elif entry.on_deletion == "delete":
            for snapshot in matches:
                db.recursive_delete(snapshot.reference)
            counts[f"{entry.name}Deleted"] = len(matches)
    counts["userDocumentsDeleted"] = db.recursive_delete(users.ref(db, uid))
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
        reasons = holds(db, uid)
        if "open_session" in reasons and now >= due_by - DEFER_UNTIL_BEFORE_DUE:
            reasons.remove("open_session")  # the deadline wins over a stay still running
        if reasons:
            request.reference.update(
                {"deferredReason": reasons[0], "deferredReasons": reasons, "checkedAt": now}
            )
            if now >= due_by:
                logger.error("gdpr.deletion_overdue", request_id=request.id, reasons=reasons)
            summary["deferred"] += 1
            continue
        try:
            counts = delete_driver_data(db, uid, keep_request=request.id)
        except Exception as exc:  # the request stays pending; the next run tries again
            logger.error("gdpr.deletion_failed", request_id=request.id, error=repr(exc))
            request.reference.update({"lastError": type(exc).__name__, "checkedAt": now})
            summary["failed"] += 1
            continue
        proof = db.collection(PROOFS).document(secrets.token_hex(12))
        proof.set(
            {
                "kind": "driver_deletion",
                "requestedAt": request.get("requestedAt"),
                "dueBy": due_by,
                "completedAt": now,
                "counts": counts,
            }
        )
        request.reference.update(
            {
                "status": "completed",
                "completedAt": now,
                "result": counts,
                "proofId": proof.id,
                "deferredReason": None,
                "deferredReasons": [],
                "expireAt": now + REQUEST_KEPT_AFTER_COMPLETION,
            }
        )
        logger.info("gdpr.deletion_completed", request_id=request.id, proof_id=proof.id, **counts)
        summary["completed"] += 1
    logger.info("gdpr.deletion_run", **summary)
    return summary
