"""Money waits for the stay to settle: review holds, the settle window, corrections."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import timedelta

from parkingdone.models import facilities
from parkingdone.payments import charging
from tests.integration.payments_helpers import (
    ENTRY,
    EXIT,
    add_push_token,
    closed_session,
    open_session,
    payment_intents,
    session,
    wait_status,
)
from tests.support.services import fcm_messages
from tests.support.waiting import wait_for


def _facility(db, demo, **fields):
    """A new facility like the demo one with `fields` changed (functions cache facilities
    briefly, so a setting is tested on a facility they have not seen)."""
    facility_id = f"kamppi-{uuid.uuid4().hex[:8]}"
    doc = db.collection(facilities.COLLECTION).document(demo.facility_id).get().to_dict()
    db.collection(facilities.COLLECTION).document(facility_id).set({**doc, **fields})
    return dataclasses.replace(demo, facility_id=facility_id)


def _pushes(kind: str) -> list[dict]:
    return [m for m in fcm_messages() if m["body"]["message"]["data"].get("kind") == kind]


def _succeeded(demo) -> list[dict]:
    return [pi for pi in payment_intents(demo.stripe_customer_id) if pi["status"] == "succeeded"]


def test_stay_over_the_maximum_stay_is_held_for_review(db, demo):
    open_session(db, demo, "months", entry=ENTRY - timedelta(days=60))
    db.collection("sessions").document("months").update({"flags": ["over_max_stay"]})
    from tests.integration.payments_helpers import close_session

    close_session(db, "months")
    doc = wait_status(db, "months", "review_required")
    assert doc["payment"]["reason"] == "over_max_stay"
    assert doc["fee"]["total"] > 0 and doc["payment"]["paymentId"] is None
    assert payment_intents(demo.stripe_customer_id) == []


def test_fee_above_the_review_threshold_is_held_for_review(db, demo):
    demo = _facility(db, demo, reviewThresholdMinor=500)
    closed_session(db, demo, "dear")  # €6.00
    doc = wait_status(db, "dear", "review_required")
    assert doc["payment"]["reason"] == "above_review_threshold"
    assert doc["payment"]["amount"] == 600
    assert payment_intents(demo.stripe_customer_id) == []


def test_settle_window_charges_after_the_window_and_says_when(db, demo):
    add_push_token(db, demo.driver_uid)
    demo = _facility(db, demo, chargeSettleSeconds=4)
    started = time.monotonic()
    closed_session(db, demo, "settling")
    wait_for(lambda: _pushes("exit_charge_scheduled"), timeout=15, what="exit push")
    doc = session(db, "settling")
    assert doc["chargeAt"] is not None
    assert doc["payment"] is None  # not charged inside the window
    doc = wait_status(db, "settling", "succeeded", timeout=30)
    # The emulator dispatches the task at once; its handler waited out the window.
    assert time.monotonic() - started >= 3.5
    assert doc["payment"]["paidAt"] >= doc["chargeAt"]
    assert len(_succeeded(demo)) == 1
    [exit_push] = _pushes("exit_charge_scheduled")
    assert (
        "€6.00" in exit_push["body"]["message"]["notification"]["body"]
        or "6,00" in (exit_push["body"]["message"]["notification"]["body"])
    )


def _charged(db, demo, session_id: str) -> dict:
    closed_session(db, demo, session_id)  # 11:23 -> 13:05 = 2 started hours, €6.00
    return wait_status(db, session_id, "succeeded")


def _correct(db, session_id: str, outcome: str) -> None:
    """Correct the stay as the session trigger would. Setting `correctionPending` also wakes
    the trigger, which may be correcting it at the same moment: then this call finds the
    claim held or the work done, and waits until the flag is cleared."""
    for _ in range(100):
        try:
            found = charging.correct_session(session_id)
        except charging.RetryLater:
            time.sleep(0.1)  # the trigger's correction holds the claim
            continue
        assert found in (outcome, "nothing_pending"), found
        wait_for(
            lambda: session(db, session_id)["correctionPending"] is False,
            what=f"{session_id} corrected",
        )
        return
    raise AssertionError(f"the correction of {session_id} never finished")


def test_correction_to_a_shorter_stay_refunds_the_difference(db, demo):
    add_push_token(db, demo.driver_uid)
    _charged(db, demo, "shorter")
    db.collection("sessions").document("shorter").update(
        {"exit.at": ENTRY + timedelta(minutes=50), "correctionPending": True}
    )
    _correct(db, "shorter", "refunded")
    doc = session(db, "shorter")
    assert doc["correctionPending"] is False
    assert doc["fee"]["total"] == 300
    [correction] = doc["corrections"]
    assert (correction["collectedBefore"], correction["difference"]) == (600, -300)
    assert any(e.get("kind") == "payment_correction" for e in doc["evidence"])
    ledger = db.collection("payments").document(doc["payment"]["paymentId"]).get().to_dict()
    assert ledger["refundedAmount"] == 300 and ledger["netAmount"] == 300
    wait_for(lambda: _pushes("payment_refunded"), timeout=10, what="refund push")
    # Idempotent: nothing pending, nothing done again.
    assert charging.correct_session("shorter") == "nothing_pending"
    db.collection("sessions").document("shorter").update({"correctionPending": True})
    _correct(db, "shorter", "unchanged")
    ledger = db.collection("payments").document(doc["payment"]["paymentId"]).get().to_dict()
    assert ledger["refundedAmount"] == 300
    assert len(_pushes("payment_refunded")) == 1


def test_correction_to_a_longer_stay_charges_the_additional_amount(db, demo):
    add_push_token(db, demo.driver_uid)
    _charged(db, demo, "longer")
    db.collection("sessions").document("longer").update(
        {"exit.at": EXIT + timedelta(hours=2), "correctionPending": True}
    )
    _correct(db, "longer", "charged")
    doc = session(db, "longer")
    assert doc["fee"]["total"] == 1200 and doc["correctionPending"] is False
    [correction] = doc["corrections"]
    assert correction["difference"] == 600 and correction["status"] == "succeeded"
    assert sorted(pi["amount"] for pi in _succeeded(demo)) == [600, 600]
    extra = db.collection("payments").document(correction["paymentId"]).get().to_dict()
    assert extra["status"] == "succeeded" and extra["amount"] == 600
    wait_for(lambda: _pushes("payment_extra_charged"), timeout=10, what="correction push")
    db.collection("sessions").document("longer").update({"correctionPending": True})
    _correct(db, "longer", "unchanged")
    assert len(_succeeded(demo)) == 2


def test_superseded_stay_is_refunded_in_full(db, demo):
    _charged(db, demo, "gone")
    db.collection("sessions").document("gone").update(
        {"status": "superseded", "supersededBy": "other", "correctionPending": True}
    )
    _correct(db, "gone", "refunded")
    doc = session(db, "gone")
    [correction] = doc["corrections"]
    assert correction["difference"] == -600
    ledger = db.collection("payments").document(doc["payment"]["paymentId"]).get().to_dict()
    assert ledger["refundStatus"] == "refunded" and ledger["netAmount"] == 0
