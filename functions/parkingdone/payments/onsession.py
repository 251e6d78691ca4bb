"""The driver pays in the app: a session whose off-session charge needs authentication or
failed, and saving a card (SetupIntent).

An action-required payment is finished with the same PaymentIntent (its client secret goes
to the app's Stripe SDK). A failed one gets a new attempt: a new payment id and ledger entry,
claimed in a transaction so two taps charge once. A charge whose answer was lost (timeout)
is not failed: it stays pending and is resolved by looking it up (charging.process_session),
never by another attempt.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore import Client, Transaction

from parkingdone import errors
from parkingdone.models.users import COLLECTION as USERS
from parkingdone.payments import charging, lookups, publisher
from parkingdone.payments.ledger import Subject, charge_request, new_entry
from parkingdone.payments.models import PAYMENTS, SESSIONS, LedgerEntry
from parkingdone.payments.provider import ChargeResult, ProviderRejected, ProviderUnavailable
from parkingdone.payments.registry import get_provider
from parkingdone.payments.rules import card_of, has_saved_card, session_payment_id, status_for

PAYABLE = frozenset({"requires_action", "failed"})


def pay_session(db: Client, uid: str, session_id: str) -> dict[str, Any]:
    session_ref = db.collection(SESSIONS).document(session_id)
    snapshot = session_ref.get()
    if not snapshot.exists or (snapshot.to_dict() or {}).get("driverUid") != uid:
        # Same answer for "not yours" and "absent": no probing of other drivers' sessions.
        raise errors.not_found("No such session")
    payment = (snapshot.to_dict() or {}).get("payment") or {}
    status = payment.get("status")
    payment_id = payment.get("paymentId")
    if status in ("succeeded", "paid", "not_required"):
        return {"sessionId": session_id, "status": status, "paymentId": payment_id}
    if status == "pending":
        # An earlier charge's outcome is unknown or under way: resolve it, never re-attempt.
        charging.process_session(session_id, source="app")
        payment = db.collection(SESSIONS).document(session_id).get()
        current = (payment.to_dict() or {}).get("payment") or {}
        return {
            "sessionId": session_id,
            "status": current.get("status"),
            "paymentId": current.get("paymentId"),
        }
    if status not in PAYABLE:
        raise errors.not_now(
            f"This session cannot be paid in the app now ({status})", "not_payable"
        )

    if status == "requires_action" and payment_id:
        entry = LedgerEntry.model_validate(
            db.collection(PAYMENTS).document(payment_id).get().to_dict()
        )
        if entry.provider_payment_id:
            current = _retrieve(entry.provider_payment_id)
            if current.status == "requires_action":
                return {
                    "sessionId": session_id,
                    "status": "requires_action",
                    "paymentId": payment_id,
                    "clientSecret": current.client_secret,
                }
            # The driver already confirmed (the webhook may still be on its way).
            change = charging.record_outcome(db, payment_id, current)
            charging.push_outcome(db, change)
            if current.status == "succeeded":
                return {"sessionId": session_id, "status": "succeeded", "paymentId": payment_id}

    payment_id, request = _claim_new_attempt(db, uid, session_id)
    try:
        result = get_provider().charge(request)
    except ProviderUnavailable as exc:
        # The charge may have gone through: keep the attempt pending and let the retry
        # subscriber (or the driver's next tap) look it up.
        charging.release_after_unknown(db, session_id, payment_id, str(exc))
        publisher.publish_session_retry(session_id)
        return {"sessionId": session_id, "status": "pending", "paymentId": payment_id}
    except ProviderRejected as exc:
        result = ChargeResult("failed", None, None, exc.code, exc.message)
    change = charging.record_outcome(db, payment_id, result)
    charging.push_outcome(db, change)
    return {
        "sessionId": session_id,
        "status": status_for(result),
        "paymentId": payment_id,
        "clientSecret": result.client_secret if result.status == "requires_action" else None,
        "errorCode": result.error_code,
    }


def _retrieve(provider_payment_id: str) -> ChargeResult:
    try:
        return get_provider().retrieve(provider_payment_id)
    except (ProviderUnavailable, ProviderRejected) as exc:
        raise errors.unavailable("Payment provider unavailable; try again") from exc


def _claim_new_attempt(db: Client, uid: str, session_id: str):
    session_ref = db.collection(SESSIONS).document(session_id)

    @firestore.transactional
    def run(transaction: Transaction):
        now = datetime.now(UTC)
        doc = session_ref.get(transaction=transaction).to_dict() or {}
        payment = doc.get("payment") or {}
        if payment.get("status") not in PAYABLE:
            raise errors.conflict("A payment for this session is already under way", "in_progress")
        fee = doc.get("fee") or {}
        # What the wallet already paid at exit is not charged again.
        amount = int(fee.get("total") or payment.get("amount") or 0) - int(
            payment.get("walletAmount") or 0
        )
        if amount <= 0:
            raise errors.not_now("Nothing to pay", "not_payable")
        attempt = int(payment.get("attempt") or 1) + 1
        payment_id = session_payment_id(session_id, attempt)
        profile = lookups.driver_profile(db, uid)
        if not has_saved_card(profile):
            raise errors.not_now("Save a card in the app first", "no_payment_method")
        op = lookups.operator(db, doc["operatorId"])
        card = card_of(profile, op.stripe_account_id)
        if card is None:
            raise errors.not_now("The operator does not take card payments", "not_payable")
        entry = new_entry(
            payment_id,
            Subject(
                "session",
                doc["operatorId"],
                doc["facilityId"],
                session_id=session_id,
                uid=uid,
                plate=doc.get("plate"),
                attempt=attempt,
            ),
            amount=amount,
            currency=str(fee.get("currency") or payment.get("currency")),
            fee_bps=op.platform_fee_bps,
            now=now,
            card=card,
            off_session=False,
            lock_until=now + charging.CLAIM_LOCK,
        )
        transaction.set(db.collection(PAYMENTS).document(payment_id), entry.to_doc())
        transaction.update(
            session_ref,
            {
                "payment.status": "pending",
                "payment.paymentId": payment_id,
                "payment.attempt": attempt,
                "payment.provider": "stripe",
                "payment.platformFee": entry.platform_fee,
                "payment.errorCode": None,
                "payment.updatedAt": now,
                "updatedAt": now,
            },
        )
        return payment_id, charge_request(payment_id, entry)

    return run(db.transaction())


def create_setup_intent(db: Client, uid: str, email: str | None, request_id: str) -> dict[str, Any]:
    """A SetupIntent for the app's Stripe SDK; creates the driver's customer once."""
    provider = get_provider()
    user_ref = db.collection(USERS).document(uid)
    profile = lookups.driver_profile(db, uid)
    customer_id = profile.stripe_customer_id if profile else None
    try:
        if not customer_id:
            # The idempotency key makes a concurrent second call return the same customer.
            customer_id = provider.ensure_customer(uid, email, f"parkingdone:customer:{uid}")
            user_ref.set({"stripeCustomerId": customer_id}, merge=True)
        setup = provider.create_setup_intent(
            customer_id, uid, f"parkingdone:setup:{uid}:{request_id}"
        )
    except (ProviderUnavailable, ProviderRejected) as exc:
        raise errors.unavailable("Payment provider unavailable; try again") from exc
    return {
        "setupIntentId": setup.setup_intent_id,
        "clientSecret": setup.client_secret,
        "customerId": setup.customer_id,
    }
