"""Sessions in Firestore: the pointer read and the decision's writes, inside a transaction.

Cost of an event (the webhook's budget is at most 3 reads and 3 writes):
- entry: reads pointer + plateOwners (one batch get); writes inbox event + session + pointer.
- exit: reads pointer; writes inbox event + session + pointer delete.
Rare paths (exit without entry, a second entry over an open session) cost one or two more.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone.sessions.machine import Decision, Pointer

SESSIONS = "sessions"
OPEN_SESSIONS = "openSessions"
PLATE_OWNERS = "plateOwners"


def pointer_id(facility_id: str, plate: str) -> str:
    return f"{facility_id}__{plate}"


def pointer_ref(db: Client, facility_id: str, plate: str) -> firestore.DocumentReference:
    return db.collection(OPEN_SESSIONS).document(pointer_id(facility_id, plate))


def session_ref(db: Client, session_id: str) -> firestore.DocumentReference:
    return db.collection(SESSIONS).document(session_id)


def pointer_from(snapshot: Any) -> Pointer | None:
    if snapshot is None or not snapshot.exists:
        return None
    data = snapshot.to_dict()
    return Pointer(
        session_id=data["sessionId"],
        state=data.get("state", "open"),
        at=data["at"],
        event_id=data.get("eventId", ""),
    )


def read_state(
    transaction: Transaction, db: Client, facility_id: str, plate: str, with_owner: bool
) -> tuple[Pointer | None, str | None]:
    """The plate's pointer and, when asked, its registered driver's uid: one batch read."""
    refs = [pointer_ref(db, facility_id, plate)]
    if with_owner:
        refs.append(db.collection(PLATE_OWNERS).document(plate))
    snapshots = {s.reference.path: s for s in transaction.get_all(refs)}
    pointer = pointer_from(snapshots.get(refs[0].path))
    uid = None
    if with_owner:
        owner = snapshots.get(refs[1].path)
        if owner is not None and owner.exists:
            uid = (owner.to_dict() or {}).get("uid")
    return pointer, uid


def read_owner(transaction: Transaction, db: Client, plate: str) -> str | None:
    snapshot = next(iter(transaction.get_all([db.collection(PLATE_OWNERS).document(plate)])))
    return (snapshot.to_dict() or {}).get("uid") if snapshot.exists else None


def recent_exit(
    db: Client,
    facility_id: str,
    plate: str,
    at: datetime,
    window: timedelta,
    transaction: Transaction | None = None,
) -> tuple[str, datetime] | None:
    """(id, exit time) of a session of this plate here whose exit is within `window` of `at`."""
    query = (
        db.collection(SESSIONS)
        .where(filter=FieldFilter("facilityId", "==", facility_id))
        .where(filter=FieldFilter("plate", "==", plate))
        .where(filter=FieldFilter("exit.at", ">=", at - window))
        .where(filter=FieldFilter("exit.at", "<=", at + window))
        .limit(1)
    )
    for snapshot in query.get(transaction=transaction):
        return snapshot.id, snapshot.get("exit.at")
    return None


def apply(
    transaction: Transaction,
    db: Client,
    facility_id: str,
    plate: str,
    operator_id: str,
    decision: Decision,
    now: datetime,
) -> None:
    """Queue the decision's writes on the transaction."""
    if decision.create is not None and decision.session_id is not None:
        transaction.create(
            session_ref(db, decision.session_id),
            {**decision.create, "createdAt": now, "updatedAt": now},
        )
    for update in decision.updates:
        fields: dict[str, Any] = {**update.fields, "updatedAt": now}
        if update.add_flags:
            # A union keeps flags others set (e.g. the max-stay job) without a read.
            fields["flags"] = firestore.ArrayUnion([str(f) for f in update.add_flags])
        transaction.update(session_ref(db, update.session_id), fields)
    if decision.pointer == "keep":
        return
    ref = pointer_ref(db, facility_id, plate)
    if decision.pointer is None:
        transaction.delete(ref)
        return
    pointer: Pointer = decision.pointer
    transaction.set(
        ref,
        {
            "operatorId": operator_id,
            "facilityId": facility_id,
            "plate": plate,
            "sessionId": pointer.session_id,
            "state": pointer.state,
            "at": pointer.at,
            "eventId": pointer.event_id,
            "updatedAt": now,
        },
    )
