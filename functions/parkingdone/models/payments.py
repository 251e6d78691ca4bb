"""payments/{paymentId}: the ledger, one entry per attempt to collect money."""

from __future__ import annotations

from typing import Any

from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import AwareDatetime, Field

from parkingdone.models.base import Document

COLLECTION = "payments"
COLLECTED = ("succeeded", "paid")
# Still owed: the charge failed or waits for the driver, or the operator invoices it.
OPEN_UNPAID = ("failed", "requires_action", "to_invoice", "invoiced", "review_required")
INVOICE_STATUSES = ("to_invoice", "invoiced", "paid", "cancelled")


class RefundDoc(Document):
    amount: int
    status: str
    reason: str | None = None
    requested_by: str | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class PaymentDoc(Document):
    operator_id: str
    facility_id: str
    kind: str = "session"
    session_id: str | None = None
    pass_id: str | None = None
    uid: str | None = None
    plate: str | None = None
    attempt: int = 1
    provider: str | None = None
    status: str
    amount: int = 0
    currency: str = "EUR"
    platform_fee: int = 0
    refunds: list[RefundDoc] = Field(default_factory=list)
    refunded_amount: int = 0
    error_code: str | None = None
    error_message: str | None = None
    receipt_number: str | None = None
    invoice_reference: str | None = None
    invoice_history: list[dict[str, Any]] = Field(default_factory=list)
    paid_at: AwareDatetime | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


def get(db: Client, payment_id: str) -> PaymentDoc | None:
    return PaymentDoc.from_snapshot(db.collection(COLLECTION).document(payment_id).get())


def of_session(db: Client, session_id: str) -> list[PaymentDoc]:
    query = db.collection(COLLECTION).where(filter=FieldFilter("sessionId", "==", session_id))
    docs = [d for d in (PaymentDoc.from_snapshot(s) for s in query.get()) if d is not None]
    return sorted(docs, key=lambda p: p.attempt)
