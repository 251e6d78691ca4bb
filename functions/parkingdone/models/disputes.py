"""disputes/{disputeId}: a driver contests a stay's charge; staff resolve it.

One dispute per stay (`d_{sessionId}`). While it is `open` the stay is not invoiced, not
removed by retention, and the driver's data deletion waits. It carries the stay's timeline
as it was when the dispute was opened (`evidence`).
"""

from __future__ import annotations

from typing import Any, Literal

from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import AwareDatetime, Field

from parkingdone.models.base import Document

COLLECTION = "disputes"
OPEN = "open"
Reason = Literal["not_parked", "wrong_plate", "wrong_fee", "charged_twice", "other"]
REASONS: tuple[str, ...] = ("not_parked", "wrong_plate", "wrong_fee", "charged_twice", "other")


def dispute_id(session_id: str) -> str:
    return f"d_{session_id}"


class Resolution(Document):
    decision: Literal["rejected", "accepted"]
    reason: str
    refund_amount: int = 0
    refund_id: str | None = None
    refund_to: Literal["card", "wallet"] | None = None
    by: str
    at: AwareDatetime


class DisputeDoc(Document):
    operator_id: str
    facility_id: str
    session_id: str
    uid: str | None = None
    plate: str | None = None
    payment_id: str | None = None
    amount: int = 0
    currency: str = "EUR"
    reason: str
    statement: str = ""
    opened_by: str
    opened_by_role: str
    status: Literal["open", "rejected", "accepted"]
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    resolution: Resolution | None = None
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


def get(db: Client, dispute_id_: str) -> DisputeDoc | None:
    return DisputeDoc.from_snapshot(db.collection(COLLECTION).document(dispute_id_).get())


def of_session(db: Client, session_id: str) -> DisputeDoc | None:
    return get(db, dispute_id(session_id))


def of_operator(
    db: Client, operator_id: str, status: str | None = None, limit: int = 100
) -> list[DisputeDoc]:
    query = db.collection(COLLECTION).where(filter=FieldFilter("operatorId", "==", operator_id))
    if status:
        query = query.where(filter=FieldFilter("status", "==", status))
    query = query.order_by("openedAt", direction=firestore.Query.DESCENDING).limit(limit)
    return [d for d in (DisputeDoc.from_snapshot(s) for s in query.get()) if d is not None]


def of_customer(db: Client, operator_id: str, uid: str, limit: int = 100) -> list[DisputeDoc]:
    query = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .where(filter=FieldFilter("uid", "==", uid))
        .limit(limit)
    )
    docs = [d for d in (DisputeDoc.from_snapshot(s) for s in query.get()) if d is not None]
    return sorted(docs, key=lambda d: d.opened_at, reverse=True)
