"""Refunds through the operator-admin callable, against localstripe."""

from __future__ import annotations

import requests

from tests.integration.payments_helpers import closed_session, session, stripe_requests, wait_status
from tests.support.services import call_callable

ADMIN = {"role": "operator_admin", "operatorId": "demo-operator"}


def _paid(db, demo, session_id: str) -> dict:
    closed_session(db, demo, session_id)
    return wait_status(db, session_id, "succeeded")["payment"]


def _refunds_in_stripe(intent_id: str) -> list[dict]:
    import os

    response = requests.get(
        f"{os.environ['STRIPE_API_BASE']}/v1/refunds",
        params={"payment_intent": intent_id},
        auth=(os.environ["STRIPE_SECRET_KEY"], ""),
        timeout=10,
    )
    return response.json()["data"]


def test_partial_then_full_refund(db, demo):
    payment = _paid(db, demo, "refund-me")
    data = {"paymentId": payment["paymentId"], "amount": 200, "requestId": "refund-req-1"}
    first = call_callable("refundPayment", data, demo.admin_uid, **ADMIN)
    assert first.status_code == 200, first.text
    result = first.json()["result"]
    assert (result["status"], result["refundedAmount"]) == ("succeeded", 200)
    assert result["refundStatus"] == "partially_refunded"

    # The same request again refunds nothing more.
    again = call_callable("refundPayment", data, demo.admin_uid, **ADMIN)
    assert again.json()["result"]["refundedAmount"] == 200

    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    assert (ledger["refundedAmount"], ledger["netAmount"]) == (200, 400)
    assert ledger["platformFeeRefunded"] == 10
    assert session(db, "refund-me")["payment"]["refundStatus"] == "partially_refunded"
    intent_id = ledger["providerPaymentId"]
    assert [r["amount"] for r in _refunds_in_stripe(intent_id)] == [200]
    [sent] = stripe_requests(db, "/v1/refunds")
    assert sent["params"]["reverse_transfer"] == "true"
    assert sent["params"]["refund_application_fee"] == "true"

    # Too much is refused; the rest (400) is allowed.
    over = call_callable(
        "refundPayment",
        {**data, "amount": 401, "requestId": "refund-req-2"},
        demo.admin_uid,
        **ADMIN,
    )
    assert over.status_code == 400
    rest = call_callable(
        "refundPayment",
        {"paymentId": payment["paymentId"], "requestId": "refund-req-3"},
        demo.admin_uid,
        **ADMIN,
    )
    assert rest.json()["result"]["refundStatus"] == "refunded"
    assert sorted(r["amount"] for r in _refunds_in_stripe(intent_id)) == [200, 400]
    assert session(db, "refund-me")["payment"]["refundedAmount"] == 600


def test_only_the_operators_admins_may_refund(db, demo):
    payment = _paid(db, demo, "refund-guard")
    data = {"paymentId": payment["paymentId"], "requestId": "refund-guard-1"}
    driver = call_callable("refundPayment", data, demo.driver_uid, role="driver")
    assert driver.status_code == 403
    other = call_callable(
        "refundPayment", data, "other-admin", role="operator_admin", operatorId="other-operator"
    )
    assert other.status_code == 403
    anonymous = call_callable("refundPayment", data)
    assert anonymous.status_code == 401
    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    assert ledger["refunds"] == []


def test_charge_refunded_event_merges_dashboard_refunds(db, demo, hosting_url):
    from tests.integration.payments_helpers import intent_event, post_event

    payment = _paid(db, demo, "refund-dash")
    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    charge = {
        "id": "ch_dash",
        "object": "charge",
        "payment_intent": ledger["providerPaymentId"],
        "amount": 600,
        "amount_refunded": 100,
        "refunds": {"data": [{"id": "re_dash", "amount": 100, "status": "succeeded"}]},
    }
    event = intent_event("evt_refund_dash", "charge.refunded", charge)
    assert post_event(hosting_url, event).json()["result"] == "refunds_merged"
    again = {**event, "id": "evt_refund_dash_2"}
    assert post_event(hosting_url, again).json()["result"] == "unchanged"
    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    assert ledger["refundedAmount"] == 100
