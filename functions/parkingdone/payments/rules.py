"""Pure rules of collecting money for a stay: who pays what, and how. No I/O.

`plan_collection` is the one decision the claim acts on: given the stay's fee and what is
known of its facility, operator and driver, how the fee is collected (`Collection`).
The claim (charging.py) only reads the inputs and writes what the plan says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parkingdone import tariffs, tenants
from parkingdone.payments.models import DriverPaymentProfile, SessionView
from parkingdone.payments.provider import ChargeResult

# Statuses from which a provider outcome may still move the payment.
OPEN_STATUSES = frozenset({"pending", "requires_action", "failed", "dead_letter"})
# Why a stay is held for review instead of charged.
REVIEW_OVER_MAX_STAY = "over_max_stay"
REVIEW_ABOVE_THRESHOLD = "above_review_threshold"


class PaymentInvariantError(RuntimeError):
    """Data that breaks a rule of the ledger (a bug or a hand edit), never a passing failure.

    Raised instead of `assert` so the check also holds under `python -O`.
    """


class Collection(StrEnum):
    """How a stay's fee is collected; the value is the reason the claim reports."""

    NOT_REQUIRED = "not_required"  # nothing to pay (free period, zero fee)
    REVIEW = "review_required"  # held for a person: over the maximum stay, fee too high
    INVOICE = "to_invoice"  # no registered driver: the operator invoices the keeper
    INVOICE_NO_PROVIDER = "operator_without_provider"  # the operator takes no card payments
    NO_PAYMENT_METHOD = "no_payment_method"  # registered driver without a saved card: told
    WALLET = "wallet"  # the driver's wallet at the operator covers the whole fee
    CHARGE = "charge"  # off-session charge of the driver's saved card (after the wallet's part)


@dataclass(frozen=True)
class Card:
    """A saved card of a driver and the operator account the charge is made on."""

    customer_id: str
    payment_method_id: str
    provider_account_id: str


@dataclass(frozen=True)
class Plan:
    collection: Collection
    review_reason: str | None = None
    card: Card | None = None
    # The part of the fee the driver's wallet pays; the card is charged the rest.
    from_wallet: int = 0


@dataclass(frozen=True)
class Split:
    from_wallet: int
    from_card: int


def split_with_wallet(fee_total: int, wallet_balance: int, *, has_card: bool) -> Split:
    """The wallet pays first and the saved card the rest. Without a card the wallet is used
    only when it covers the whole fee: a part-paid stay with nothing to charge the rest to
    would leave money taken and the stay still unpaid."""
    from_wallet = min(max(wallet_balance, 0), max(fee_total, 0))
    if from_wallet < fee_total and not has_card:
        return Split(0, fee_total)
    return Split(from_wallet, fee_total - from_wallet)


def has_saved_card(profile: DriverPaymentProfile | None) -> bool:
    return bool(profile and profile.stripe_customer_id and profile.default_payment_method_id)


def card_of(profile: DriverPaymentProfile | None, provider_account_id: str | None) -> Card | None:
    """The card a charge can use, or None when the driver has none or the operator no
    payment provider account."""
    if profile is None or not provider_account_id or not has_saved_card(profile):
        return None
    return Card(
        profile.stripe_customer_id or "",
        profile.default_payment_method_id or "",
        provider_account_id,
    )


def plan_collection(
    *,
    facility: tenants.Facility,
    session: SessionView,
    fee_total: int,
    profile: DriverPaymentProfile | None,
    provider_account_id: str | None,
    wallet_balance: int = 0,
) -> Plan:
    """Who pays `fee_total` for this stay, and how. The order is the business's priority:
    a held stay is never charged, a free one never billed, an anonymous one invoiced; a
    registered driver's wallet at the operator pays first, the saved card the rest."""
    held_for = review_reason(facility, session, fee_total)
    if held_for is not None:
        return Plan(Collection.REVIEW, review_reason=held_for)
    if fee_total == 0:
        return Plan(Collection.NOT_REQUIRED)
    if session.driver_uid is None or profile is None:
        return Plan(Collection.INVOICE)
    card = card_of(profile, provider_account_id)
    split = split_with_wallet(fee_total, wallet_balance, has_card=card is not None)
    if split.from_card == 0:
        return Plan(Collection.WALLET, from_wallet=split.from_wallet)
    if not provider_account_id:
        return Plan(Collection.INVOICE_NO_PROVIDER)
    if card is None:
        return Plan(Collection.NO_PAYMENT_METHOD)
    return Plan(Collection.CHARGE, card=card, from_wallet=split.from_wallet)


def is_close_transition(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """True only for the write that closes the session; our own later writes are ignored."""
    if not after or after.get("status") != "closed":
        return False
    return (before or {}).get("status") != "closed"


def session_payment_id(session_id: str, attempt: int) -> str:
    return f"s_{session_id}_{attempt}"


def idempotency_key(payment_id: str) -> str:
    return f"parkingdone:charge:{payment_id}"


def status_for(result: ChargeResult) -> str:
    """The payment status a provider outcome leads to."""
    return {
        "succeeded": "succeeded",
        "requires_action": "requires_action",
        "processing": "pending",
    }.get(result.status, "failed")


def outcome_applies(current: str, new: str) -> bool:
    """Whether an outcome may replace the recorded status (a success is never undone)."""
    # Replays of the same status are filtered by the caller (same status and intent).
    return current in OPEN_STATUSES and new in OPEN_STATUSES | {"succeeded"}


def review_reason(facility: tenants.Facility, session: SessionView, fee_total: int) -> str | None:
    """Why this fee must not be charged automatically, or None when it may be."""
    if REVIEW_OVER_MAX_STAY in session.flags:
        return REVIEW_OVER_MAX_STAY
    if fee_total > facility.review_threshold_minor:
        return REVIEW_ABOVE_THRESHOLD
    return None


def retry_delay_seconds(tries: int) -> int:
    """Back-off before the next try after `tries` tries without an answer: 30 s doubling,
    at most 30 min."""
    return min(30 * 2 ** max(tries - 1, 0), 1800)


def compute_session_fee(facility: tenants.Facility, session: SessionView) -> tariffs.Fee:
    if session.exit is None:
        raise tariffs.TariffError("the session has no exit")
    tariff = tariffs.Tariff(
        facility_id=facility.id,
        versions=tuple(tariffs.TariffVersion.model_validate(v) for v in facility.tariffs),
    )
    return tariffs.compute_fee(tariff, session.entry.at, session.exit.at)
