"""Charging at exit: a closed session gets its fee, its payment, its receipt and a push.

Flow for one session (`process_session`), safe under at-least-once delivery:
1. Claim (one transaction): compute the fee with the tariff version in force at entry and
   decide how it is collected. A card charge is claimed on its ledger entry alone
   (payments/{paymentId}, "pending", with the fee and a short lock `lockUntil`); the session
   is not written yet, so the claim wakes no session trigger. Every other way of collecting
   (invoice, nothing to pay, held for review, no card) is known at once and recorded on the
   session (`fee` + `payment`) and the ledger together. A second delivery finds the ledger
   entry (its id is derived from the session id) or the session's `payment` and stops; a
   pending claim is owned by whoever holds its lock.
2. Charge off-session through the provider, with an idempotency key derived from the
   payment id (itself derived from the session id and attempt number).
3. Record the outcome (one transaction): the ledger, the session's one write (`fee` and its
   `payment` summary, `ledger.session_summary`) and for a success the receipt with the
   operator's next number. A replay of the outcome writes nothing. An outcome that stays
   unknown (provider unreachable) is recorded on the session as "pending" too, so the sweep
   and operations see it.
4. Push the outcome to the driver.

Charge-once therefore holds even where the provider ignores idempotency keys (localstripe):
only the holder of the Firestore claim calls the provider, and a claim taken over (its holder
died, or the provider's answer was lost to a timeout) is first resolved by looking the
charge up by its payment id, and charged again, with the same idempotency key, only when
the provider has none. An unknown outcome never opens a new attempt.

Money waits until the stay is settled: a facility's settle window (`chargeSettleSeconds`)
delays the charge after the close so late events can still re-pair the stay, and a stay over
the maximum stay or with a fee above the facility's review threshold is held for review
instead of charged. Work that keeps failing ends as `dead_letter` (see retry.py).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction

from parkingdone import errors, firebase, messages, settings, tariffs, tenants
from parkingdone.models import sessions
from parkingdone.payments import notify, publisher, receipts, wallet
from parkingdone.payments.ledger import Subject, charge_request, new_entry, session_summary
from parkingdone.payments.lookups import driver_profile, facility, operator
from parkingdone.payments.models import PASSES, PAYMENTS, SESSIONS, LedgerEntry, SessionView
from parkingdone.payments.provider import (
    ChargeRequest,
    ChargeResult,
    ProviderRejected,
    ProviderUnavailable,
)
from parkingdone.payments.registry import get_provider
from parkingdone.payments.rules import (
    Collection,
    PaymentInvariantError,
    Plan,
    compute_session_fee,
    is_close_transition,
    outcome_applies,
    plan_collection,
    retry_delay_seconds,
    review_reason,
    session_payment_id,
    status_for,
)

# A claim older than this is presumed abandoned (its function instance died mid-charge).
CLAIM_LOCK = timedelta(seconds=60)
# A claim may race the stay's other deliveries and, with a wallet, the driver's other exits on
# one balance; Firestore retries a contended transaction, and a claim given up is only found
# again by the payment sweep, so it gets more attempts than the client's default 5.
CLAIM_ATTEMPTS = 20
# After this many tries that reached no answer the payment is dead-lettered: its outcome is
# unknown, so it is neither failed (payable again) nor retried forever.
MAX_PROVIDER_TRIES = 8


class RetryLater(Exception):
    """The work could not finish now for a passing reason; the caller should redeliver."""


# --- step 1: the claim ----------------------------------------------------------------------


class Step(StrEnum):
    """What the flow does after the claim."""

    SKIP = "skip"  # nothing to do now (done, not ours, settling, invoiced, held...)
    CHARGE = "charge"  # call the provider (or first look up an earlier try's charge)
    NOTIFY = "notify"  # tell the driver the stay could not be charged


@dataclass
class Decision:
    step: Step
    reason: str = ""
    payment_id: str | None = None
    request: ChargeRequest | None = None
    uid: str | None = None
    push_kind: str | None = None
    push_params: dict[str, Any] | None = None
    # True when an earlier try may have charged already: look the charge up first.
    resolve: bool = False
    push_key: str | None = None


def _push_facts(
    session_id: str, session: SessionView, facility_name: str, amount: int, currency: str
) -> dict[str, Any]:
    return {
        "sessionId": session_id,
        "facilityId": session.facility_id,
        "facilityName": facility_name,
        "plate": session.plate,
        "amount": amount,
        "currency": currency,
    }


def _claim(db: Client, session_id: str, source: str, as_of: datetime | None) -> Decision:
    """Read the stay, decide (rules.plan_collection) and record the decision in one
    transaction. `as_of`: the instant the settle window, locks and back-off are judged at
    (the sweep's clock; now by default)."""
    session_ref = db.collection(SESSIONS).document(session_id)

    @firestore.transactional
    def run(transaction: Transaction) -> Decision:
        now = datetime.now(UTC)
        gate = as_of or now
        snapshot = session_ref.get(transaction=transaction)
        if not snapshot.exists:
            return Decision(Step.SKIP, "no_session")
        session = SessionView.model_validate({**snapshot.to_dict(), "id": session_id})
        if session.status != "closed":
            return Decision(Step.SKIP, f"status_{session.status}")
        if session.payment is not None:
            if session.payment.get("status") != "pending":
                return Decision(Step.SKIP, f"already_{session.payment.get('status')}")
            return _reclaim(transaction, session, session.payment["paymentId"], now, gate)
        # A card charge claimed but without an outcome yet lives on its ledger entry only.
        first_id = session_payment_id(session_id, 1)
        if db.collection(PAYMENTS).document(first_id).get(transaction=transaction).exists:
            return _reclaim(transaction, session, first_id, now, gate)
        if session.charge_at is not None and session.charge_at > gate:
            return Decision(Step.SKIP, "settling")
        try:
            fac = facility(db, session.operator_id, session.facility_id)
            op = operator(db, session.operator_id)
        except LookupError as exc:
            # Retrying cannot fix a missing tenant: record it where operations see it.
            transaction.update(
                session_ref,
                {"payment": dead_letter_fields(str(exc), now, code="tenant_not_found")},
            )
            return Decision(Step.SKIP, "dead_letter")
        try:
            fee = compute_session_fee(fac, session)
        except (tariffs.TariffError, ValueError) as exc:
            # Unpriceable (no tariff in force, bad data): flagged for review, never charged.
            transaction.update(
                session_ref,
                {
                    "payment": {
                        "status": "failed",
                        "errorCode": "unpriceable",
                        "errorMessage": str(exc)[:300],
                        "createdAt": now,
                        "updatedAt": now,
                    },
                    "updatedAt": now,
                },
            )
            return Decision(Step.SKIP, "unpriceable")
        purse = wallet.read_for_stay(
            db, transaction, session.operator_id, session.driver_uid, session_id
        )
        plan = plan_collection(
            facility=fac,
            session=session,
            fee_total=fee.total,
            profile=driver_profile(db, session.driver_uid),
            provider_account_id=op.stripe_account_id,
            wallet_balance=purse.balance if purse and purse.currency in (None, fee.currency) else 0,
        )
        if plan.from_wallet and purse is not None:
            wallet.pay_stay(transaction, purse, plan.from_wallet, fee.currency, session_id, now)
        fields, entry = _record_plan(db, transaction, session, op, fee, plan, now)
        if fields is not None:
            transaction.update(session_ref, sessions.stamped({**fields, "updatedAt": now}))
        return _decision_of(session, fac, fee, plan, entry)

    def _reclaim(
        transaction: Transaction,
        session: SessionView,
        payment_id: str,
        now: datetime,
        gate: datetime,
    ) -> Decision:
        """A pending claim: leave it to its holder while locked, else take it over (a ledger
        write only: the session is written with the outcome)."""
        ledger_ref = db.collection(PAYMENTS).document(payment_id)
        entry = LedgerEntry.model_validate(ledger_ref.get(transaction=transaction).to_dict())
        if entry.status != "pending":
            return Decision(Step.SKIP, f"already_{entry.status}")
        if entry.lock_until is not None and entry.lock_until > gate:
            return Decision(Step.SKIP, "in_flight")
        next_at = (session.payment or {}).get("nextAttemptAt")
        if next_at is not None and next_at > gate and source != "replay":
            return Decision(Step.SKIP, "backing_off")
        transaction.update(ledger_ref, {"lockUntil": now + CLAIM_LOCK, "updatedAt": now})
        # Taken over: the earlier holder may have charged and lost the answer.
        return Decision(
            Step.CHARGE,
            "reclaim",
            payment_id,
            resolve=True,
            request=charge_request(payment_id, entry),
            uid=session.driver_uid,
        )

    return run(db.transaction(max_attempts=CLAIM_ATTEMPTS))


def _record_plan(
    db: Client,
    transaction: Transaction,
    session: SessionView,
    op: tenants.Operator,
    fee: tariffs.Fee,
    plan: Plan,
    now: datetime,
) -> tuple[dict[str, Any] | None, LedgerEntry | None]:
    """Write the plan: for a fee that is collected, its ledger entry; returns the session's
    fee and payment fields, or None for a card charge (the session is written once, with
    its outcome)."""
    fee_doc = fee.model_dump(by_alias=True, mode="json")
    payment: dict[str, Any] = {
        "amount": fee.total,
        "currency": fee.currency,
        "attempt": 1,
        "createdAt": now,
        "updatedAt": now,
    }
    if plan.collection is Collection.REVIEW:
        payment.update(status="review_required", reason=plan.review_reason, paymentId=None)
        return {"fee": fee_doc, "payment": payment}, None
    if plan.collection is Collection.NOT_REQUIRED:
        payment.update(status="not_required", paymentId=None)
        return {"fee": fee_doc, "payment": payment}, None
    if plan.from_wallet:
        payment["walletAmount"] = plan.from_wallet
    if plan.collection is Collection.WALLET:
        payment.update(status="succeeded", provider="wallet", paymentId=None, paidAt=now)
        return {"fee": fee_doc, "payment": payment}, None
    payment_id = session_payment_id(session.id, 1)
    no_card = plan.collection is Collection.NO_PAYMENT_METHOD
    charge = plan.collection is Collection.CHARGE
    entry = new_entry(
        payment_id,
        Subject(
            "session",
            session.operator_id,
            session.facility_id,
            session_id=session.id,
            uid=session.driver_uid,
            plate=session.plate,
        ),
        amount=fee.total - plan.from_wallet,
        currency=fee.currency,
        fee_bps=op.platform_fee_bps,
        now=now,
        card=plan.card,
        provider="none" if no_card else None,
        status="failed" if no_card else None,
        error_code=(
            plan.collection.value
            if plan.collection in (Collection.INVOICE_NO_PROVIDER, Collection.NO_PAYMENT_METHOD)
            else None
        ),
        fee=fee_doc,
        lock_until=now + CLAIM_LOCK if charge else None,
        wallet_amount=plan.from_wallet,
    )
    transaction.set(db.collection(PAYMENTS).document(payment_id), entry.to_doc())
    if charge:
        return None, entry
    return {"fee": fee_doc, "payment": session_summary(payment_id, entry)}, entry


def _decision_of(
    session: SessionView,
    fac: tenants.Facility,
    fee: tariffs.Fee,
    plan: Plan,
    entry: LedgerEntry | None,
) -> Decision:
    """What the flow does after the claim for this plan (pure)."""
    payment_id = session_payment_id(session.id, 1)
    if plan.collection is Collection.CHARGE:
        if entry is None:
            raise PaymentInvariantError(f"charge of {session.id} without a ledger entry")
        return Decision(
            Step.CHARGE,
            "charge",
            payment_id,
            request=charge_request(payment_id, entry),
            uid=session.driver_uid,
        )
    if plan.collection is Collection.NO_PAYMENT_METHOD:
        return Decision(
            Step.NOTIFY,
            plan.collection.value,
            payment_id,
            uid=session.driver_uid,
            push_kind="payment_failed",
            push_params={
                **_push_facts(session.id, session, fac.name, fee.total, fee.currency),
                "reason": plan.collection.value,
            },
        )
    if plan.collection is Collection.WALLET:
        return Decision(
            Step.NOTIFY,
            plan.collection.value,
            uid=session.driver_uid,
            push_kind="wallet_paid",
            push_params=_push_facts(session.id, session, fac.name, fee.total, fee.currency),
            push_key=f"{session.id}:wallet",
        )
    return Decision(Step.SKIP, plan.collection.value)


def dead_letter_fields(error: str, now: datetime, *, code: str, attempts: int = 1) -> dict:
    """A payment (or its fields) that no automatic retry will take up again; see retry.py."""
    return {
        "status": "dead_letter",
        "errorCode": code,
        "lastError": error[:300],
        "attempts": attempts,
        "deadLetteredAt": now,
        "updatedAt": now,
    }


# --- step 3: the outcome ----------------------------------------------------------------


@dataclass
class OutcomeChange:
    """What an outcome changed, for the push after the transaction."""

    kind: str
    status: str
    payment_id: str
    uid: str | None
    operator_id: str
    facility_id: str
    amount: int
    currency: str
    session_id: str | None
    pass_id: str | None
    plate: str | None
    receipt_number: str | None
    client_secret: str | None = None


def record_outcome(db: Client, payment_id: str, result: ChargeResult) -> OutcomeChange | None:
    """Apply a provider outcome to the ledger and its session or pass; None if nothing changed.

    Used by the charge after a claim, by the Stripe webhook and by the on-session callables;
    a replayed or out-of-date outcome changes nothing.
    """
    ledger_ref = db.collection(PAYMENTS).document(payment_id)
    new_status = status_for(result)

    @firestore.transactional
    def run(transaction: Transaction) -> OutcomeChange | None:
        now = datetime.now(UTC)
        ledger = ledger_ref.get(transaction=transaction)
        if not ledger.exists:
            return None
        entry = LedgerEntry.model_validate(ledger.to_dict())
        same_intent = (
            entry.provider_payment_id is None
            or result.provider_payment_id is None
            or entry.provider_payment_id == result.provider_payment_id
        )
        if not same_intent or not outcome_applies(entry.status, new_status):
            return None
        if entry.status == new_status and entry.provider_payment_id == result.provider_payment_id:
            return None
        if entry.kind == wallet.TOPUP_KIND:
            subject_ref = wallet.wallet_ref_of(db, entry)
        elif entry.kind == "session":
            subject_ref = db.collection(SESSIONS).document(entry.session_id)
        else:
            subject_ref = db.collection(PASSES).document(entry.pass_id or "")
        subject = subject_ref.get(transaction=transaction)
        subject_doc = subject.to_dict() or {}
        counter = None
        if new_status == "succeeded":
            counter = receipts.counter_snapshot(db, transaction, entry.operator_id)

        updates: dict[str, Any] = {
            "status": new_status,
            "providerPaymentId": result.provider_payment_id or entry.provider_payment_id,
            "errorCode": result.error_code if new_status != "succeeded" else None,
            "errorMessage": result.error_message if new_status != "succeeded" else None,
            "updatedAt": now,
        }
        receipt_number = None
        if new_status == "succeeded" and counter is not None:
            op = operator(db, entry.operator_id)
            language = receipts.language_for(db, entry.uid, op.language)
            number = receipts.next_number(counter)
            receipt = receipts.build(
                operator_id=entry.operator_id,
                seller_name=op.name,
                facility_id=entry.facility_id,
                payment_id=payment_id,
                number=number,
                issued_at=now,
                currency=entry.currency,
                total=entry.amount,
                vat_rate_bps=op.vat_rate_bps,
                lines=receipts.lines_from_fee(
                    (subject_doc.get("fee") or entry.fee) if entry.kind == "session" else None,
                    messages.text("receipt.wallet_topup", language)
                    if entry.kind == wallet.TOPUP_KIND
                    else subject_doc.get("productName"),
                    entry.amount,
                    language,
                ),
                session_id=entry.session_id,
                pass_id=entry.pass_id,
                uid=entry.uid,
                plate=entry.plate,
                language=language,
            )
            receipts.write(db, transaction, receipt, payment_id, now)
            receipt_number = receipt.receipt_number
            updates.update(paidAt=now, receiptId=payment_id, receiptNumber=receipt_number)
        transaction.update(ledger_ref, {**updates, "lockUntil": None})

        if entry.kind == wallet.TOPUP_KIND:
            if new_status == "succeeded":
                wallet.credit_topup(db, transaction, subject, entry, payment_id, now)
        elif subject.exists:
            if entry.kind == "session":
                fields = session_payment_write(subject_doc, payment_id, entry, updates)
                if fields is not None:
                    transaction.update(subject_ref, sessions.stamped({**fields, "updatedAt": now}))
            elif subject_doc.get("paymentId") == payment_id:
                pass_status = {"succeeded": "active", "failed": "cancelled"}.get(new_status)
                fields = {"updatedAt": now, "paymentStatus": new_status}
                if pass_status and subject_doc.get("status") == "pending":
                    fields["status"] = pass_status
                if new_status == "succeeded":
                    fields["paidAt"] = now
                transaction.update(subject_ref, fields)
        return OutcomeChange(
            kind=entry.kind,
            status=new_status,
            payment_id=payment_id,
            uid=entry.uid,
            operator_id=entry.operator_id,
            facility_id=entry.facility_id,
            amount=entry.amount,
            currency=entry.currency,
            session_id=entry.session_id,
            pass_id=entry.pass_id,
            plate=entry.plate,
            receipt_number=receipt_number,
            client_secret=result.client_secret,
        )

    return run(db.transaction())


def session_payment_write(
    session: dict[str, Any], payment_id: str, entry: LedgerEntry, fields: dict[str, Any]
) -> dict[str, Any] | None:
    """The session update that records `fields` (camelCase payment fields) of its payment
    `payment_id`, or None when the session's payment is another one (pure).

    A session whose card charge was claimed has no `payment` yet: this is its one write, the
    whole summary of the ledger entry and the fee the charge is for."""
    current = session.get("payment") or {}
    if current.get("paymentId") == payment_id:
        return {f"payment.{k}": v for k, v in fields.items()}
    if current or entry.session_id is None:
        return None
    if payment_id != session_payment_id(entry.session_id, 1):
        return None
    update: dict[str, Any] = {"payment": {**session_summary(payment_id, entry), **fields}}
    if not session.get("fee") and entry.fee is not None:
        update["fee"] = entry.fee
    return update


PUSH_KINDS = {
    "succeeded": "payment_succeeded",
    "requires_action": "payment_action_required",
    "failed": "payment_failed",
}


def push_outcome(db: Client, change: OutcomeChange | None) -> None:
    if change is None or change.status not in PUSH_KINDS:
        return
    try:
        if change.kind == wallet.TOPUP_KIND:
            name = operator(db, change.operator_id).name
        else:
            name = facility(db, change.operator_id, change.facility_id).name
    except LookupError:
        name = change.facility_id or change.operator_id
    params: dict[str, Any] = {
        "facilityId": change.facility_id,
        "facilityName": name,
        "plate": change.plate,
        "amount": change.amount,
        "currency": change.currency,
        "paymentId": change.payment_id,
    }
    if change.session_id:
        params["sessionId"] = change.session_id
    if change.pass_id:
        params["passId"] = change.pass_id
    if change.receipt_number:
        params["receiptNumber"] = change.receipt_number
        params["receiptId"] = change.payment_id
    kind = PUSH_KINDS[change.status]
    if change.kind == wallet.TOPUP_KIND and change.status == "succeeded":
        kind = "wallet_topped_up"
    notify.push(change.uid, kind, params, key=f"{change.payment_id}:{change.status}")


# --- in-app purchases: passes and wallet top-ups ---------------------------------------


def settle_in_app(
    db: Client, payment_id: str, state: str, request: ChargeRequest | None, log_event: str
) -> tuple[str, str | None]:
    """Charge an in-app purchase its claim left as `state` with `request` (a pass, a wallet
    top-up): the provider call, its recorded outcome and push. Returns the payment status and,
    while the driver must still confirm the charge (3-D Secure), its client secret.

    Provider down → 503 with nothing recorded as failed: the driver's retry (same request id)
    finds the claim and resolves it."""
    if request is not None:
        try:
            result = charge_or_resolve(request, resolve=state == "resolve")
        except ProviderUnavailable as exc:
            logger.warn(log_event, paymentId=payment_id, error=str(exc))
            raise errors.unavailable("Payment provider unavailable; try again") from exc
        except ProviderRejected as exc:
            result = ChargeResult("failed", None, None, exc.code, exc.message)
        push_outcome(db, record_outcome(db, payment_id, result))
        secret = result.client_secret if result.status == "requires_action" else None
        return status_for(result), secret
    if state == "requires_action":
        entry = LedgerEntry.model_validate(
            db.collection(PAYMENTS).document(payment_id).get().to_dict()
        )
        if entry.provider_payment_id:
            return state, get_provider().retrieve(entry.provider_payment_id).client_secret
    return state, None


# --- unknown outcomes and transient failures -------------------------------------------


def charge_or_resolve(request: ChargeRequest, *, resolve: bool) -> ChargeResult:
    """Charge, or first find the charge an earlier try may have made (`resolve`).

    Raises ProviderUnavailable when the provider cannot be reached: the outcome is then
    unknown and the caller keeps the attempt pending.
    """
    provider = get_provider()
    if resolve:
        found = provider.find_charge(request)
        if found is not None:
            logger.info(
                "payments.outcome_resolved",
                paymentId=request.metadata.get("paymentId"),
                providerPaymentId=found.provider_payment_id,
                status=found.status,
            )
            return found
    return provider.charge(request)


def release_after_unknown(db: Client, session_id: str, payment_id: str, error: str) -> int:
    """Keep the attempt pending with its outcome unknown and its claim released; dead-letter
    it after MAX_PROVIDER_TRIES. Returns the number of tries so far (0: not ours any more)."""
    session_ref = db.collection(SESSIONS).document(session_id)
    ledger_ref = db.collection(PAYMENTS).document(payment_id)

    @firestore.transactional
    def run(transaction: Transaction) -> int:
        now = datetime.now(UTC)
        snapshot = session_ref.get(transaction=transaction)
        ledger = ledger_ref.get(transaction=transaction)
        session = snapshot.to_dict() or {}
        payment = session.get("payment") or {}
        if not ledger.exists or payment.get("status", "pending") != "pending":
            return 0
        entry = LedgerEntry.model_validate(ledger.to_dict())
        if entry.status != "pending":
            return 0
        tries = int(payment.get("attempts", 0)) + 1
        released: dict[str, Any] = {"lockUntil": None, "updatedAt": now}
        if tries >= MAX_PROVIDER_TRIES:
            fields = dead_letter_fields(error, now, code="provider_unavailable", attempts=tries)
            released["status"] = "dead_letter"
        else:
            fields = {
                "attempts": tries,
                "lastError": error[:300],
                "outcomeUnknown": True,
                "nextAttemptAt": now + timedelta(seconds=retry_delay_seconds(tries)),
                "updatedAt": now,
            }
        update = session_payment_write(session, payment_id, entry, fields)
        if update is None:
            return 0
        transaction.update(ledger_ref, released)
        transaction.update(session_ref, {**update, "updatedAt": now})
        return tries

    return run(db.transaction())


# --- the whole flow -------------------------------------------------------------------------


def process_session(
    session_id: str, *, source: str = "trigger", as_of: datetime | None = None
) -> str:
    """Fee, charge, outcome, receipt and push for a closed session; returns what happened.

    `source` "retry" raises `RetryLater` on a transient failure (and while backing off) so
    Pub/Sub redelivers; any other source publishes a retry message instead. "replay" (by
    hand) ignores the back-off.
    """
    db = firebase.db()
    decision = _claim(db, session_id, source, as_of)
    log = {"sessionId": session_id, "paymentId": decision.payment_id, "source": source}
    if decision.step is Step.SKIP:
        log_skip = logger.error if decision.reason == "dead_letter" else logger.info
        log_skip("payments.session_skipped", reason=decision.reason, **log)
        if decision.reason in ("in_flight", "backing_off") and source == "retry":
            raise RetryLater(f"not yet: {decision.reason}")
        return decision.reason
    if decision.step is Step.NOTIFY:
        logger.info("payments.session_unpaid", reason=decision.reason, **log)
        notify.push(
            decision.uid,
            decision.push_kind or "payment_failed",
            decision.push_params or {},
            key=decision.push_key or f"{decision.payment_id}:failed",
        )
        return decision.reason

    if decision.request is None or decision.payment_id is None:
        raise PaymentInvariantError(f"a charge of {session_id} without its request")
    started = time.monotonic()
    try:
        result = charge_or_resolve(decision.request, resolve=decision.resolve)
    except ProviderUnavailable as exc:
        # The charge may have gone through: pending, never failed (which would be payable
        # again under a new attempt and key).
        tries = release_after_unknown(db, session_id, decision.payment_id, str(exc))
        logger.warn("payments.provider_unavailable", tries=tries, error=str(exc), **log)
        if tries >= MAX_PROVIDER_TRIES:
            logger.error("payments.dead_letter", tries=tries, error=str(exc), **log)
            return "dead_letter"
        if source == "retry":
            raise RetryLater(str(exc)) from exc
        publisher.publish_session_retry(session_id)
        return "retry_scheduled"
    except ProviderRejected as exc:
        result = ChargeResult("failed", None, None, exc.code, exc.message)
    change = record_outcome(db, decision.payment_id, result)
    logger.info(
        "payments.charged",
        status=result.status,
        providerPaymentId=result.provider_payment_id,
        errorCode=result.error_code,
        amount=decision.request.amount,
        applicationFee=decision.request.application_fee,
        ms=round((time.monotonic() - started) * 1000, 1),
        **log,
    )
    push_outcome(db, change)
    return status_for(result)


SETTLE_FUNCTION = "chargeSettledSession"


def early_wait_seconds(charge_at: datetime | None, now: datetime) -> float:
    """How long a settle task arriving at `now` waits before charging (0: charge now), or
    RetryLater when it is too early to wait in the handler."""
    if charge_at is None:
        return 0.0
    early = (charge_at - now).total_seconds()
    if early > settings.SETTLE_TASK_MAX_WAIT_SECONDS:
        raise RetryLater(f"charged at {charge_at.isoformat()}")
    return max(early, 0.0)


def settle_task_id(session_id: str) -> str:
    """Stable per session, so a repeated close schedules the charge once (Cloud Tasks ids
    allow letters, digits, - and _ only)."""
    return "settle-" + hashlib.sha256(session_id.encode()).hexdigest()[:40]


def on_session_closed(session_id: str, session: dict[str, Any]) -> str:
    """A session has just closed: charge it now, or after its facility's settle window.

    Called by the session trigger on the change to "closed". With a window the charge is a
    Cloud Tasks task (`chargeSettledSession`) delayed by the window, the session carries
    `chargeAt` (every other path waits for it too) and the driver is told when the charge
    happens. A lost task is not lost work: the payment sweep charges settled sessions.
    """
    db = firebase.db()
    if session.get("correctionPending"):
        # Re-pairing reopened and closed a stay that was already charged.
        correct_session(session_id)
        return "corrected"
    try:
        fac = facility(db, session.get("operatorId", ""), session.get("facilityId", ""))
        window = max(fac.charge_settle_seconds, 0)
    except LookupError:
        window = 0  # the claim dead-letters it
    if window == 0:
        return _process_now(session_id)
    now = datetime.now(UTC)
    charge_at = now + timedelta(seconds=window)
    db.collection(SESSIONS).document(session_id).update({"chargeAt": charge_at, "updatedAt": now})
    _enqueue_settle(session_id, window)
    _push_exit(db, session_id, session, fac, window)
    return "scheduled"


def _process_now(session_id: str) -> str:
    try:
        return process_session(session_id, source="trigger")
    except Exception as exc:
        # Triggers are never redelivered: hand the session to the retry subscriber.
        logger.error("payments.trigger_failed", sessionId=session_id, error=repr(exc))
        publisher.publish_session_retry(session_id)
        return "retry_scheduled"


def _enqueue_settle(session_id: str, window: int) -> None:
    from parkingdone import tasks

    try:
        tasks.enqueue(
            SETTLE_FUNCTION,
            {"sessionId": session_id},
            delay_seconds=window,
            task_id=settle_task_id(session_id),
        )
    except Exception as exc:  # the sweep charges it once the window has passed
        logger.error("payments.settle_enqueue_failed", sessionId=session_id, error=repr(exc))


def _push_exit(
    db: Client, session_id: str, session: dict[str, Any], fac: tenants.Facility, window: int
) -> None:
    """Tell the driver the stay ended and when it is charged (with the fee as it stands)."""
    try:
        view = SessionView.model_validate({**session, "id": session_id})
        fee = compute_session_fee(fac, view)
    except (tariffs.TariffError, ValueError):
        return
    if fee.total == 0 or review_reason(fac, view, fee.total) is not None:
        return
    params = {
        **_push_facts(session_id, view, fac.name, fee.total, fee.currency),
        "chargeInMinutes": max(1, -(-window // 60)),
    }
    notify.push(view.driver_uid, "exit_charge_scheduled", params, key=f"{session_id}:exit")


def charge_settled_session(session_id: str) -> str:
    """Task handler: charge a session once its settle window has passed.

    The Cloud Tasks emulator dispatches at once, ignoring the delay (production honours it):
    a task that arrives before `chargeAt` waits out the rest here when that is at most
    settings.SETTLE_TASK_MAX_WAIT_SECONDS, and raises otherwise so Cloud Tasks tries again later.
    """
    if not session_id:
        return "ignored"
    snapshot = firebase.db().collection(SESSIONS).document(session_id).get()
    charge_at = (snapshot.to_dict() or {}).get("chargeAt") if snapshot.exists else None
    wait = early_wait_seconds(charge_at, datetime.now(UTC))
    if wait:
        time.sleep(wait)
    result = process_session(session_id, source="settle")
    if result == "settling":
        raise RetryLater(f"session {session_id} is still settling")
    return result


def correct_session(session_id: str) -> str:
    """Put right a charged stay that later events changed (see corrections.py)."""
    from parkingdone.payments import corrections

    return corrections.correct_session(session_id)


def on_session_updated(session_id: str, before: dict | None, after: dict | None) -> str | None:
    """Entry point of the Firestore trigger: act only on the transition to "closed"."""
    if not is_close_transition(before, after):
        return None
    return on_session_closed(session_id, after or {})
