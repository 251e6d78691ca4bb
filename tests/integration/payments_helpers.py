"""Helpers shared by the payments integration tests: sessions, cards, Stripe-side counts."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from google.cloud.firestore import Client

from parkingdone.models import emulator_stripe_requests, push_tokens, sessions, users
from tests.support.services import stripe_client

# The Kamppi P1 example of the integration page: 14:23 → 16:05 Helsinki time (UTC+3 on 2026-03-30).
# Two days ago (inside the late-event bound), one local day in Helsinki: 1 h 42 min.
ENTRY = (datetime.now(UTC) - timedelta(days=2)).replace(hour=11, minute=23, second=0, microsecond=0)
EXIT = ENTRY.replace(hour=13, minute=5)
# Attaches fine, declined when charged (4000000000000002 is refused already at attach).
DECLINED_CARD = "4000000000000341"
AUTH_CARD = "4000002500003155"


def open_session(
    db: Client,
    demo: Any,
    session_id: str,
    *,
    entry: datetime = ENTRY,
    driver_uid: str | None = "demo",
    plate: str = "ABC123",
    closed_at: datetime | None = None,
) -> None:
    """Create a session; with `closed_at` it is created closed (no update trigger fires)."""
    now = datetime.now(UTC)
    sessions.ref(db, session_id).set(
        sessions.for_create(
            {
                "operatorId": demo.operator_id,
                "facilityId": demo.facility_id,
                "plate": plate,
                "plateRaw": plate,
                "country": "FI",
                "source": "anpr",
                "status": "closed" if closed_at else "open",
                "entry": {"at": entry, "imageUrl": None, "eventId": f"{session_id}-in"},
                "exit": {"at": closed_at, "imageUrl": None, "eventId": f"{session_id}-out"}
                if closed_at
                else None,
                "driverUid": demo.driver_uid if driver_uid == "demo" else driver_uid,
                "reviewRequired": False,
                "flags": [],
                "fee": None,
                "payment": None,
                "evidence": [],
                "createdAt": now,
                "updatedAt": now,
            }
        )
    )


def close_session(
    db: Client, session_id: str, *, exit_at: datetime = EXIT, status: str = "closed"
) -> None:
    sessions.ref(db, session_id).update(
        sessions.check_update(
            {
                "status": status,
                "exit": {"at": exit_at, "imageUrl": None, "eventId": f"{session_id}-out"},
                "updatedAt": datetime.now(UTC),
            }
        )
    )


def closed_session(db: Client, demo: Any, session_id: str, **kwargs: Any) -> None:
    exit_at = kwargs.pop("exit_at", EXIT)
    open_session(db, demo, session_id, **kwargs)
    close_session(db, session_id, exit_at=exit_at)


def session(db: Client, session_id: str) -> dict[str, Any]:
    return sessions.ref(db, session_id).get().to_dict() or {}


def payment_status(db: Client, session_id: str) -> str | None:
    return (session(db, session_id).get("payment") or {}).get("status")


def wait_status(db: Client, session_id: str, *statuses: str, timeout: float = 20.0) -> dict:
    from tests.support.waiting import wait_for

    def reached():
        doc = session(db, session_id)
        return doc if (doc.get("payment") or {}).get("status") in statuses else None

    return wait_for(reached, timeout=timeout, what=f"session {session_id} payment {statuses}")


def use_card(db: Client, demo: Any, number: str) -> str:
    """Attach a test card to the demo driver's customer and make it the default."""
    client = stripe_client()
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    client.v1.payment_methods.attach(method.id, params={"customer": demo.stripe_customer_id})
    users.ref(db, demo.driver_uid).update({"defaultPaymentMethodId": method.id})
    return method.id


def add_push_token(db: Client, uid: str) -> None:
    push_tokens.of_user(db, uid).document("phone").set(
        {"token": f"token-{uid}", "platform": "android", "updatedAt": datetime.now(UTC)}
    )


def payment_intents(customer_id: str) -> list[dict[str, Any]]:
    """Every PaymentIntent localstripe holds for the customer (it ignores idempotency keys)."""
    # Straight to localstripe: counts hold while the fault proxy is refusing.
    base = os.environ.get("STRIPE_BACKEND_BASE") or os.environ["STRIPE_API_BASE"]
    key = os.environ["STRIPE_SECRET_KEY"]
    found: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if after:
            params["starting_after"] = after
        page = requests.get(
            f"{base}/v1/payment_intents", params=params, auth=(key, ""), timeout=10
        ).json()
        found += [pi for pi in page["data"] if pi.get("customer") == customer_id]
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def stripe_requests(db: Client, path: str) -> list[dict[str, Any]]:
    """Requests our code sent to Stripe (recorded under the emulator, before stripping)."""
    docs = emulator_stripe_requests.collection(db).where("path", "==", path).get()
    return [d.to_dict() for d in docs]


def signed_event(event: dict[str, Any], secret: str | None = None) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    secret = secret or os.environ["STRIPE_WEBHOOK_SECRET"]
    signature = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return payload, f"t={timestamp},v1={signature}"


def post_event(hosting_url: str, event: dict[str, Any], secret: str | None = None):
    payload, header = signed_event(event, secret)
    return requests.post(
        f"{hosting_url}/api/stripe/webhook",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        timeout=30,
    )


def intent_event(event_id: str, event_type: str, intent: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": intent},
    }
