"""sessions/{sessionId}: one parking stay (written by ingestion, payments and evidence).

`SessionDoc` is the one description of the document. The pairing (sessions/machine.py,
pure) says what a stay is; the session store writes it through `for_create` and
`check_update`, payments read it as `payments.models.SessionView`, enforcement and the
dashboard as `SessionDoc`.
"""

from __future__ import annotations

from typing import Any, Literal

from google.cloud.firestore import Client
from pydantic import AwareDatetime, ConfigDict, Field

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
    """The session's payment as charging keeps it; charging's own bookkeeping fields (locks,
    attempts, retries) are kept as they are (`extra="allow"`) so that the sub-document
    round-trips unchanged (`stored`)."""

    model_config = ConfigDict(extra="allow")

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

    def stored(self) -> dict[str, Any]:
        """The sub-document as it was read (camelCase, unknown fields included)."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude={"id"})


class EvidenceItem(Document):
    kind: str
    status: str | None = None
    storage_path: str | None = None
    content_type: str | None = None
    at: AwareDatetime | None = None
    recorded_at: AwareDatetime | None = None
    error: str | None = None


class Correction(Document):
    """One entry of the session's `corrections`: a plate corrected by staff (fromPlate,
    toPlate, reason, by), or a payment correction after re-pairing (kind
    "payment_correction": difference, currency, outcome)."""

    model_config = ConfigDict(extra="allow")

    kind: str | None = None
    at: AwareDatetime
    from_plate: str | None = None
    to_plate: str | None = None
    reason: str | None = None
    by: str | None = None
    by_email: str | None = None
    driver_from: str | None = None
    driver_to: str | None = None
    status: str | None = None
    difference: int | None = None
    currency: str | None = None

    @property
    def is_plate_correction(self) -> bool:
        return self.from_plate is not None and self.to_plate is not None


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
    # Set at close when the facility has a settle window: not charged before this instant.
    charge_at: AwareDatetime | None = None
    # Set by the session store when re-pairing changed a stay that was already charged.
    correction_pending: bool = False
    superseded_by: str | None = None
    pairing_seq: int | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    # The commit time of the last write made through `stamped` (a server timestamp): the
    # figures pump reads the changes since its watermark by it (admin/figures_pump.py).
    changed_at: AwareDatetime | None = None

    @property
    def payment_status(self) -> str | None:
        return self.payment.status if self.payment else None

    def image(self, kind: Literal["entry", "exit"]) -> EvidenceItem | None:
        for item in self.evidence:
            if item.kind == f"{kind}_image" and item.status == "stored" and item.storage_path:
                return item
        return None


# The stored names of the document's fields (camelCase), for checking writes.
FIELDS = frozenset(
    field.alias or name for name, field in SessionDoc.model_fields.items() if name != "id"
)


def stamped(fields: dict[str, Any]) -> dict[str, Any]:
    """A session write the figures pump will count: stamped with its commit time. Writes
    without the stamp are counted by the session trigger itself (sessions/dispatch.py)."""
    from google.cloud import firestore

    return {**fields, "changedAt": firestore.SERVER_TIMESTAMP}


def ref(db: Client, session_id: str):
    return db.collection(COLLECTION).document(session_id)


def get(db: Client, session_id: str) -> SessionDoc | None:
    return SessionDoc.from_snapshot(ref(db, session_id).get())


def for_create(document: dict[str, Any]) -> dict[str, Any]:
    """A new session document, checked against the model: the same fields and values back
    (those given, nothing added), or a ValidationError for a shape the model does not know."""
    unknown = set(document) - FIELDS
    if unknown:
        raise ValueError(f"not fields of a session: {sorted(unknown)}")
    return SessionDoc.model_validate(document).model_dump(
        by_alias=True, exclude_unset=True, exclude={"id"}
    )


def check_update(fields: dict[str, Any]) -> dict[str, Any]:
    """An update of a session, its keys checked against the model (a dotted path by its
    first part)."""
    unknown = {key for key in fields if key.split(".", 1)[0] not in FIELDS}
    if unknown:
        raise ValueError(f"not fields of a session: {sorted(unknown)}")
    return fields
