"""Disputes: a driver contests a stay's charge, or staff open one for them; staff decide.

Opening writes `disputes/d_{sessionId}` (one per stay) with the stay's evidence timeline as
it stands (admin/timeline.py), so the decision is made, and later shown, on the evidence
that was there. While a dispute is open the stay is not invoiced (payments/invoices.py),
retention keeps the stay, and the driver's data deletion waits.

The decision is an operator admin's: rejected with a reason, or accepted with a full or
partial refund through the one refund path (payments/refunds.py: the card payment, to the
card or to the driver's wallet, and what the wallet paid back to the wallet); an accepted
dispute of a stay waiting for its invoice cancels that invoice instead. The refund's request
id is derived from the dispute, so a retried decision refunds once; the dispute closes only
after its refunds succeeded. The driver is told by push in their language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction

from parkingdone import errors
from parkingdone.admin import timeline
from parkingdone.models import disputes, facilities, sessions
from parkingdone.models.disputes import DisputeDoc
from parkingdone.payments import invoices, notify, refunds
from parkingdone.payments.access import Actor

MAX_STATEMENT = 2000
MAX_DECISION_REASON = 500
# A stay's charge that can be contested: collected, under way or billed.
DISPUTABLE = frozenset(
    {"succeeded", "paid", "pending", "requires_action", "failed", "to_invoice", "invoiced"}
)


@dataclass(frozen=True)
class Opener:
    """Who opens a dispute: the stay's driver, or staff of its operator."""

    uid: str
    role: str  # "driver" | "operator_admin" | "operator_staff" | "super_admin"
    operator_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("operator_admin", "operator_staff", "super_admin")

    def may_open(self, session: sessions.SessionDoc) -> bool:
        if self.role == "super_admin":
            return True
        if self.is_staff:
            return self.operator_id == session.operator_id
        return session.driver_uid == self.uid


def _evidence(db: Client, session: sessions.SessionDoc) -> list[dict[str, Any]]:
    """The stay's timeline, frozen as plain values."""
    facility = facilities.get(db, session.facility_id)
    if facility is None:
        return []
    items = timeline.build(session, facility, timeline.load(db, session))
    return [
        {
            "at": item.at,
            "kind": item.kind,
            "title": item.title,
            "detail": item.detail,
            "source": item.source,
        }
        for item in items
    ]


def open_dispute(
    db: Client, opener: Opener, session_id: str, reason: str, statement: str
) -> dict[str, Any]:
    """Open the stay's dispute; opening it again while it is open returns it unchanged."""
    if reason not in disputes.REASONS:
        raise errors.bad_request(
            f"reason must be one of {', '.join(disputes.REASONS)}", "invalid_reason"
        )
    statement = (statement or "").strip()
    if len(statement) > MAX_STATEMENT:
        raise errors.bad_request(f"At most {MAX_STATEMENT} characters", "statement_too_long")
    session = sessions.get(db, session_id)
    if session is None or not opener.may_open(session) or session.status == sessions.SUPERSEDED:
        # Same answer for "not yours" and "absent": no probing of others' stays.
        raise errors.not_found("No such session")
    payment = session.payment
    if payment is None or payment.status not in DISPUTABLE or not (payment.amount or 0):
        raise errors.not_now("This stay has no charge to dispute", "not_disputable")
    evidence = _evidence(db, session)
    ref = db.collection(disputes.COLLECTION).document(disputes.dispute_id(session_id))

    @firestore.transactional
    def run(transaction: Transaction) -> tuple[DisputeDoc, bool]:
        existing = DisputeDoc.from_snapshot(ref.get(transaction=transaction))
        if existing is not None:
            if existing.status != disputes.OPEN:
                raise errors.conflict("This stay's dispute was already decided", "already_decided")
            return existing, False
        now = datetime.now(UTC)
        doc = DisputeDoc(
            id=ref.id,
            operator_id=session.operator_id,
            facility_id=session.facility_id,
            session_id=session_id,
            uid=session.driver_uid,
            plate=session.plate,
            payment_id=payment.payment_id,
            amount=payment.amount or 0,
            currency=payment.currency or "EUR",
            reason=reason,
            statement=statement,
            opened_by=opener.uid,
            opened_by_role=opener.role,
            status="open",
            evidence=evidence,
            opened_at=now,
            updated_at=now,
        )
        transaction.set(ref, doc.model_dump(by_alias=True, exclude={"id"}))
        return doc, True

    doc, created = run(db.transaction())
    if created:
        logger.info(
            "disputes.opened",
            disputeId=doc.id,
            sessionId=session_id,
            operatorId=doc.operator_id,
            by=opener.role,
        )
    return view(doc)


def view(doc: DisputeDoc) -> dict[str, Any]:
    """The dispute as the app shows it (its evidence is for staff)."""
    body = doc.model_dump(by_alias=True, mode="json", exclude={"evidence"})
    return body


def _refund(
    db: Client,
    actor: Actor,
    dispute: DisputeDoc,
    amount: int | None,
    refund_to: Literal["card", "wallet"],
) -> tuple[int, str | None]:
    """Refund the stay through refunds.py: the card payment first, then what the wallet
    paid. `amount` None refunds everything. Returns (refunded now, a refund id)."""
    session = sessions.get(db, dispute.session_id)
    payment = session.payment if session else None
    if session is None or payment is None:
        raise errors.not_found("No such session")
    request_id = f"dispute:{dispute.id}"
    left = amount
    refunded, refund_id = 0, None
    card_payment = payment.payment_id if payment.status == "succeeded" else None
    if card_payment:
        from parkingdone.models import payments as ledger

        entry = ledger.get(db, card_payment)
        open_card = 0
        if entry is not None and entry.provider == "stripe":
            open_card = entry.amount - sum(
                r.amount for r in entry.refunds if r.status in ("pending", "succeeded")
            )
        take = open_card if left is None else min(left, open_card)
        if take > 0:
            result = refunds.refund(
                db,
                actor,
                card_payment,
                request_id,
                take,
                f"dispute {dispute.id}",
                to_wallet=refund_to == "wallet",
            )
            refunded += take
            refund_id = result["refundId"]
            left = None if left is None else left - take
    wallet_left = int(getattr(payment, "wallet_amount", 0) or 0) - int(
        getattr(payment, "wallet_refunded_amount", 0) or 0
    )
    take = wallet_left if left is None else min(left, wallet_left)
    if take > 0:
        result = refunds.refund_wallet_part(
            db, actor, dispute.session_id, request_id, take, f"dispute {dispute.id}"
        )
        refunded += take
        refund_id = refund_id or result["refundId"]
        left = None if left is None else left - take
    if left:
        raise errors.bad_request("The refund is more than is left to refund", "invalid_amount")
    if payment.status in ("to_invoice", "invoiced") and amount is None:
        invoices.transition(db, actor, dispute.session_id, "cancel", None, f"dispute {dispute.id}")
    return refunded, refund_id


def resolve(
    db: Client,
    actor: Actor,
    dispute_id: str,
    decision: str,
    reason: str,
    refund_amount: int | None = None,
    refund_to: Literal["card", "wallet"] = "card",
) -> dict[str, Any]:
    """An operator admin's decision. Rejecting needs a reason; accepting refunds (all, or
    `refund_amount`). Deciding again the same way returns the decision unchanged."""
    if decision not in ("rejected", "accepted"):
        raise errors.bad_request("decision is rejected or accepted", "invalid_decision")
    reason = (reason or "").strip()[:MAX_DECISION_REASON]
    if not reason:
        raise errors.bad_request("Give the reason for the decision", "missing_reason")
    if refund_amount is not None and refund_amount <= 0:
        raise errors.bad_request("A refund is a positive amount", "invalid_amount")
    dispute = disputes.get(db, dispute_id)
    if dispute is None:
        raise errors.not_found("No such dispute")
    actor.require_admin_of(dispute.operator_id)
    if dispute.status != disputes.OPEN:
        if dispute.status == decision:
            return view(dispute)
        raise errors.conflict("This dispute was already decided", "already_decided")
    refunded, refund_id = 0, None
    if decision == "accepted":
        refunded, refund_id = _refund(db, actor, dispute, refund_amount, refund_to)
    ref = db.collection(disputes.COLLECTION).document(dispute_id)

    @firestore.transactional
    def close(transaction: Transaction) -> tuple[DisputeDoc, bool]:
        current = DisputeDoc.from_snapshot(ref.get(transaction=transaction))
        if current is None:
            raise errors.not_found("No such dispute")
        if current.status != disputes.OPEN:
            return current, False
        now = datetime.now(UTC)
        resolution = disputes.Resolution(
            decision=decision,  # type: ignore[arg-type]
            reason=reason,
            refund_amount=refunded,
            refund_id=refund_id,
            refund_to=refund_to if refunded else None,
            by=actor.uid,
            at=now,
        )
        transaction.update(
            ref,
            {
                "status": decision,
                "resolution": resolution.model_dump(by_alias=True, exclude={"id"}),
                "closedAt": now,
                "updatedAt": now,
            },
        )
        current.status = decision  # type: ignore[assignment]
        current.resolution = resolution
        current.closed_at = now
        return current, True

    closed, changed = close(db.transaction())
    if changed:
        _tell_driver(db, closed)
        logger.info(
            "disputes.resolved",
            disputeId=dispute_id,
            operatorId=closed.operator_id,
            decision=decision,
            refunded=refunded,
        )
    return view(closed)


def _tell_driver(db: Client, dispute: DisputeDoc) -> None:
    facility = facilities.get(db, dispute.facility_id)
    name = facility.name if facility else dispute.facility_id
    resolution = dispute.resolution
    if resolution is None:
        return
    params: dict[str, Any] = {
        "facilityName": name,
        "sessionId": dispute.session_id,
        "disputeId": dispute.id,
    }
    if resolution.decision == "accepted":
        params.update(amount=resolution.refund_amount, currency=dispute.currency)
        notify.push(dispute.uid, "dispute_accepted", params, key=f"{dispute.id}:accepted")
    else:
        params["reason"] = resolution.reason
        notify.push(dispute.uid, "dispute_rejected", params, key=f"{dispute.id}:rejected")


def of_driver(db: Client, uid: str, limit: int = 50) -> list[dict[str, Any]]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = (
        db.collection(disputes.COLLECTION).where(filter=FieldFilter("uid", "==", uid)).limit(limit)
    )
    docs = [d for d in (DisputeDoc.from_snapshot(s) for s in query.get()) if d is not None]
    return [view(d) for d in sorted(docs, key=lambda d: d.opened_at, reverse=True)]
