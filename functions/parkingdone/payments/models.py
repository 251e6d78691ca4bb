"""Firestore documents of the payments part, and the parts of others' documents it reads.

All documents use camelCase field names (pydantic aliases); money is integer minor units
with an ISO currency; times are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# The collections the payments modules write: named in models/, imported from here.
from parkingdone.models.pass_products import COLLECTION as PASS_PRODUCTS  # noqa: F401
from parkingdone.models.passes import COLLECTION as PASSES  # noqa: F401
from parkingdone.models.payments import COLLECTION as PAYMENTS  # noqa: F401
from parkingdone.models.receipt_counters import COLLECTION as RECEIPT_COUNTERS  # noqa: F401
from parkingdone.models.receipts import COLLECTION as RECEIPTS  # noqa: F401
from parkingdone.models.sessions import COLLECTION as SESSIONS  # noqa: F401
from parkingdone.models.sessions import Moment, SessionDoc
from parkingdone.models.stripe_events import COLLECTION as STRIPE_EVENTS  # noqa: F401
from parkingdone.models.users import User

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
PaymentKind = Literal["session", "pass", "wallet_topup"]


class _Doc(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=False)


class SessionView(SessionDoc):
    """A session as charging reads it: the one session model (models/sessions.py), with an
    entry always there (a stay without one is never charged) and the payment sub-document
    as the plain mapping the charging steps update field by field."""

    entry: Moment
    payment: dict[str, Any] | None = None  # type: ignore[assignment]


# What payments read of users/{uid}: the driver's profile (models/users.py).
DriverPaymentProfile = User


class RefundRecord(_Doc):
    id: str
    amount: int = Field(gt=0)
    status: Literal["pending", "succeeded", "failed"]
    provider_refund_id: str | None = None
    platform_fee_refunded: int = 0
    reason: str | None = None
    requested_by: str | None = None
    # Where the money goes back: the card it came from, or the driver's wallet.
    destination: Literal["card", "wallet"] = "card"
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None


class LedgerEntry(_Doc):
    """payments/{paymentId}: one attempt to collect money for a session or a pass."""

    operator_id: str
    facility_id: str
    kind: PaymentKind
    session_id: str | None = None
    pass_id: str | None = None
    product_id: str | None = None
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
    # The part of the stay's fee its driver's wallet paid at exit; `amount` is the rest.
    wallet_amount: int = 0
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
