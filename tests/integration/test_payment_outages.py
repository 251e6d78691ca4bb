"""Payment reliability on the emulators: lost answers, outages, dead letters.

Stripe is reached through the fault proxy (devstack/stripe_faults.py) in front of localstripe;
each test sets the fault it needs. localstripe ignores idempotency keys, so "charged once" is
counted in localstripe's PaymentIntents.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import requests

from parkingdone import errors
from parkingdone.payments import charging, onsession, retry, rules
from tests.integration.payments_helpers import (
    DECLINED_CARD,
    EXIT,
    add_push_token,
    closed_session,
    open_session,
    payment_intents,
    session,
    use_card,
    wait_status,
)
from tests.support.services import fcm_messages
from tests.support.waiting import wait_for

LATER = timedelta(hours=1)  # the sweep's clock, past every back-off and lock


def _faults(verb: str, **rule):
    url = f"{os.environ['STRIPE_API_BASE']}/_faults"
    response = requests.request(verb, url, json=rule or None, timeout=5)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def stripe_faults():
    _faults("DELETE")
    yield lambda **rule: _faults("POST", **rule)
    _faults("DELETE")


def _pushes(kind: str) -> list[dict]:
    return [m for m in fcm_messages() if m["body"]["message"]["data"].get("kind") == kind]


def _succeeded(customer_id: str) -> list[dict]:
    return [pi for pi in payment_intents(customer_id) if pi["status"] == "succeeded"]


def _count(db, collection: str, **equal) -> int:
    query = db.collection(collection)
    for field, value in equal.items():
        query = query.where(field, "==", value)
    return query.count().get()[0][0].value


def _assert_charged_once(db, demo, session_id: str) -> None:
    doc = wait_status(db, session_id, "succeeded", timeout=30)
    assert len(_succeeded(demo.stripe_customer_id)) == 1
    assert _count(db, "payments", sessionId=session_id, status="succeeded") == 1
    assert _count(db, "receipts", sessionId=session_id) == 1
    wait_for(lambda: _pushes("payment_succeeded"), timeout=15, what="payment push")
    assert len(_pushes("payment_succeeded")) == 1
    assert doc["payment"]["paymentId"] == rules.session_payment_id(session_id, 1)


def test_exit_charge_whose_answer_is_lost_is_resolved_not_recharged(db, demo, stripe_faults):
    add_push_token(db, demo.driver_uid)
    # The charge reaches localstripe, its answer never comes back.
    stripe_faults(mode="drop_answer", method="POST", path="/v1/payment_intents", times=1)
    closed_session(db, demo, "lost-answer")
    doc = wait_for(
        lambda: (
            (session(db, "lost-answer").get("payment") or {}).get("outcomeUnknown")
            and session(db, "lost-answer")
        ),
        timeout=60,
        what="the unknown outcome recorded",
    )
    assert doc["payment"]["status"] == "pending"
    assert len(payment_intents(demo.stripe_customer_id)) == 1  # it did go through

    counts = retry.sweep_stale(now=datetime.now(UTC) + LATER)
    assert counts["errors"] == 0
    _assert_charged_once(db, demo, "lost-answer")


def test_in_app_pay_that_times_out_stays_pending_and_charges_once(db, demo, stripe_faults):
    add_push_token(db, demo.driver_uid)
    good_card = demo.payment_method_id
    use_card(db, demo, DECLINED_CARD)
    closed_session(db, demo, "pay-timeout")
    wait_status(db, "pay-timeout", "failed", timeout=60)
    db.collection("users").document(demo.driver_uid).update({"defaultPaymentMethodId": good_card})

    # The in-app charge goes through but answers after the client has given up (5 s).
    stripe_faults(mode="timeout", method="POST", path="/v1/payment_intents", times=1, holdSeconds=8)
    answer = onsession.pay_session(db, demo.driver_uid, "pay-timeout")
    assert answer["status"] == "pending"  # never "failed": that would open attempt 3
    second_tap = onsession.pay_session(db, demo.driver_uid, "pay-timeout")
    assert second_tap["paymentId"] == answer["paymentId"]

    retry.sweep_stale(now=datetime.now(UTC) + LATER)
    doc = wait_status(db, "pay-timeout", "succeeded", timeout=30)
    assert doc["payment"]["paymentId"] == answer["paymentId"]
    assert len(_succeeded(demo.stripe_customer_id)) == 1
    assert _count(db, "payments", sessionId="pay-timeout", status="succeeded") == 1
    assert _count(db, "receipts", sessionId="pay-timeout") == 1
    wait_for(lambda: _pushes("payment_succeeded"), timeout=15, what="payment push")
    assert len(_pushes("payment_succeeded")) == 1


def test_provider_down_at_exit_waits_pending_then_charges_once(db, demo, stripe_faults):
    add_push_token(db, demo.driver_uid)
    stripe_faults(mode="refuse", path="")  # every Stripe request fails to connect
    closed_session(db, demo, "down")
    doc = wait_for(
        lambda: (session(db, "down").get("payment") or {}).get("attempts") and session(db, "down"),
        timeout=60,
        what="a failed try recorded",
    )
    payment = doc["payment"]
    assert payment["status"] == "pending" and payment["nextAttemptAt"] > payment["updatedAt"]
    # While it is down the sweep keeps it pending (back-off respected, nothing charged).
    retry.sweep_stale(now=datetime.now(UTC) + LATER)
    assert (session(db, "down")["payment"]["status"]) == "pending"
    assert payment_intents(demo.stripe_customer_id) == []
    assert _pushes("payment_failed") == []

    _faults("DELETE")  # the provider is back
    retry.sweep_stale(now=datetime.now(UTC) + 2 * LATER)
    _assert_charged_once(db, demo, "down")


def test_payment_work_without_its_facility_is_dead_lettered_and_replayable(db, demo):
    from parkingdone import tenants
    from parkingdone.models import facilities

    open_session(db, demo, "orphan", closed_at=EXIT)
    facility_ref = db.collection(facilities.COLLECTION).document(demo.facility_id)
    facility_doc = facility_ref.get().to_dict()
    facility_ref.delete()
    tenants.clear_cache()

    assert charging.process_session("orphan", source="sweep") == "dead_letter"
    payment = session(db, "orphan")["payment"]
    assert payment["status"] == "dead_letter" and payment["errorCode"] == "tenant_not_found"
    assert payment["attempts"] == 1 and payment["deadLetteredAt"] and payment["lastError"]
    # Not retried automatically, but counted.
    counts = retry.sweep_stale(now=datetime.now(UTC) + LATER)
    assert counts["deadLetters"] == 1 and counts["unclaimed"] == 0
    assert payment_intents(demo.stripe_customer_id) == []

    facility_ref.set(facility_doc)
    tenants.clear_cache()
    assert retry.replay_dead_letter("orphan") == "succeeded"
    assert len(_succeeded(demo.stripe_customer_id)) == 1
    assert retry.count_dead_letters() == 0


def test_provider_unreachable_for_too_long_is_dead_lettered_not_failed(db, demo, stripe_faults):
    stripe_faults(mode="refuse", path="")
    open_session(db, demo, "exhausted", closed_at=EXIT)
    results = []
    for hours in range(1, charging.MAX_PROVIDER_TRIES + 1):
        results.append(
            charging.process_session(
                "exhausted", source="sweep", as_of=datetime.now(UTC) + hours * LATER
            )
        )
    assert results[-1] == "dead_letter"
    payment = session(db, "exhausted")["payment"]
    assert payment["status"] == "dead_letter"
    assert payment["attempts"] == charging.MAX_PROVIDER_TRIES
    # A dead letter is not payable again in the app (its charge may have gone through).
    with pytest.raises(errors.ApiError):
        onsession.pay_session(db, demo.driver_uid, "exhausted")

    _faults("DELETE")
    assert retry.replay_dead_letter("exhausted") == "succeeded"
    assert len(_succeeded(demo.stripe_customer_id)) == 1
