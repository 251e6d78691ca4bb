"""Corrections: a stay already charged that later-arriving events changed is put right.

When re-pairing changes a charged session, the session store sets `correctionPending: true`
on it (and `status: "superseded"` with `supersededBy` when the stay no longer exists as such;
its correct fee is then 0). `correct_session` then:
1. recomputes the fee of the session as it now is and sums what was collected for it by card
   (net of refunds), leaving out what this same correction did already;
2. refunds the difference through the refund path, or charges the additional amount through
   the charging path (a claimed ledger entry, an idempotency key, lookup before a re-charge);
3. records the correction on the session (`corrections`, and an item of its evidence
   timeline), updates its fee, clears `correctionPending` and pushes the driver.

Every step is keyed by the correction id (derived from the session as it now is), so a rerun
after a crash refunds or charges nothing twice. A failure that may pass raises `RetryLater`
and leaves `correctionPending` set for the payment sweep.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import errors, firebase, tariffs
from parkingdone.payments import charging, lookups, notify, refunds
from parkingdone.payments.access import SYSTEM
from parkingdone.payments.ledger import Subject, charge_request, new_entry
from parkingdone.payments.models import PAYMENTS, SESSIONS, LedgerEntry, SessionView
from parkingdone.payments.provider import ChargeResult, ProviderRejected, ProviderUnavailable
from parkingdone.payments.rules import (
    card_of,
    compute_session_fee,
    session_payment_id,
    status_for,
)

# While the stay's own charge is still under way the correction waits for it.
WAITING_STATUSES = frozenset({"pending"})


def correction_id(session_id: str, doc: dict[str, Any]) -> str:
    """Stable for one state of the session: the same correction rerun gets the same id."""
    exit_at = (doc.get("exit") or {}).get("at")
    entry_at = (doc.get("entry") or {}).get("at")
    basis = "|".join(
        str(x)
        for x in (
            session_id,
            doc.get("status"),
            entry_at.isoformat() if isinstance(entry_at, datetime) else entry_at,
            exit_at.isoformat() if isinstance(exit_at, datetime) else exit_at,
            len(doc.get("corrections") or []),
        )
    )
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def refund_request_id(cid: str) -> str:
    return f"correction-{cid}"


def extra_payment_id(session_id: str, cid: str) -> str:
    return f"s_{session_id}_c{cid}"


def collected(entries: list[tuple[str, LedgerEntry]], session_id: str, cid: str) -> int:
    """Money collected by card for the session, net of refunds, before this correction."""
    total = 0
    own_extra = extra_payment_id(session_id, cid)
    for payment_id, entry in entries:
        if entry.status != "succeeded" or entry.provider != "stripe" or payment_id == own_extra:
            continue
        own_refund = refunds.refund_id_for(payment_id, refund_request_id(cid))
        refunded = sum(
            r.amount for r in entry.refunds if r.status == "succeeded" and r.id != own_refund
        )
        total += entry.amount - refunded
    return total


def _entries(db: Client, session_id: str) -> list[tuple[str, LedgerEntry]]:
    query = db.collection(PAYMENTS).where(filter=FieldFilter("sessionId", "==", session_id))
    return [(s.id, LedgerEntry.model_validate(s.to_dict())) for s in query.get()]


def correct_session(session_id: str) -> str:
    """Idempotent; returns what happened ("refunded", "charged", "unchanged", ...)."""
    db = firebase.db()
    ref = db.collection(SESSIONS).document(session_id)
    snapshot = ref.get()
    if not snapshot.exists:
        return "no_session"
    doc = snapshot.to_dict() or {}
    if not doc.get("correctionPending"):
        return "nothing_pending"
    payment = doc.get("payment") or {}
    if payment.get("status") in WAITING_STATUSES:
        raise charging.RetryLater("the stay's own charge is still under way")
    if doc.get("status") == "open":
        return "waiting_for_exit"  # corrected when it closes again (on_session_closed)
    session = SessionView.model_validate({**doc, "id": session_id})
    fac = lookups.facility(db, session.operator_id, session.facility_id)
    fee_doc: dict[str, Any] | None = None
    if doc.get("status") == "superseded":
        correct, currency = 0, str(payment.get("currency") or fac.currency)
    else:
        try:
            fee = compute_session_fee(fac, session)
        except (tariffs.TariffError, ValueError) as exc:
            logger.error("payments.correction_unpriceable", sessionId=session_id, error=str(exc))
            return "unpriceable"
        correct, currency = fee.total, fee.currency
        fee_doc = fee.model_dump(by_alias=True, mode="json")

    cid = correction_id(session_id, doc)
    entries = _entries(db, session_id)
    first_charge = session_payment_id(session_id, 1)
    if any(pid == first_charge and e.status in WAITING_STATUSES for pid, e in entries):
        # Claimed on the ledger, its outcome not on the session yet.
        raise charging.RetryLater("the stay's own charge is still under way")
    # What the driver's wallet paid at exit counts as collected too (rules.plan_collection).
    from_wallet = int(payment.get("walletAmount") or 0) - int(
        payment.get("walletRefundedAmount") or 0
    )
    before = collected(entries, session_id, cid) + from_wallet
    difference = correct - before
    outcome: dict[str, Any] = {"kind": "none"}
    if difference < 0:
        outcome = _refund(db, entries, -difference, cid)
        back_to_wallet = min(int(outcome.get("unrefunded") or 0), from_wallet)
        if back_to_wallet > 0:
            refunds.refund_wallet_part(
                db, SYSTEM, session_id, refund_request_id(cid), back_to_wallet, "correction"
            )
            outcome["walletRefunded"] = back_to_wallet
            left = outcome.pop("unrefunded") - back_to_wallet
            if left:
                outcome["unrefunded"] = left
    elif difference > 0 and before > 0:
        outcome = _charge_extra(db, session_id, session, doc, difference, currency, cid)
    elif difference > 0:
        # Nothing was collected by card (free, invoiced, failed, held): the normal charge
        # path owns the stay; the correction only records the new fee.
        outcome = {"kind": "none", "note": "not_collected_by_card"}

    changed = _finish(ref, cid, before, correct, difference, currency, fee_doc, outcome)
    if changed and session.driver_uid and outcome["kind"] in ("refund", "charge"):
        kind = "payment_refunded" if outcome["kind"] == "refund" else "payment_extra_charged"
        notify.push(
            session.driver_uid,
            kind,
            {
                "sessionId": session_id,
                "facilityId": session.facility_id,
                "facilityName": fac.name,
                "amount": abs(difference),
                "currency": currency,
                "paymentId": outcome.get("paymentId"),
            },
            key=f"{session_id}:correction:{cid}",
        )
    logger.info(
        "payments.correction",
        sessionId=session_id,
        correctionId=cid,
        collectedBefore=before,
        fee=correct,
        difference=difference,
        outcome=outcome["kind"],
    )
    return {"refund": "refunded", "charge": "charged"}.get(outcome["kind"], "unchanged")


def _refund(
    db: Client, entries: list[tuple[str, LedgerEntry]], amount: int, cid: str
) -> dict[str, Any]:
    """Refund `amount` from the session's card payments, newest first."""
    left = amount
    done: list[dict[str, Any]] = []
    paid = [(pid, e) for pid, e in entries if e.status == "succeeded" and e.provider == "stripe"]
    paid.sort(key=lambda item: item[1].paid_at or item[1].created_at, reverse=True)
    for payment_id, entry in paid:
        if left <= 0:
            break
        own = refunds.refund_id_for(payment_id, refund_request_id(cid))
        available = refunds.refundable(entry, exclude=own)
        take = min(left, available)
        if take <= 0:
            continue
        try:
            result = refunds.refund(
                db, SYSTEM, payment_id, refund_request_id(cid), amount=take, reason="correction"
            )
        except errors.ApiError as exc:
            raise charging.RetryLater(f"correction refund: {exc.message}") from exc
        done.append({"paymentId": payment_id, "refundId": result["refundId"], "amount": take})
        left -= take
    outcome: dict[str, Any] = {"kind": "refund", "refunds": done}
    if done:
        outcome["paymentId"] = done[0]["paymentId"]
    if left > 0:
        outcome["unrefunded"] = left  # more than was collected by card: for review
    return outcome


def _charge_extra(
    db: Client,
    session_id: str,
    session: SessionView,
    doc: dict[str, Any],
    amount: int,
    currency: str,
    cid: str,
) -> dict[str, Any]:
    """Charge the additional amount off-session: a claimed ledger entry of its own."""
    payment_id = extra_payment_id(session_id, cid)
    ledger_ref = db.collection(PAYMENTS).document(payment_id)

    @firestore.transactional
    def claim(transaction: Transaction) -> tuple[str, Any]:
        now = datetime.now(UTC)
        existing = ledger_ref.get(transaction=transaction)
        if existing.exists:
            entry = LedgerEntry.model_validate(existing.to_dict())
            if entry.status != "pending":
                return entry.status, None
            if entry.updated_at > now - charging.CLAIM_LOCK:
                raise charging.RetryLater("the additional charge is in flight")
            transaction.update(ledger_ref, {"updatedAt": now})
            return "resolve", charge_request(payment_id, entry)
        op = lookups.operator(db, session.operator_id)
        card = card_of(lookups.driver_profile(db, session.driver_uid), op.stripe_account_id)
        if card is None:
            return "no_payment_method", None
        entry = new_entry(
            payment_id,
            Subject(
                "session",
                session.operator_id,
                session.facility_id,
                session_id=session_id,
                uid=session.driver_uid,
                plate=session.plate,
                attempt=int((doc.get("payment") or {}).get("attempt") or 1),
            ),
            amount=amount,
            currency=currency,
            fee_bps=op.platform_fee_bps,
            now=now,
            card=card,
        )
        transaction.set(ledger_ref, entry.to_doc())
        return "charge", charge_request(payment_id, entry)

    state, request = claim(db.transaction())
    if request is not None:
        try:
            result = charging.charge_or_resolve(request, resolve=state == "resolve")
        except ProviderUnavailable as exc:
            # Outcome unknown: the entry stays pending; the rerun looks the charge up first.
            raise charging.RetryLater(f"additional charge: {exc}") from exc
        except ProviderRejected as exc:
            result = ChargeResult("failed", None, None, exc.code, exc.message)
        charging.record_outcome(db, payment_id, result)
        state = status_for(result)
    return {"kind": "charge", "paymentId": payment_id, "status": state}


def _finish(
    ref: firestore.DocumentReference,
    cid: str,
    before: int,
    correct: int,
    difference: int,
    currency: str,
    fee_doc: dict[str, Any] | None,
    outcome: dict[str, Any],
) -> bool:
    """Record the correction once and clear the flag; False if it was recorded already."""

    @firestore.transactional
    def run(transaction: Transaction) -> bool:
        now = datetime.now(UTC)
        doc = ref.get(transaction=transaction).to_dict() or {}
        corrections = list(doc.get("corrections") or [])
        if any(c.get("id") == cid for c in corrections):
            transaction.update(ref, {"correctionPending": False})
            return False
        record = {
            "id": cid,
            "at": now,
            "collectedBefore": before,
            "fee": correct,
            "difference": difference,
            "currency": currency,
            **outcome,
        }
        evidence = list(doc.get("evidence") or [])
        evidence.append(
            {
                "kind": "payment_correction",
                "eventId": cid,
                "at": now,
                "status": "recorded",
                "difference": difference,
                "currency": currency,
                "outcome": outcome["kind"],
            }
        )
        fields: dict[str, Any] = {
            "corrections": [*corrections, record],
            "evidence": evidence,
            "correctionPending": False,
            "updatedAt": now,
        }
        if fee_doc is not None:
            fields["fee"] = fee_doc
        transaction.update(ref, fields)
        return True

    return run(firebase.db().transaction())
