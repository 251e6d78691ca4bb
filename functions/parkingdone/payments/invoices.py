"""The invoice workflow for sessions without a registered driver (or without a provider):
to_invoice → invoiced → paid | cancelled, driven by operator admins from the dashboard.

The session's `payment.status` and its ledger entry move together in one transaction;
"paid" issues the receipt with the operator's next number. Repeating a transition that
already happened is a no-op, so a double click or a retried call is harmless. A stay with
an open dispute is not sent to invoicing until the dispute is decided.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction

from parkingdone import errors
from parkingdone.models import disputes
from parkingdone.payments import lookups, receipts
from parkingdone.payments.access import Actor
from parkingdone.payments.models import PAYMENTS, SESSIONS, LedgerEntry

Action = Literal["mark_invoiced", "mark_paid", "cancel"]

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "mark_invoiced": (frozenset({"to_invoice"}), "invoiced"),
    "mark_paid": (frozenset({"invoiced"}), "paid"),
    "cancel": (frozenset({"to_invoice", "invoiced"}), "cancelled"),
}


def next_status(current: str | None, action: str) -> str | None:
    """The status after `action`, None when it already happened; an ApiError if not allowed."""
    if action not in TRANSITIONS:
        raise errors.bad_request(f"Unknown action {action!r}", "invalid_action")
    sources, target = TRANSITIONS[action]
    if current == target:
        return None
    if current not in sources:
        raise errors.not_now(
            f"Cannot {action.replace('_', ' ')} a payment that is {current}", "invalid_transition"
        )
    return target


def _disputed(db: Client, transaction: Transaction, session_id: str) -> bool:
    """Whether the stay has an open dispute (read in the invoice transaction)."""
    snapshot = (
        db.collection(disputes.COLLECTION)
        .document(disputes.dispute_id(session_id))
        .get(transaction=transaction)
    )
    return snapshot.exists and snapshot.get("status") == disputes.OPEN


def transition(
    db: Client,
    actor: Actor,
    session_id: str,
    action: str,
    reference: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    session_ref = db.collection(SESSIONS).document(session_id)

    @firestore.transactional
    def run(transaction: Transaction) -> dict[str, Any]:
        now = datetime.now(UTC)
        session = session_ref.get(transaction=transaction)
        if not session.exists:
            raise errors.not_found("No such session")
        doc = session.to_dict()
        actor.require_admin_of(doc.get("operatorId", ""))
        payment = doc.get("payment") or {}
        payment_id = payment.get("paymentId")
        target = next_status(payment.get("status"), action)
        if target == "invoiced" and _disputed(db, transaction, session_id):
            raise errors.not_now(
                "The stay is disputed: decide the dispute before invoicing", "disputed"
            )
        if target is None:
            return {"sessionId": session_id, "status": payment.get("status"), "changed": False}
        ledger_ref = db.collection(PAYMENTS).document(payment_id)
        entry = LedgerEntry.model_validate(ledger_ref.get(transaction=transaction).to_dict())
        counter = (
            receipts.counter_snapshot(db, transaction, entry.operator_id)
            if target == "paid"
            else None
        )
        history = {
            "action": action,
            "at": now,
            "by": actor.uid,
            "reference": reference,
            "note": note,
        }
        updates: dict[str, Any] = {"status": target, "updatedAt": now}
        if action == "mark_invoiced":
            updates["invoiceReference"] = reference
            updates["invoicedAt"] = now
        if target == "cancelled":
            updates["cancelledAt"] = now
            updates["netAmount"] = 0
        if target == "paid" and counter is not None:
            op = lookups.operator(db, entry.operator_id)
            language = receipts.language_for(db, entry.uid, op.language)
            receipt = receipts.build(
                operator_id=entry.operator_id,
                seller_name=op.name,
                facility_id=entry.facility_id,
                payment_id=payment_id,
                number=receipts.next_number(counter),
                issued_at=now,
                currency=entry.currency,
                total=entry.amount,
                vat_rate_bps=op.vat_rate_bps,
                lines=receipts.lines_from_fee(doc.get("fee"), None, entry.amount, language),
                session_id=session_id,
                plate=entry.plate,
                language=language,
            )
            receipts.write(db, transaction, receipt, payment_id, now)
            updates.update(paidAt=now, receiptId=payment_id, receiptNumber=receipt.receipt_number)
            if reference:
                updates["paymentReference"] = reference
        transaction.update(
            ledger_ref, {**updates, "invoiceHistory": firestore.ArrayUnion([history])}
        )
        session_fields = {f"payment.{k}": v for k, v in updates.items() if k != "netAmount"}
        session_fields["updatedAt"] = now
        transaction.update(session_ref, session_fields)
        logger.info(
            "payments.invoice_transition",
            sessionId=session_id,
            paymentId=payment_id,
            operatorId=entry.operator_id,
            facilityId=entry.facility_id,
            action=action,
            status=target,
        )
        return {
            "sessionId": session_id,
            "paymentId": payment_id,
            "status": target,
            "changed": True,
            "receiptNumber": updates.get("receiptNumber"),
        }

    return run(db.transaction())
