"""The driver's wallet at an operator: a prepaid balance in minor units and its movements.

Every change of a balance is one movement (`walletMovements/{id}`) written in the same
transaction as the balance (`wallets/{operatorId}__{uid}`), and the movement's id is its
idempotency key: a movement that already exists is never applied again, and a change that
would take the balance below zero is refused inside the transaction. Two exits of the same
driver charged at the same moment therefore cannot spend one euro twice: their
transactions both read the wallet, and Firestore makes the second retry on the first's
result.

Money enters a wallet by a top-up (a card payment on the operator's connected account, with
the platform fee as application fee, recorded as the ledger entry `w_{id}` of kind
`wallet_topup`; the balance moves when that payment succeeds, in charging.record_outcome's
transaction), by a refund sent to the wallet (refunds.py) or by a staff credit with a reason.
It leaves when a stay is charged at exit (charging's claim: the wallet first, the card the
rest, as rules.plan_collection decides).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, DocumentReference, Transaction

from parkingdone import errors, settings
from parkingdone.models import wallet_movements, wallets
from parkingdone.payments import lookups, notify
from parkingdone.payments.ledger import Subject, charge_request, new_entry
from parkingdone.payments.models import PAYMENTS, LedgerEntry
from parkingdone.payments.provider import (
    ChargeRequest,
)
from parkingdone.payments.rules import card_of, has_saved_card

TOPUP_KIND = "wallet_topup"


class InsufficientBalance(Exception):
    """A movement would take the balance below zero (a bug in the caller's plan)."""


@dataclass
class State:
    """A wallet as read inside a transaction, with whether a movement already happened."""

    ref: DocumentReference
    operator_id: str
    uid: str
    balance: int
    currency: str | None
    exists: bool
    movement_ref: DocumentReference | None = None
    movement_done: bool = False


def movement_id(kind: str, key: str) -> str:
    return f"{kind}_{key}"


def _hashed(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


def topup_payment_id(uid: str, operator_id: str, request_id: str) -> str:
    return f"w_{_hashed(uid, operator_id, request_id)}"


def read(
    db: Client,
    transaction: Transaction,
    operator_id: str,
    uid: str,
    movement: str | None = None,
) -> State:
    """The wallet (and, with `movement`, whether that movement exists), read in the
    transaction before any of its writes."""
    ref = db.collection(wallets.COLLECTION).document(wallets.wallet_id(operator_id, uid))
    snapshot = ref.get(transaction=transaction)
    doc = snapshot.to_dict() or {}
    state = State(
        ref=ref,
        operator_id=operator_id,
        uid=uid,
        balance=int(doc.get("balance") or 0),
        currency=doc.get("currency"),
        exists=snapshot.exists,
    )
    if movement:
        state.movement_ref = db.collection(wallet_movements.COLLECTION).document(movement)
        state.movement_done = state.movement_ref.get(transaction=transaction).exists
    return state


def apply(
    transaction: Transaction,
    state: State,
    kind: str,
    amount: int,
    currency: str,
    now: datetime,
    **links: Any,
) -> int:
    """Write the movement read in `state` (signed `amount`) and the new balance; returns it.
    A movement already applied changes nothing."""
    if state.movement_ref is None:
        raise ValueError("read the wallet with the movement id first")
    if state.movement_done:
        return state.balance
    if state.currency and state.currency != currency:
        raise errors.not_now("The wallet holds another currency", "currency_mismatch")
    balance = state.balance + amount
    if balance < 0:
        raise InsufficientBalance(f"wallet {state.ref.id}: {state.balance} {amount:+d}")
    transaction.set(
        state.movement_ref,
        wallet_movements.MovementDoc(
            operator_id=state.operator_id,
            uid=state.uid,
            wallet_id=state.ref.id,
            kind=kind,  # type: ignore[arg-type]
            amount=amount,
            balance_after=balance,
            currency=currency,
            at=now,
            **links,
        ).model_dump(by_alias=True, exclude={"id"}),
    )
    fields: dict[str, Any] = {
        "operatorId": state.operator_id,
        "uid": state.uid,
        "balance": balance,
        "currency": currency,
        "updatedAt": now,
    }
    if not state.exists:
        fields["createdAt"] = now
    transaction.set(state.ref, fields, merge=True)
    state.balance, state.movement_done, state.exists = balance, True, True
    return balance


# --- paying a stay (called inside charging's claim) -----------------------------------------


def read_for_stay(
    db: Client, transaction: Transaction, operator_id: str, uid: str | None, session_id: str
) -> State | None:
    """The driver's wallet for a stay's claim; None for a stay without a registered driver."""
    if not uid:
        return None
    return read(db, transaction, operator_id, uid, movement_id("stay", session_id))


def pay_stay(
    transaction: Transaction,
    state: State,
    amount: int,
    currency: str,
    session_id: str,
    now: datetime,
) -> int:
    """Take `amount` of a stay's fee from the wallet (the plan made sure it is there)."""
    return apply(transaction, state, "stay", -amount, currency, now, session_id=session_id)


# --- top-up from the app -------------------------------------------------------------------


def top_up(db: Client, uid: str, operator_id: str, amount: int, request_id: str) -> dict[str, Any]:
    """Charge the saved card `amount` on the operator's account and, once paid, add it to
    the wallet. The same request id never charges twice."""
    if not settings.WALLET_TOPUP_MIN_MINOR <= amount <= settings.WALLET_TOPUP_MAX_MINOR:
        raise errors.bad_request(
            f"A top-up is between {settings.WALLET_TOPUP_MIN_MINOR} and "
            f"{settings.WALLET_TOPUP_MAX_MINOR} (minor units)",
            "invalid_amount",
        )
    from parkingdone.payments import charging  # charging calls this module in its claim

    payment_id = topup_payment_id(uid, operator_id, request_id)
    ledger_ref = db.collection(PAYMENTS).document(payment_id)
    wallet_ref = db.collection(wallets.COLLECTION).document(wallets.wallet_id(operator_id, uid))

    @firestore.transactional
    def claim(transaction: Transaction) -> tuple[str, ChargeRequest | None]:
        now = datetime.now(UTC)
        existing = ledger_ref.get(transaction=transaction)
        wallet = wallet_ref.get(transaction=transaction).to_dict() or {}
        if existing.exists:
            entry = LedgerEntry.model_validate(existing.to_dict())
            if entry.uid != uid:
                raise errors.not_found("No such top-up")
            stale = entry.updated_at < now - charging.CLAIM_LOCK
            if entry.status == "pending" and stale:
                transaction.update(ledger_ref, {"updatedAt": now})
                return "resolve", charge_request(payment_id, entry)
            return entry.status, None
        try:
            op = lookups.operator(db, operator_id)
        except LookupError as exc:
            raise errors.not_found("No such operator") from exc
        if int(wallet.get("balance") or 0) + amount > settings.WALLET_MAX_BALANCE_MINOR:
            raise errors.not_now(
                f"A wallet holds at most {settings.WALLET_MAX_BALANCE_MINOR} (minor units)",
                "balance_limit",
            )
        profile = lookups.driver_profile(db, uid)
        if not has_saved_card(profile):
            raise errors.not_now("Save a card in the app first", "no_payment_method")
        card = card_of(profile, op.stripe_account_id)
        if card is None:
            raise errors.not_now("The operator does not take card payments", "not_available")
        entry = new_entry(
            payment_id,
            Subject(TOPUP_KIND, operator_id, "", uid=uid),  # type: ignore[arg-type]
            amount=amount,
            currency=op.currency,
            fee_bps=op.platform_fee_bps,
            now=now,
            card=card,
            off_session=False,
        )
        transaction.set(ledger_ref, entry.to_doc())
        return "charge", charge_request(payment_id, entry)

    state, request = claim(db.transaction())
    state, client_secret = charging.settle_in_app(
        db, payment_id, state, request, "payments.topup_provider_unavailable"
    )
    balance = wallets.get(db, operator_id, uid)
    logger.info("payments.wallet_topup", paymentId=payment_id, operatorId=operator_id, status=state)
    return {
        "paymentId": payment_id,
        "status": state,
        "clientSecret": client_secret,
        "balance": balance.balance if balance else 0,
        "currency": balance.currency if balance else None,
    }


def credit_topup(
    db: Client,
    transaction: Transaction,
    wallet_snapshot: Any,
    entry: LedgerEntry,
    payment_id: str,
    now: datetime,
) -> None:
    """A top-up payment succeeded: add it to the wallet (inside record_outcome's transaction,
    which moves the ledger entry to succeeded exactly once; `wallet_snapshot` is its read)."""
    doc = wallet_snapshot.to_dict() or {}
    ref = wallet_snapshot.reference
    state = State(
        ref=ref,
        operator_id=entry.operator_id,
        uid=entry.uid or "",
        balance=int(doc.get("balance") or 0),
        currency=doc.get("currency"),
        exists=wallet_snapshot.exists,
        movement_ref=db.collection(wallet_movements.COLLECTION).document(
            movement_id("topup", payment_id)
        ),
    )
    apply(
        transaction,
        state,
        "topup",
        entry.amount,
        entry.currency,
        now,
        payment_id=payment_id,
    )


def wallet_ref_of(db: Client, entry: LedgerEntry) -> DocumentReference:
    return db.collection(wallets.COLLECTION).document(
        wallets.wallet_id(entry.operator_id, entry.uid or "")
    )


# --- staff credit -------------------------------------------------------------------------


def credit(
    db: Client,
    operator_id: str,
    uid: str,
    amount: int,
    reason: str,
    request_id: str,
    by: str,
) -> dict[str, Any]:
    """A goodwill credit by the operator's staff (the dashboard audits who and why). The
    same request id credits once."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.bad_request("Give a reason for the credit", "missing_reason")
    if not 0 < amount <= settings.WALLET_CREDIT_MAX_MINOR:
        raise errors.bad_request(
            f"A credit is between 1 and {settings.WALLET_CREDIT_MAX_MINOR} (minor units)",
            "invalid_amount",
        )
    op = lookups.operator(db, operator_id)
    movement = movement_id("credit", _hashed(operator_id, uid, request_id))

    @firestore.transactional
    def run(transaction: Transaction) -> tuple[int, bool]:
        state = read(db, transaction, operator_id, uid, movement)
        if state.movement_done:
            return state.balance, False
        if state.balance + amount > settings.WALLET_MAX_BALANCE_MINOR:
            raise errors.not_now("The wallet would hold too much", "balance_limit")
        now = datetime.now(UTC)
        return apply(
            transaction, state, "credit", amount, op.currency, now, reason=reason[:200], by=by
        ), True

    balance, changed = run(db.transaction())
    if changed:
        notify.push(
            uid,
            "wallet_credited",
            {"facilityName": op.name, "amount": amount, "currency": op.currency},
            key=movement,
        )
    return {"movementId": movement, "balance": balance, "currency": op.currency, "changed": changed}


def summary(db: Client, operator_id: str, uid: str, limit: int = 50) -> dict[str, Any]:
    """The driver's balance at the operator and its latest movements (for the app)."""
    wallet = wallets.get(db, operator_id, uid)
    movements = wallet_movements.of_wallet(db, wallets.wallet_id(operator_id, uid), limit)
    return {
        "operatorId": operator_id,
        "balance": wallet.balance if wallet else 0,
        "currency": wallet.currency if wallet else None,
        "movements": [
            {**m.model_dump(by_alias=True, mode="json", exclude={"id"}), "id": m.id}
            for m in movements
        ],
    }
