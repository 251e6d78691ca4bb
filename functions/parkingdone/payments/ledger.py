"""The one builder of ledger entries (payments/{paymentId}), of the charge request an entry
stands for and of the summary a session keeps of its entry: stays charged at exit, stays paid
in the app, passes and corrections all write the same shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from parkingdone.payments.models import LedgerEntry, PaymentKind, PaymentStatus
from parkingdone.payments.provider import ChargeRequest, platform_fee
from parkingdone.payments.rules import Card, PaymentInvariantError, idempotency_key


@dataclass(frozen=True)
class Subject:
    """What a payment is for."""

    kind: PaymentKind
    operator_id: str
    facility_id: str
    session_id: str | None = None
    pass_id: str | None = None
    # The pass product bought, so pass revenue can be told by product.
    product_id: str | None = None
    uid: str | None = None
    plate: str | None = None
    attempt: int = 1


def new_entry(
    payment_id: str,
    subject: Subject,
    *,
    amount: int,
    currency: str,
    fee_bps: int,
    now: datetime,
    card: Card | None = None,
    off_session: bool = True,
    provider: Literal["stripe", "invoice", "none"] | None = None,
    status: PaymentStatus | None = None,
    error_code: str | None = None,
    fee: dict[str, Any] | None = None,
    lock_until: datetime | None = None,
    wallet_amount: int = 0,
) -> LedgerEntry:
    """A new ledger entry. With a `card` it is a pending card charge with its idempotency
    key; without, an entry for the operator's invoicing (or `provider`/`status` given).
    `lock_until`: the claim of whoever is about to charge it."""
    share = platform_fee(amount, fee_bps)
    return LedgerEntry(
        operator_id=subject.operator_id,
        facility_id=subject.facility_id,
        kind=subject.kind,
        session_id=subject.session_id,
        pass_id=subject.pass_id,
        product_id=subject.product_id,
        uid=subject.uid,
        plate=subject.plate,
        attempt=subject.attempt,
        provider=provider or ("stripe" if card else "invoice"),
        status=status or ("pending" if card else "to_invoice"),
        amount=amount,
        currency=currency,
        platform_fee=share,
        operator_share=amount - share,
        net_amount=amount,
        provider_account_id=card.provider_account_id if card else None,
        customer_id=card.customer_id if card else None,
        payment_method_id=card.payment_method_id if card else None,
        idempotency_key=idempotency_key(payment_id) if card else None,
        off_session=off_session,
        error_code=error_code,
        fee=fee,
        lock_until=lock_until,
        wallet_amount=wallet_amount,
        created_at=now,
        updated_at=now,
    )


def charge_request(payment_id: str, entry: LedgerEntry) -> ChargeRequest:
    """What to ask the provider for a ledger entry (a session's or a pass's payment)."""
    if not (entry.customer_id and entry.payment_method_id and entry.provider_account_id):
        raise PaymentInvariantError(f"payment {payment_id} has no card to charge")
    subject = {
        "session": {"sessionId": entry.session_id},
        "pass": {"passId": entry.pass_id},
    }.get(entry.kind, {"uid": entry.uid})
    return ChargeRequest(
        amount=entry.amount,
        currency=entry.currency,
        customer_id=entry.customer_id,
        payment_method_id=entry.payment_method_id,
        connected_account=entry.provider_account_id,
        application_fee=entry.platform_fee,
        idempotency_key=entry.idempotency_key or idempotency_key(payment_id),
        off_session=entry.off_session,
        metadata={
            **subject,
            "paymentId": payment_id,
            "operatorId": entry.operator_id,
            "facilityId": entry.facility_id,
            "kind": entry.kind,
        },
    )


def session_summary(payment_id: str, entry: LedgerEntry) -> dict[str, Any]:
    """The `payment` summary a session keeps of its ledger entry (see docs/data-model.md):
    the stay's whole amount, of which `walletAmount` was paid from the driver's wallet."""
    summary = {
        "status": entry.status,
        "paymentId": payment_id,
        "attempt": entry.attempt,
        "amount": entry.amount + entry.wallet_amount,
        "currency": entry.currency,
        "provider": entry.provider,
        "platformFee": entry.platform_fee,
        "providerPaymentId": entry.provider_payment_id,
        "errorCode": entry.error_code,
        "errorMessage": entry.error_message,
        "paidAt": entry.paid_at,
        "receiptId": entry.receipt_id,
        "receiptNumber": entry.receipt_number,
        "createdAt": entry.created_at,
        "updatedAt": entry.updated_at,
    }
    if entry.wallet_amount:
        summary["walletAmount"] = entry.wallet_amount
    return summary
