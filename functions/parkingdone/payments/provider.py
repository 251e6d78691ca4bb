"""The payment-provider interface: what charging, passes and refunds need from a PSP.

Session and pass code talk only to `PaymentProvider`; Stripe is one implementation
(`stripe_provider.py`). Another PSP is added by implementing this protocol and returning it
from `registry.get_provider`, without touching the session code.

Outcomes are plain values; a declined card is an outcome, not an exception. Only a failure
that may pass on its own (network, rate limit, provider 5xx) raises `ProviderUnavailable`,
so the caller records it and retries later with the same idempotency key.

A `ProviderUnavailable` from `charge` means the outcome is unknown: the charge may have gone
through and only its answer been lost. The attempt then stays pending, and whoever takes it
up again first asks `find_charge` and charges (with the same key) only if nothing is found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ChargeStatus = Literal["succeeded", "requires_action", "failed", "processing", "canceled"]


class ProviderUnavailable(Exception):
    """A transient provider failure: retry later with the same idempotency key."""


class ProviderRejected(Exception):
    """The provider refused a request for a reason retrying will not fix (bad parameters)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ChargeRequest:
    """One charge of a saved payment method.

    `connected_account` receives the funds (destination charge on the operator's account,
    which is also the merchant of record); `application_fee` stays with the platform.
    """

    amount: int
    currency: str
    customer_id: str
    payment_method_id: str
    connected_account: str
    application_fee: int
    idempotency_key: str
    off_session: bool = True
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    provider_payment_id: str | None = None
    # Handed to the app so it can finish authentication with the provider's SDK; never logged.
    client_secret: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    provider_payment_id: str
    amount: int
    idempotency_key: str
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    status: Literal["succeeded", "pending", "failed"]
    amount: int


@dataclass(frozen=True)
class SetupResult:
    setup_intent_id: str
    client_secret: str
    customer_id: str


class PaymentProvider(Protocol):
    name: str

    def ensure_customer(self, uid: str, email: str | None, idempotency_key: str) -> str:
        """A provider customer for the driver; returns its id."""
        ...

    def create_setup_intent(self, customer_id: str, uid: str, idempotency_key: str) -> SetupResult:
        """Start saving a card for later off-session charges (collected by the app's SDK)."""
        ...

    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def retrieve(self, provider_payment_id: str) -> ChargeResult: ...

    def find_charge(self, request: ChargeRequest) -> ChargeResult | None:
        """The charge an earlier try of `request` created, found by its `paymentId` metadata;
        None if there is none. How an unknown outcome (a timeout) is resolved without
        charging twice."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def delete_customer(self, customer_id: str) -> bool:
        """Delete the driver's customer with its saved payment methods (GDPR deletion);
        False when it was already gone."""
        ...


def platform_fee(amount: int, fee_bps: int) -> int:
    """The platform's share of `amount` in minor units, rounded half up (5 % of 600 = 30)."""
    if amount <= 0 or fee_bps <= 0:
        return 0
    return min(amount, (amount * fee_bps + 5000) // 10000)
