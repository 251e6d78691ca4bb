"""A body sent in chunks, without Content-Length, is held to the app's limit while it is read.

The Hosting emulator cannot proxy such bodies, so this runs on the Stripe webhook's Flask app
itself; bodies with a length are tested through Hosting in tests/integration.
"""

from __future__ import annotations

import io

from parkingdone.payments.webhook import MAX_STRIPE_BODY, app


def _post_chunked(body: bytes):
    return app.test_client().post(
        "/api/stripe/webhook",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"},
        # What a server sets for a chunked body it has de-chunked: the stream ends by itself.
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_a_json_413():
    response = _post_chunked(b"x" * (MAX_STRIPE_BODY + 1))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_within_the_limit_is_read_and_verified(monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_unit_test")
    response = _post_chunked(b"x" * MAX_STRIPE_BODY)
    # Read in full, then refused for its signature (not its size).
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
