"""POST /api/stripe/webhook through Hosting: signature, idempotency, outcomes, failures."""

from __future__ import annotations

import requests

from tests.integration.payments_helpers import (
    AUTH_CARD,
    closed_session,
    intent_event,
    payment_intents,
    post_event,
    session,
    signed_event,
    use_card,
    wait_status,
)


def _action_required_session(db, demo, session_id: str) -> tuple[dict, dict]:
    use_card(db, demo, AUTH_CARD)
    closed_session(db, demo, session_id)
    doc = wait_status(db, session_id, "requires_action")
    ledger = db.collection("payments").document(doc["payment"]["paymentId"]).get().to_dict()
    return doc, ledger


def _intent(doc: dict, ledger: dict, status: str, **extra) -> dict:
    payment_id = doc["payment"]["paymentId"]
    return {
        "id": ledger["providerPaymentId"],
        "object": "payment_intent",
        "amount": ledger["amount"],
        "currency": "eur",
        "status": status,
        "customer": ledger["customerId"],
        "metadata": {"sessionId": ledger["sessionId"], "paymentId": payment_id},
        **extra,
    }


def test_confirmed_payment_succeeds_once_under_replays(db, demo, hosting_url):
    doc, ledger = _action_required_session(db, demo, "sca-ok")
    event = intent_event(
        "evt_sca_ok", "payment_intent.succeeded", _intent(doc, ledger, "succeeded")
    )

    first = post_event(hosting_url, event)
    assert first.status_code == 200, first.text
    assert first.json()["result"] == "updated:succeeded"
    paid = session(db, "sca-ok")["payment"]
    assert paid["status"] == "succeeded" and paid["receiptNumber"] == "DEMO-OPERATOR-000001"

    # The same event again, and a second event with the same content: nothing changes.
    assert post_event(hosting_url, event).json()["result"] == "duplicate"
    again = {**event, "id": "evt_sca_ok_2"}
    assert post_event(hosting_url, again).json()["result"] == "unchanged"
    assert db.collection("receipts").count().get()[0][0].value == 1
    assert len(payment_intents(demo.stripe_customer_id)) == 1
    assert db.collection("stripeEvents").document("evt_sca_ok").get().exists


def test_failed_confirmation_marks_the_session_failed(db, demo, hosting_url):
    doc, ledger = _action_required_session(db, demo, "sca-failed")
    intent = _intent(
        doc,
        ledger,
        "requires_payment_method",
        last_payment_error={"code": "payment_intent_authentication_failure", "message": "no"},
    )
    response = post_event(
        hosting_url, intent_event("evt_f", "payment_intent.payment_failed", intent)
    )
    assert response.status_code == 200
    payment = session(db, "sca-failed")["payment"]
    assert payment["status"] == "failed"
    assert payment["errorCode"] == "payment_intent_authentication_failure"
    # A late failure can never undo a success, and vice versa a success after failure wins.
    ok = intent_event("evt_ok_late", "payment_intent.succeeded", _intent(doc, ledger, "succeeded"))
    assert post_event(hosting_url, ok).json()["result"] == "updated:succeeded"
    late_fail = intent_event("evt_f_late", "payment_intent.payment_failed", intent)
    assert post_event(hosting_url, late_fail).json()["result"] == "unchanged"
    assert session(db, "sca-failed")["payment"]["status"] == "succeeded"


def test_canceled_intent_fails_the_payment(db, demo, hosting_url):
    doc, ledger = _action_required_session(db, demo, "sca-cancel")
    event = intent_event("evt_c", "payment_intent.canceled", _intent(doc, ledger, "canceled"))
    assert post_event(hosting_url, event).status_code == 200
    assert session(db, "sca-cancel")["payment"]["status"] == "failed"


def test_bad_signature_is_rejected_and_nothing_recorded(db, demo, hosting_url):
    event = intent_event("evt_bad", "payment_intent.succeeded", {"id": "pi_x", "metadata": {}})
    response = post_event(hosting_url, event, secret="whsec_wrong")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not db.collection("stripeEvents").document("evt_bad").get().exists


def test_unhandled_events_are_acknowledged(db, demo, hosting_url):
    event = intent_event("evt_other", "customer.created", {"id": "cus_x", "object": "customer"})
    response = post_event(hosting_url, event)
    assert response.status_code == 200 and response.json()["result"] == "unhandled"


def test_failing_handler_answers_500_so_stripe_retries(db, demo, hosting_url):
    # A ledger entry the handler cannot read: the event must not be marked processed.
    db.collection("payments").document("broken").set({"status": "pending"})
    intent = {"id": "pi_broken", "status": "succeeded", "metadata": {"paymentId": "broken"}}
    event = intent_event("evt_broken", "payment_intent.succeeded", intent)
    response = post_event(hosting_url, event)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "handler_failed"
    assert not db.collection("stripeEvents").document("evt_broken").get().exists


def test_saved_card_becomes_the_default(db, demo, hosting_url):
    intent = {
        "id": "seti_1",
        "object": "setup_intent",
        "status": "succeeded",
        "customer": demo.stripe_customer_id,
        "payment_method": "pm_new_card",
        "metadata": {"uid": demo.driver_uid},
    }
    event = intent_event("evt_setup", "setup_intent.succeeded", intent)
    assert post_event(hosting_url, event).json()["result"] == "card_saved"
    user = db.collection("users").document(demo.driver_uid).get().to_dict()
    assert user["defaultPaymentMethodId"] == "pm_new_card"


def test_the_api_function_no_longer_serves_stripe_events(demo, functions_url, hosting_url):
    # Through Hosting the URL is unchanged (test above); the api function itself has no route
    # for it any more: only stripeWebhook holds the webhook secret.
    event = intent_event("evt_api", "customer.created", {"id": "cus_x", "object": "customer"})
    payload, header = signed_event(event)
    response = requests.post(
        f"{functions_url}/api/api/stripe/webhook",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        timeout=30,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    direct = requests.post(
        f"{functions_url}/stripeWebhook",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        timeout=30,
    )
    assert direct.status_code == 200 and direct.json()["result"] == "unhandled"
