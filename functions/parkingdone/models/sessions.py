"""sessions/{sessionId}: one parking stay (written by ingestion, payments and evidence)."""

from __future__ import annotations

from typing import Any, Literal

from google.cloud.firestore import Client
from pydantic import AwareDatetime, Field

from parkingdone.models.base import Document

COLLECTION = "sessions"
# Statuses a stay can have; "superseded" marks a stay replaced by a re-paired one and is
# left out of every list and figure.
LISTED_STATUSES = ("open", "closed", "missing_exit", "anomaly")
SUPERSEDED = "superseded"
PAID_LIKE = frozenset({"succeeded", "paid", "not_required"})


class Moment(Document):
    at: AwareDatetime
    image_url: str | None = None
    event_id: str | None = None


class PaymentSummary(Document):
    status: str | None = None
    payment_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    provider: str | None = None
    paid_at: AwareDatetime | None = None
    receipt_number: str | None = None
    error_code: str | None = None
    refunded_amount: int | None = None
    refund_status: str | None = None
    invoice_reference: str | None = None
    # What the driver's wallet paid of the fee (the card was charged the rest), and what of
    # it went back to the wallet.
    wallet_amount: int | None = None
    wallet_refunded_amount: int | None = None


class EvidenceItem(Document):
    kind: str
    status: str | None = None
    storage_path: str | None = None
    content_type: str | None = None
    at: AwareDatetime | None = None
    recorded_at: AwareDatetime | None = None
    error: str | None = None


class Correction(Document):
    from_plate: str
    to_plate: str
    reason: str
    by: str
    by_email: str | None = None
    at: AwareDatetime
    driver_from: str | None = None
    driver_to: str | None = None


class SessionDoc(Document):
    operator_id: str
    facility_id: str
    plate: str = ""
    plate_raw: str = ""
    country: str | None = None
    source: str = "anpr"
    status: str
    entry: Moment | None = None
    exit: Moment | None = None
    driver_uid: str | None = None
    review_required: bool = False
    flags: list[str] = Field(default_factory=list)
    fee: dict[str, Any] | None = None
    payment: PaymentSummary | None = None
    evidence: list[EvidenceItem] = Field(default_factory=list)
    corrections: list[Correction] = Field(default_factory=list)
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None

    @property
    def payment_status(self) -> str | None:
        return self.payment.status if self.payment else None

    def image(self, kind: Literal["entry", "exit"]) -> EvidenceItem | None:
        for item in self.evidence:
            if item.kind == f"{kind}_image" and item.status == "stored" and item.storage_path:
                return item
        return None


def get(db: Client, session_id: str) -> SessionDoc | None:
    return SessionDoc.from_snapshot(db.collection(COLLECTION).document(session_id).get())
