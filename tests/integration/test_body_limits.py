"""One body limit per HTTP endpoint, declared where the endpoint's app is built.

Stripe's events can be far larger than operators' events: a correctly signed event must never
be refused by another endpoint's limit (Stripe retries a 413, then drops the event). Over its
own limit, every endpoint answers the JSON error shape with 413 and writes nothing. Bodies
sent in chunks without a length are tested on the app (tests/unit/test_body_limits.py): the
Hosting emulator cannot proxy them.
"""

from __future__ import annotations

import pytest
import requests

from parkingdone.http import MAX_JSON_BODY_BYTES
from parkingdone.payments.webhook import MAX_STRIPE_BODY
from tests.integration.payments_helpers import intent_event, post_event


def test_a_signed_70_kb_stripe_event_is_accepted(db, demo, hosting_url):
    intent = {
        "id": "pi_large",
        "object": "payment_intent",
        "status": "succeeded",
        "description": "x" * 70_000,
        "metadata": {},
    }
    event = intent_event("evt_large", "payment_intent.succeeded", intent)
    response = post_event(hosting_url, event)
    assert len(response.request.body) > 70_000
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "result": "not_ours"}
    assert db.collection("stripeEvents").document("evt_large").get().get("result") == "not_ours"


def _oversized(limit: int) -> bytes:
    return b'{"padding": "' + b"x" * limit + b'"}'


@pytest.mark.parametrize(
    ("method", "path", "limit", "headers"),
    [
        ("POST", "/webhook", MAX_JSON_BODY_BYTES, {"Authorization": "Bearer demo-webhook-token"}),
        ("POST", "/api/stripe/webhook", MAX_STRIPE_BODY, {}),
        # api's routes read no body; a body over the api's limit is refused before routing.
        ("POST", "/api/health", MAX_JSON_BODY_BYTES, {}),
    ],
)
def test_a_body_over_the_endpoints_limit_is_a_json_413(
    db, demo, hosting_url, method, path, limit, headers
):
    response = requests.request(
        method,
        f"{hosting_url}{path}",
        data=_oversized(limit),
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert str(limit) in error["message"]
    assert list(db.collection("events").get()) == []
    assert list(db.collection("stripeEvents").get()) == []
