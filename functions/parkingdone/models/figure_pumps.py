"""figurePumps/{operatorId}: how far the figures pump has read an operator's stay changes,
and which run holds the operator's pump (one at a time: runs side by side would fight over
the same stays' transactions)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore
from google.cloud.firestore import Client

COLLECTION = "figurePumps"


def ref(db: Client, operator_id: str) -> Any:
    return db.collection(COLLECTION).document(operator_id)


def watermark(db: Client, operator_id: str) -> datetime | None:
    """The commit time up to which every stamped change has been counted (None: never run)."""
    snapshot = ref(db, operator_id).get()
    return (snapshot.to_dict() or {}).get("watermark") if snapshot.exists else None


def _held_by_other(doc: dict[str, Any], holder: str, now: datetime) -> bool:
    held_until = doc.get("heldUntil")
    return doc.get("holder") not in (None, holder) and bool(held_until) and held_until > now


def claim(db: Client, operator_id: str, holder: str, now: datetime, lease: timedelta) -> bool:
    """Take the operator's pump for `lease` unless another run holds it (a plain read first:
    while a run holds it, the runs asked for meanwhile leave without a transaction)."""
    from google.api_core.exceptions import Aborted

    target = ref(db, operator_id)
    if _held_by_other(target.get().to_dict() or {}, holder, now):
        return False

    @firestore.transactional
    def run(transaction: Any) -> bool:
        doc = target.get(transaction=transaction).to_dict() or {}
        if _held_by_other(doc, holder, now):
            return False
        transaction.set(
            target,
            {"operatorId": operator_id, "holder": holder, "heldUntil": now + lease},
            merge=True,
        )
        return True

    try:
        return run(db.transaction())
    except (Aborted, ValueError):
        return False  # another run took it at the same moment


def holder_silent(db: Client, operator_id: str, now: datetime, lease: timedelta) -> bool:
    """The holder has not renewed its lease for half of it: it may have died (a run renews
    after every page, within a second or two)."""
    held_until = (ref(db, operator_id).get().to_dict() or {}).get("heldUntil")
    return bool(held_until) and held_until - now < lease / 2


def advance(
    db: Client, operator_id: str, holder: str, to: datetime, now: datetime, lease: timedelta
) -> None:
    """Move the watermark forward (never back) and extend the holder's lease."""
    target = ref(db, operator_id)

    @firestore.transactional
    def run(transaction: Any) -> None:
        doc = target.get(transaction=transaction).to_dict() or {}
        fields: dict[str, Any] = {"operatorId": operator_id, "updatedAt": now}
        if doc.get("watermark") is None or doc["watermark"] < to:
            fields["watermark"] = to
        if doc.get("holder") == holder:
            fields["heldUntil"] = now + lease
        transaction.set(target, fields, merge=True)

    run(db.transaction())


def release(db: Client, operator_id: str, holder: str) -> None:
    target = ref(db, operator_id)

    @firestore.transactional
    def run(transaction: Any) -> None:
        doc = target.get(transaction=transaction).to_dict() or {}
        if doc.get("holder") == holder:
            transaction.update(target, {"holder": None, "heldUntil": None})

    run(db.transaction())
