"""Refunds: an operator admin returns a payment fully or partly.

Three steps, each safe to repeat: reserve the refund in the ledger (one transaction, so two
admins cannot refund more than was paid), ask the provider with an idempotency key derived
from the refund id, record the result on the ledger and the session or pass. A refund id is
derived from the caller's request id, so a retried request refunds once. Refunds made in
Stripe's dashboard arrive as `charge.refunded` and are merged by provider refund id.

A refund may go to the driver's wallet at the operator instead of the card
(`to_wallet=True`): the same reservation, no provider call, and the wallet is credited in
the transaction that records the refund (movement `refund_{refundId}`, applied once).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import errors
from parkingdone.payments import wallet
from parkingdone.payments.access import Actor
from parkingdone.payments.models import PASSES, PAYMENTS, SESSIONS, LedgerEntry, RefundRecord
from parkingdone.payments.provider import (
    ProviderRejected,
    ProviderUnavailable,
    RefundRequest,
)
from parkingdone.payments.registry import get_provider
from parkingdone.payments.rules import PaymentInvariantError

STRIPE_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def refund_id_for(payment_id: str, request_id: str) -> str:
    digest = hashlib.sha256(f"{payment_id}:{request_id}".encode()).hexdigest()[:16]
    return f"{payment_id}_r{digest}"


def refundable(entry: LedgerEntry, exclude: str | None = None) -> int:
    """What may still be refunded: paid minus refunds done or under way."""
    taken = sum(
        r.amount for r in entry.refunds if r.status in ("pending", "succeeded") and r.id != exclude
    )
    return max(entry.amount - taken, 0)


def fee_share(entry: LedgerEntry, amount: int) -> int:
    """The platform fee returned with a refund, in proportion (Stripe refund_application_fee)."""
    if entry.amount <= 0:
        return 0
    return (entry.platform_fee * amount + entry.amount // 2) // entry.amount


def totals(entry: LedgerEntry) -> dict[str, Any]:
    done = [r for r in entry.refunds if r.status == "succeeded"]
    refunded = sum(r.amount for r in done)
    fee_back = sum(r.platform_fee_refunded for r in done)
    return {
        "refunds": [r.to_doc() for r in entry.refunds],
        "refundedAmount": refunded,
        "netAmount": entry.amount - refunded,
        "platformFeeRefunded": fee_back,
        "refundStatus": None
        if refunded == 0
        else ("refunded" if refunded >= entry.amount else "partially_refunded"),
    }


def _subject_updates(
    db: Client,
    transaction: Transaction,
    entry: LedgerEntry,
    payment_id: str,
    sums: dict[str, Any],
    now: datetime,
) -> None:
    if entry.kind == "session" and entry.session_id:
        ref = db.collection(SESSIONS).document(entry.session_id)
        transaction.update(
            ref,
            {
                "payment.refundedAmount": sums["refundedAmount"],
                "payment.refundStatus": sums["refundStatus"],
                "payment.updatedAt": now,
                "updatedAt": now,
            },
        )
    elif entry.kind == "pass" and entry.pass_id:
        fields: dict[str, Any] = {
            "refundedAmount": sums["refundedAmount"],
            "refundStatus": sums["refundStatus"],
            "updatedAt": now,
        }
        # A fully refunded pass no longer entitles the driver to park.
        if sums["refundStatus"] == "refunded":
            fields["status"] = "cancelled"
        transaction.update(db.collection(PASSES).document(entry.pass_id), fields)


def refund(
    db: Client,
    actor: Actor,
    payment_id: str,
    request_id: str,
    amount: int | None = None,
    reason: str | None = None,
    to_wallet: bool = False,
) -> dict[str, Any]:
    ledger_ref = db.collection(PAYMENTS).document(payment_id)
    refund_id = refund_id_for(payment_id, request_id)

    @firestore.transactional
    def reserve(transaction: Transaction) -> tuple[LedgerEntry, RefundRecord]:
        now = datetime.now(UTC)
        snapshot = ledger_ref.get(transaction=transaction)
        if not snapshot.exists:
            raise errors.not_found("No such payment")
        entry = LedgerEntry.model_validate(snapshot.to_dict())
        actor.require_admin_of(entry.operator_id)
        existing = next((r for r in entry.refunds if r.id == refund_id), None)
        if existing is not None and existing.status != "failed":
            return entry, existing  # the same request again: report, do not refund twice
        paid_by_card = entry.provider == "stripe" and entry.provider_payment_id
        if entry.status != "succeeded" or not paid_by_card or entry.kind == wallet.TOPUP_KIND:
            raise errors.not_now(f"Payment is {entry.status}; nothing to refund", "not_refundable")
        if to_wallet and not entry.uid:
            raise errors.not_now("The payment has no driver to credit", "no_wallet")
        available = refundable(entry, exclude=refund_id)
        wanted = available if amount is None else amount
        if wanted <= 0 or wanted > available:
            raise errors.bad_request(
                f"Refund must be between 1 and {available} {entry.currency}", "invalid_amount"
            )
        record = RefundRecord(
            id=refund_id,
            amount=wanted,
            status="pending",
            reason=reason,
            requested_by=actor.uid,
            destination="wallet" if to_wallet else "card",
            platform_fee_refunded=fee_share(entry, wanted),
            created_at=now,
            updated_at=now,
        )
        entry.refunds = [r for r in entry.refunds if r.id != refund_id] + [record]
        refunds_doc = [r.to_doc() for r in entry.refunds]
        transaction.update(ledger_ref, {"refunds": refunds_doc, "updatedAt": now})
        return entry, record

    entry, record = reserve(db.transaction())
    if record.status == "succeeded":
        return _summary(payment_id, entry, record)
    if entry.provider_payment_id is None:
        raise PaymentInvariantError(f"payment {payment_id} has no provider payment to refund")
    if record.destination == "wallet":
        # The money stays with the operator and the driver's wallet is credited below.
        status, provider_refund_id, error = "succeeded", None, None
    else:
        status, provider_refund_id, error = _refund_card(entry, record, payment_id, reason)

    @firestore.transactional
    def finish(transaction: Transaction) -> tuple[LedgerEntry, RefundRecord]:
        now = datetime.now(UTC)
        fresh = LedgerEntry.model_validate(ledger_ref.get(transaction=transaction).to_dict())
        purse = None
        if record.destination == "wallet" and status == "succeeded":
            purse = wallet.read(
                db,
                transaction,
                fresh.operator_id,
                fresh.uid or "",
                wallet.movement_id("refund", refund_id),
            )
        done = record
        for i, r in enumerate(fresh.refunds):
            if r.id == refund_id and r.status != "succeeded":
                changes = {"status": status, "provider_refund_id": provider_refund_id}
                done = r.model_copy(update={**changes, "updated_at": now})
                fresh.refunds[i] = done
        sums = totals(fresh)
        transaction.update(ledger_ref, {**sums, "updatedAt": now})
        _subject_updates(db, transaction, fresh, payment_id, sums, now)
        if purse is not None:
            wallet.apply(
                transaction,
                purse,
                "refund",
                done.amount,
                fresh.currency,
                now,
                session_id=fresh.session_id,
                payment_id=payment_id,
                reason=reason,
                by=actor.uid,
            )
        return fresh, done

    entry, record = finish(db.transaction())
    logger.info(
        "payments.refund",
        paymentId=payment_id,
        refundId=refund_id,
        operatorId=entry.operator_id,
        facilityId=entry.facility_id,
        sessionId=entry.session_id,
        amount=record.amount,
        destination=record.destination,
        status=record.status,
        error=error,
    )
    if record.status == "failed":
        raise errors.unavailable(
            "The payment provider did not refund; retry later", "provider_failed"
        )
    return _summary(payment_id, entry, record)


def _refund_card(
    entry: LedgerEntry, record: RefundRecord, payment_id: str, reason: str | None
) -> tuple[str, str | None, str | None]:
    """Ask the provider to refund the card; (status, provider refund id, error)."""
    if entry.provider_payment_id is None:
        raise PaymentInvariantError(f"payment {payment_id} has no provider payment to refund")
    refund_id = record.id
    try:
        result = get_provider().refund(
            RefundRequest(
                provider_payment_id=entry.provider_payment_id,
                amount=record.amount,
                idempotency_key=f"parkingdone:refund:{refund_id}",
                reason=reason if reason in STRIPE_REASONS else None,
                metadata={"paymentId": payment_id, "refundId": refund_id},
            )
        )
        return result.status, result.provider_refund_id, None
    except (ProviderUnavailable, ProviderRejected) as exc:
        # Marked failed so the same request may be retried (same idempotency key).
        return "failed", None, str(exc)


def _summary(payment_id: str, entry: LedgerEntry, record: RefundRecord) -> dict[str, Any]:
    sums = totals(entry)
    return {
        "paymentId": payment_id,
        "refundId": record.id,
        "amount": record.amount,
        "currency": entry.currency,
        "status": record.status,
        "refundedAmount": sums["refundedAmount"],
        "refundStatus": sums["refundStatus"],
    }


def sync_from_charge(db: Client, charge: dict[str, Any]) -> str:
    """`charge.refunded`: merge the charge's refunds into the ledger (by provider refund id)."""
    intent_id = charge.get("payment_intent")
    if not isinstance(intent_id, str):
        return "not_ours"
    matches = (
        db.collection(PAYMENTS)
        .where(filter=FieldFilter("providerPaymentId", "==", intent_id))
        .limit(1)
        .get()
    )
    if not matches:
        return "not_ours"
    ledger_ref = matches[0].reference
    provider_refunds = ((charge.get("refunds") or {}).get("data")) or []

    @firestore.transactional
    def run(transaction: Transaction) -> str:
        now = datetime.now(UTC)
        entry = LedgerEntry.model_validate(ledger_ref.get(transaction=transaction).to_dict())
        known = {r.provider_refund_id for r in entry.refunds if r.provider_refund_id}
        ours = {r.id for r in entry.refunds}
        changed = False
        for pr in provider_refunds:
            if pr.get("id") in known or pr.get("status") not in ("succeeded", "pending"):
                continue
            # Our own refund whose API answer has not been recorded yet: not a new one.
            if (pr.get("metadata") or {}).get("refundId") in ours:
                continue
            amount = int(pr.get("amount") or 0)
            if amount <= 0:
                continue
            entry.refunds.append(
                RefundRecord(
                    id=f"{ledger_ref.id}_{pr['id']}",
                    amount=amount,
                    status="succeeded" if pr.get("status") == "succeeded" else "pending",
                    provider_refund_id=pr["id"],
                    platform_fee_refunded=fee_share(entry, amount),
                    reason="provider_dashboard",
                    created_at=now,
                    updated_at=now,
                )
            )
            changed = True
        if not changed:
            return "unchanged"
        sums = totals(entry)
        transaction.update(ledger_ref, {**sums, "updatedAt": now})
        _subject_updates(db, transaction, entry, ledger_ref.id, sums, now)
        return "refunds_merged"

    return run(db.transaction())


def refund_wallet_part(
    db: Client,
    actor: Actor,
    session_id: str,
    request_id: str,
    amount: int | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Give back what the driver's wallet paid for a stay (all that is left, or `amount`),
    to the wallet, in one transaction with the session's `walletRefundedAmount`. The same
    request id refunds once."""
    session_ref = db.collection(SESSIONS).document(session_id)
    refund_id = f"{session_id}_w{hashlib.sha256(request_id.encode()).hexdigest()[:16]}"

    @firestore.transactional
    def run(transaction: Transaction) -> dict[str, Any]:
        now = datetime.now(UTC)
        snapshot = session_ref.get(transaction=transaction)
        if not snapshot.exists:
            raise errors.not_found("No such session")
        doc = snapshot.to_dict() or {}
        actor.require_admin_of(doc.get("operatorId", ""))
        payment = doc.get("payment") or {}
        uid = doc.get("driverUid")
        paid = int(payment.get("walletAmount") or 0)
        already = int(payment.get("walletRefundedAmount") or 0)
        if not uid or paid <= 0:
            raise errors.not_now("Nothing of this stay was paid from a wallet", "not_refundable")
        purse = wallet.read(
            db, transaction, doc["operatorId"], uid, wallet.movement_id("refund", refund_id)
        )
        if purse.movement_done:
            return {"refundId": refund_id, "amount": 0, "walletRefundedAmount": already}
        available = paid - already
        wanted = available if amount is None else amount
        if wanted <= 0 or wanted > available:
            raise errors.bad_request(f"Refund must be between 1 and {available}", "invalid_amount")
        currency = str(payment.get("currency") or purse.currency or "EUR")
        wallet.apply(
            transaction,
            purse,
            "refund",
            wanted,
            currency,
            now,
            session_id=session_id,
            reason=reason,
            by=actor.uid,
        )
        transaction.update(
            session_ref,
            {
                "payment.walletRefundedAmount": already + wanted,
                "payment.updatedAt": now,
                "updatedAt": now,
            },
        )
        return {
            "refundId": refund_id,
            "amount": wanted,
            "currency": currency,
            "destination": "wallet",
            "status": "succeeded",
            "walletRefundedAmount": already + wanted,
        }

    result = run(db.transaction())
    logger.info("payments.wallet_refund", sessionId=session_id, **result)
    return result
