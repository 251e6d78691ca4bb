"""Stripe implementation of `PaymentProvider`: destination charges on the operator's account.

Customers and saved cards live on the platform account; each charge names the operator's
connected account as `transfer_data.destination` and `on_behalf_of` (the operator is the
merchant of record) and keeps the platform fee as `application_fee_amount`. Every request
carries an idempotency key derived from what it pays for.

Under the emulator the client talks to localstripe, which implements no Connect and rejects
those parameters: `_EmulatorHttpClient` records each outgoing request (so tests can assert
the Connect parameters were sent) and strips only those fields. Production builds the plain
client; nothing here changes its requests.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe
from firebase_functions import logger

from parkingdone import config
from parkingdone.models.emulator_stripe_requests import COLLECTION as EMULATOR_REQUESTS
from parkingdone.payments.provider import (
    ChargeRequest,
    ChargeResult,
    ProviderRejected,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    SetupResult,
)

# Recorded (emulator only) so tests can see what would have reached real Stripe.
# Parameters localstripe does not implement; real Stripe receives them.
_EMULATOR_UNSUPPORTED = (
    "application_fee_amount",
    "transfer_data[destination]",
    "on_behalf_of",
    "reverse_transfer",
    "refund_application_fee",
    "reason",
)


# A lookup reads at most this many pages of 100 PaymentIntents.
_MAX_LOOKUP_PAGES = 20


def _emulator_timeout() -> float:
    """Seconds the emulator's Stripe client waits for an answer (outage tests shorten it)."""
    try:
        return float(config.emulator_setting("STRIPE_TIMEOUT_SECONDS") or 20)
    except ValueError:
        return 20.0


class _EmulatorHttpClient(stripe.RequestsClient):
    """Records every request, then strips the Connect parameters localstripe refuses."""

    def request(self, method: str, url: str, headers: Mapping[str, str] | None, post_data=None):
        return super().request(method, url, headers, self._prepare(method, url, headers, post_data))

    def request_stream(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data=None
    ):
        return super().request_stream(
            method, url, headers, self._prepare(method, url, headers, post_data)
        )

    def _prepare(self, method: str, url: str, headers: Mapping[str, str] | None, post_data):
        if not post_data:
            return post_data
        text = post_data.decode() if isinstance(post_data, bytes) else str(post_data)
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
        params = dict(pairs)
        kept = [(k, v) for k, v in pairs if k not in _EMULATOR_UNSUPPORTED]
        stripped = sorted(k for k, _ in pairs if k in _EMULATOR_UNSUPPORTED)
        try:
            from parkingdone.firebase import db

            db().collection(EMULATOR_REQUESTS).add(
                {
                    "method": method.upper(),
                    "path": urllib.parse.urlsplit(url).path,
                    "params": params,
                    "stripped": stripped,
                    "idempotencyKey": (headers or {}).get("Idempotency-Key"),
                    "sessionId": params.get("metadata[sessionId]"),
                    "passId": params.get("metadata[passId]"),
                    "paymentId": params.get("metadata[paymentId]"),
                    "at": datetime.now(UTC),
                }
            )
        except Exception as exc:  # recording is a test aid; never fail a payment for it
            logger.warn("payments.emulator_record_failed", error=repr(exc))
        return urllib.parse.urlencode(kept)


def _plain(obj: Any) -> dict[str, Any]:
    """Stripe objects as plain dicts (stripe-python 16 objects are not dict-like for .get)."""
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return dict(obj)


def _status_of(intent: dict[str, Any]) -> str:
    status = intent.get("status")
    if status == "succeeded":
        return "succeeded"
    if status in ("requires_action", "requires_confirmation"):
        return "requires_action"
    if status in ("processing", "requires_capture"):
        return "processing"
    if status == "canceled":
        return "canceled"
    return "failed"  # requires_payment_method after a failed attempt


def _result_of(intent: Any) -> ChargeResult:
    intent = _plain(intent)
    status = _status_of(intent)
    error = intent.get("last_payment_error") or {}
    return ChargeResult(
        status=status,  # type: ignore[arg-type]
        provider_payment_id=intent.get("id"),
        client_secret=intent.get("client_secret"),
        error_code=(error.get("decline_code") or error.get("code")) if status == "failed" else None,
        error_message=error.get("message") if status == "failed" else None,
    )


def _transient(exc: stripe.StripeError) -> bool:
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    return isinstance(exc, stripe.APIError) and (exc.http_status or 500) >= 500


class StripeProvider:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient, *, filtered_lists: bool = True) -> None:
        self._client = client
        # localstripe lists PaymentIntents without filters (it refuses `customer`/`created`).
        self._filtered_lists = filtered_lists

    @classmethod
    def from_config(cls) -> StripeProvider:
        key = config.STRIPE_SECRET_KEY.value
        base = config.emulator_setting("STRIPE_API_BASE")
        if base:
            client = stripe.StripeClient(
                key,
                base_addresses={"api": base},
                http_client=_EmulatorHttpClient(timeout=_emulator_timeout()),
                max_network_retries=0,
            )
            return cls(client, filtered_lists=False)
        # Stripe's own retries reuse the idempotency key, so they are safe.
        return cls(stripe.StripeClient(key, max_network_retries=2))

    def ensure_customer(self, uid: str, email: str | None, idempotency_key: str) -> str:
        params: dict[str, Any] = {"metadata": {"uid": uid}}
        if email:
            params["email"] = email
        customer = self._call(
            self._client.v1.customers.create, params, {"idempotency_key": idempotency_key}
        )
        return customer["id"]

    def delete_customer(self, customer_id: str) -> bool:
        # Deleting a customer detaches its payment methods and cancels its subscriptions.
        try:
            self._client.v1.customers.delete(customer_id)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing" or getattr(exc, "http_status", None) == 404:
                return False
            raise self._mapped(exc) from exc
        except stripe.StripeError as exc:
            raise self._mapped(exc) from exc
        return True

    def create_setup_intent(self, customer_id: str, uid: str, idempotency_key: str) -> SetupResult:
        intent = self._call(
            self._client.v1.setup_intents.create,
            {
                "customer": customer_id,
                "usage": "off_session",
                "payment_method_types": ["card"],
                "metadata": {"uid": uid},
            },
            {"idempotency_key": idempotency_key},
        )
        return SetupResult(intent["id"], intent["client_secret"], customer_id)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "customer": request.customer_id,
            "payment_method": request.payment_method_id,
            "payment_method_types": ["card"],
            "confirm": True,
            "metadata": dict(request.metadata),
            "application_fee_amount": request.application_fee,
            "transfer_data": {"destination": request.connected_account},
            "on_behalf_of": request.connected_account,
        }
        if request.off_session:
            params["off_session"] = True
        try:
            intent = self._client.v1.payment_intents.create(
                params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.CardError as exc:
            return self._card_error(exc)
        except stripe.StripeError as exc:
            raise self._mapped(exc) from exc
        return _result_of(intent)

    def retrieve(self, provider_payment_id: str) -> ChargeResult:
        intent = self._call(self._client.v1.payment_intents.retrieve, provider_payment_id)
        return _result_of(intent)

    def find_charge(self, request: ChargeRequest) -> ChargeResult | None:
        """The PaymentIntent whose metadata names this payment id, newest first.

        Lists the customer's PaymentIntents (listing is strongly consistent; Stripe's search
        lags by up to a minute). A miss is then followed by a charge with the same
        idempotency key, which real Stripe answers with the first result anyway.
        """
        payment_id = request.metadata.get("paymentId")
        if not payment_id:
            return None
        params: dict[str, Any] = {"limit": 100}
        if self._filtered_lists:
            params["customer"] = request.customer_id
        for _page in range(_MAX_LOOKUP_PAGES):
            page = self._call(self._client.v1.payment_intents.list, params)
            intents = page.get("data") or []
            for intent in intents:
                if (intent.get("metadata") or {}).get("paymentId") == payment_id:
                    return _result_of(intent)
            if not page.get("has_more") or not intents:
                return None
            params["starting_after"] = intents[-1]["id"]
        raise ProviderUnavailable(f"lookup of {payment_id} did not finish")

    def refund(self, request: RefundRequest) -> RefundResult:
        params: dict[str, Any] = {
            "payment_intent": request.provider_payment_id,
            "amount": request.amount,
            "metadata": dict(request.metadata),
            # Destination charge: take the money back from the operator's account and
            # return the platform fee in proportion.
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
        if request.reason:
            params["reason"] = request.reason
        refund = self._call(
            self._client.v1.refunds.create, params, {"idempotency_key": request.idempotency_key}
        )
        status = refund.get("status")
        mapped = (
            "succeeded"
            if status == "succeeded"
            else "failed"
            if status
            in (
                "failed",
                "canceled",
            )
            else "pending"
        )
        return RefundResult(refund["id"], mapped, int(refund.get("amount") or request.amount))

    # --- errors ---------------------------------------------------------------------------

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return _plain(method(*args))
        except stripe.StripeError as exc:
            raise self._mapped(exc) from exc

    @staticmethod
    def _mapped(exc: stripe.StripeError) -> Exception:
        if _transient(exc):
            return ProviderUnavailable(f"{type(exc).__name__}: {exc.user_message or exc}")
        return ProviderRejected(exc.code or type(exc).__name__, str(exc.user_message or exc))

    @staticmethod
    def _card_error(exc: stripe.CardError) -> ChargeResult:
        error = _plain(exc.error)
        intent = _plain(error.get("payment_intent"))
        intent_id = intent.get("id")
        secret = intent.get("client_secret")
        if exc.code == "authentication_required":
            # Real Stripe's answer to an off-session charge that needs 3-D Secure.
            return ChargeResult("requires_action", intent_id, secret, exc.code, exc.user_message)
        decline = error.get("decline_code")
        return ChargeResult(
            "failed", intent_id, None, decline or exc.code or "card_error", exc.user_message
        )
