"""Firestore documents of the payments part, and the parts of others' documents it reads.

All documents use camelCase field names (pydantic aliases); money is integer minor units
with an ISO currency; times are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SESSIONS = "sessions"
USERS = "users"
PAYMENTS = "payments"
RECEIPTS = "receipts"
RECEIPT_COUNTERS = "receiptCounters"
PASS_PRODUCTS = "passProducts"
PASSES = "passes"
STRIPE_EVENTS = "stripeEvents"

PaymentStatus = Literal[
    "not_required",
    "pending",
    "succeeded",
    "requires_action",
    "failed",
    "to_invoice",
    "invoiced",
    "paid",
    "cancelled",
    "review_required",
    "dead_letter",
]
PaymentKind = Literal["session", "pass"]


class _Doc(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=False)


class Moment(_Doc):
    at: AwareDatetime


class SessionView(_Doc):
    """What charging reads of a session (the ingestion part owns the document)."""

    id: str = ""
    operator_id: str
    facility_id: str
    plate: str = ""
    status: str
    entry: Moment
    exit: Moment | None = None
    driver_uid: str | None = None
    fee: dict[str, Any] | None = None
    payment: dict[str, Any] | None = None
    flags: list[str] = Field(default_factory=list)
    # Set at close when the facility has a settle window: not charged before this instant.
    charge_at: AwareDatetime | None = None
    # Set by the session store when re-pairing changed a stay that was already charged.
    correction_pending: bool = False
    superseded_by: str | None = None


class DriverPaymentProfile(_Doc):
    """The payment part of users/{uid} (the driver part owns the document)."""

    email: str | None = None
    language: str = "en"
    stripe_customer_id: str | None = None
    default_payment_method_id: str | None = None


class RefundRecord(_Doc):
    id: str
    amount: int = Field(gt=0)
    status: Literal["pending", "succeeded", "failed"]
    provider_refund_id: str | None = None
    platform_fee_refunded: int = 0
    reason: str | None = None
    requested_by: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None


class LedgerEntry(_Doc):
    """payments/{paymentId}: one attempt to collect money for a session or a pass."""

    operator_id: str
    facility_id: str
    kind: PaymentKind
    session_id: str | None = None
    pass_id: str | None = None
    uid: str | None = None
    plate: str | None = None
    attempt: int = 1
    provider: Literal["stripe", "invoice", "none"]
    status: PaymentStatus
    amount: int = Field(ge=0)
    currency: str
    platform_fee: int = 0
    operator_share: int = 0
    provider_account_id: str | None = None
    provider_payment_id: str | None = None
    customer_id: str | None = None
    payment_method_id: str | None = None
    idempotency_key: str | None = None
    off_session: bool = True
    error_code: str | None = None
    error_message: str | None = None
    refunds: list[RefundRecord] = Field(default_factory=list)
    refunded_amount: int = 0
    net_amount: int = 0
    receipt_id: str | None = None
    receipt_number: str | None = None
    paid_at: AwareDatetime | None = None
    # The fee breakdown a stay's charge is for (the session gets it with the outcome).
    fee: dict[str, Any] | None = None
    # The claim: whoever set it is charging until then (a charge in flight); None when free.
    lock_until: AwareDatetime | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ReceiptLine(_Doc):
    description: str
    quantity: int | None = None
    unit_price: int | None = None
    amount: int


class Receipt(_Doc):
    """receipts/{paymentId}: what the driver gets; numbered per operator without gaps."""

    operator_id: str
    facility_id: str
    payment_id: str
    session_id: str | None = None
    pass_id: str | None = None
    uid: str | None = None
    plate: str | None = None
    number: int = Field(ge=1)
    receipt_number: str
    issued_at: AwareDatetime
    currency: str
    total: int
    vat_rate_bps: int
    vat_amount: int
    net_amount: int
    lines: list[ReceiptLine]
    seller_name: str
    # The language the lines are written in: the driver's (the operator's for an invoice).
    language: str = "en"


class PassProduct(_Doc):
    id: str = ""
    operator_id: str
    facility_id: str
    name: str
    period: Literal["day", "week", "month", "year", "custom"] = "custom"
    validity_days: int = Field(gt=0, le=400)
    price: int = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    active: bool = True


class ParkingPass(_Doc):
    """passes/{passId}: a pass bought by a driver; valid only once paid (status active)."""

    operator_id: str
    facility_id: str
    uid: str
    plate: str
    product_id: str
    product_name: str = ""
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    status: Literal["pending", "active", "expired", "cancelled"]
    amount: int
    currency: str
    payment_id: str
    paid_at: datetime | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
