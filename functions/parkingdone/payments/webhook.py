"""POST /api/stripe/webhook: Stripe's events about payments, refunds and saved cards.

Its own function (`stripeWebhook`, reached through a Hosting rewrite), so that only it holds
the webhook secret, with its own body limit: Stripe's events can be far larger than our other
JSON bodies, and one refused with 413 is retried by Stripe, then dropped.

The signature is verified with the STRIPE_WEBHOOK_SECRET parameter before anything is read.
Events are idempotent by Stripe event id (stripeEvents/{id} is written once the handler
succeeded); the handlers are idempotent state transitions too, so a replay that races the
first delivery changes nothing. A failing handler answers 500 so that Stripe retries;
event types we do not handle answer 200.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import stripe
from firebase_functions import logger
from flask import Flask, jsonify, request
from google.cloud.firestore import Client

from parkingdone import config, firebase
from parkingdone.errors import ApiError
from parkingdone.http import create_app
from parkingdone.models.users import COLLECTION as USERS
from parkingdone.payments import charging, refunds
from parkingdone.payments.models import STRIPE_EVENTS
from parkingdone.payments.stripe_provider import _result_of

PAYMENT_INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.requires_action",
    }
)
MAX_STRIPE_BODY = 512 * 1024


def receive() -> tuple[dict[str, Any], int]:
    """The answer to the current request: the event verified, then handled once."""
    payload = request.get_data(cache=False)
    signature = request.headers.get("Stripe-Signature", "")
    try:
        secret = config.STRIPE_WEBHOOK_SECRET.value
    except Exception as exc:  # a missing secret is our misconfiguration: let Stripe retry
        raise ApiError(500, "not_configured", "Webhook secret unavailable") from exc
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise ApiError(400, "invalid_signature", "Stripe signature verification failed") from exc
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_event", "Body is not a Stripe event") from exc
    if not _is_event(event):
        raise ApiError(400, "malformed_event", "Body is not a Stripe event")
    try:
        outcome = handle_event(firebase.db(), event)
    except Exception as exc:
        logger.error(
            "payments.stripe_event_failed",
            eventId=event.get("id"),
            type=event.get("type"),
            error=repr(exc),
        )
        raise ApiError(500, "handler_failed", "Event handling failed; retry later") from exc
    return {"received": True, "result": outcome}, 200


def build_app() -> Flask:
    app = create_app("parkingdone-stripe-webhook", max_body_bytes=MAX_STRIPE_BODY)

    # Through Hosting the path is /api/stripe/webhook; on the function's own URL it is /.
    @app.post("/api/stripe/webhook")
    @app.post("/")
    def _stripe_webhook():
        body, status = receive()
        return jsonify(body), status

    return app


def _is_event(event: Any) -> bool:
    """The shape handle_event reads: an object with an id, its data.object an object."""
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return False
    data = event.get("data")
    return isinstance(data, dict) and isinstance(data.get("object"), dict)


def handle_event(db: Client, event: dict[str, Any]) -> str:
    """Process one verified event once; returns what happened (for the response and logs)."""
    event_id = str(event.get("id") or "")
    event_type = str(event.get("type") or "")
    if not event_id:
        raise ValueError("event without id")
    record = db.collection(STRIPE_EVENTS).document(event_id)
    if record.get().exists:
        return "duplicate"
    obj = (event.get("data") or {}).get("object") or {}
    if event_type in PAYMENT_INTENT_EVENTS:
        outcome = _payment_intent(db, obj)
    elif event_type == "charge.refunded":
        outcome = refunds.sync_from_charge(db, obj)
    elif event_type == "setup_intent.succeeded":
        outcome = _setup_succeeded(db, obj)
    else:
        outcome = "unhandled"
    metadata = obj.get("metadata") or {}
    record.set(
        {
            "type": event_type,
            "objectId": obj.get("id"),
            "paymentId": metadata.get("paymentId"),
            "result": outcome,
            "livemode": bool(event.get("livemode")),
            "created": event.get("created"),
            "processedAt": datetime.now(UTC),
        }
    )
    logger.info(
        "payments.stripe_event", eventId=event_id, type=event_type, result=outcome, **metadata
    )
    return outcome


def _payment_intent(db: Client, intent: dict[str, Any]) -> str:
    payment_id = (intent.get("metadata") or {}).get("paymentId")
    if not payment_id:
        return "not_ours"
    change = charging.record_outcome(db, payment_id, _result_of(intent))
    charging.push_outcome(db, change)
    return f"updated:{change.status}" if change else "unchanged"


def _setup_succeeded(db: Client, intent: dict[str, Any]) -> str:
    """A card saved through a SetupIntent becomes the driver's default payment method."""
    uid = (intent.get("metadata") or {}).get("uid")
    method = intent.get("payment_method")
    if not uid or not isinstance(method, str):
        return "not_ours"
    user = db.collection(USERS).document(uid)
    if not user.get().exists:
        return "unknown_user"
    fields: dict[str, Any] = {"defaultPaymentMethodId": method}
    if isinstance(intent.get("customer"), str):
        fields["stripeCustomerId"] = intent["customer"]
    user.update(fields)
    return "card_saved"


app = build_app()
