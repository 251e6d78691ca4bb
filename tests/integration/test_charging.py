"""Charging at exit on the real emulators and localstripe: the trigger on a closed session."""

from __future__ import annotations

import threading

from parkingdone.payments import charging, rules
from tests.integration.payments_helpers import (
    DECLINED_CARD,
    ENTRY,
    EXIT,
    add_push_token,
    close_session,
    closed_session,
    open_session,
    payment_intents,
    session,
    stripe_requests,
    use_card,
    wait_status,
)
from tests.support.services import fcm_messages
from tests.support.waiting import wait_for


def pushes_of(kind: str) -> list[dict]:
    """The FCM messages of one push kind sent so far."""
    sent = [m["body"]["message"] for m in fcm_messages()]
    return [m for m in sent if m.get("data", {}).get("kind") == kind]


def test_exit_charges_the_saved_card_with_the_platform_fee(db, demo):
    add_push_token(db, demo.driver_uid)
    closed_session(db, demo, "charge-ok")

    doc = wait_status(db, "charge-ok", "succeeded")
    payment = doc["payment"]
    assert doc["fee"]["total"] == 600 and doc["fee"]["tariffVersion"] == 1
    assert payment["amount"] == 600 and payment["currency"] == "EUR"
    assert payment["paidAt"] is not None and payment["receiptNumber"] == "DEMO-OPERATOR-000001"

    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    assert ledger["status"] == "succeeded"
    assert (ledger["platformFee"], ledger["operatorShare"]) == (30, 570)
    assert ledger["providerAccountId"] == "acct_demo_operator"
    assert ledger["providerPaymentId"].startswith("pi_")

    receipt = db.collection("receipts").document(payment["receiptId"]).get().to_dict()
    assert (receipt["total"], receipt["vatAmount"], receipt["netAmount"]) == (600, 122, 478)
    assert sum(line["amount"] for line in receipt["lines"]) == 600

    # The Connect parameters reached the Stripe client (localstripe gets them stripped).
    [sent] = stripe_requests(db, "/v1/payment_intents")
    assert sent["params"]["application_fee_amount"] == "30"
    assert sent["params"]["transfer_data[destination]"] == "acct_demo_operator"
    assert sent["params"]["on_behalf_of"] == "acct_demo_operator"
    assert sent["params"]["off_session"] == "true"
    assert sent["idempotencyKey"] == rules.idempotency_key(payment["paymentId"])
    assert "application_fee_amount" in sent["stripped"]

    intents = payment_intents(demo.stripe_customer_id)
    assert [(pi["amount"], pi["status"]) for pi in intents] == [(600, "succeeded")]
    [push] = wait_for(lambda: pushes_of("payment_succeeded"), what="payment push")
    assert push["data"]["sessionId"] == "charge-ok"
    assert push["data"]["receiptId"] == payment["receiptId"]
    assert "DEMO-OPERATOR-000001" in push["notification"]["body"]


def test_replayed_trigger_and_concurrent_runs_charge_once(db, demo):
    closed_session(db, demo, "charge-once")
    wait_status(db, "charge-once", "succeeded")
    # Replays: the trigger logic run again, concurrently, and a reopen/close flip.
    threads = [
        threading.Thread(target=charging.process_session, args=("charge-once",)) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    charging.on_session_updated("charge-once", {"status": "open"}, {"status": "closed"})
    assert len(payment_intents(demo.stripe_customer_id)) == 1
    assert db.collection("receipts").count().get()[0][0].value == 1


def test_concurrent_first_runs_charge_once(db, demo):
    # A closed session written directly (no trigger): several deliveries race for the claim.
    open_session(db, demo, "race", closed_at=EXIT)
    results: list[str] = []

    def deliver() -> None:
        # The emulator times out contended transactions; a loser may fail, never charge.
        try:
            results.append(charging.process_session("race"))
        except ValueError as exc:
            results.append(f"contended: {exc}")

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_status(db, "race", "succeeded")
    assert results.count("succeeded") == 1, results
    assert len(payment_intents(demo.stripe_customer_id)) == 1


def test_declined_card_leaves_the_session_unpaid(db, demo):
    add_push_token(db, demo.driver_uid)
    use_card(db, demo, DECLINED_CARD)
    closed_session(db, demo, "declined")
    doc = wait_status(db, "declined", "failed")
    assert doc["payment"]["errorCode"] == "card_declined"
    assert doc["payment"].get("paidAt") is None
    assert db.collection("receipts").count().get()[0][0].value == 0
    [push] = wait_for(lambda: pushes_of("payment_failed"), what="payment failed push")
    assert push["data"]["sessionId"] == "declined"


def test_authentication_required_asks_the_driver_to_confirm(db, demo):
    from tests.integration.payments_helpers import AUTH_CARD

    use_card(db, demo, AUTH_CARD)
    closed_session(db, demo, "sca")
    doc = wait_status(db, "sca", "requires_action")
    ledger = db.collection("payments").document(doc["payment"]["paymentId"]).get().to_dict()
    assert ledger["status"] == "requires_action"
    assert ledger["providerPaymentId"].startswith("pi_")


def test_stay_within_the_free_period_is_not_charged(db, demo):
    from datetime import timedelta

    closed_session(db, demo, "free", exit_at=ENTRY + timedelta(minutes=14))
    doc = wait_status(db, "free", "not_required")
    assert doc["fee"]["total"] == 0
    assert payment_intents(demo.stripe_customer_id) == []


def test_unregistered_vehicle_goes_to_invoicing(db, demo):
    closed_session(db, demo, "stranger", driver_uid=None, plate="XYZ999")
    doc = wait_status(db, "stranger", "to_invoice")
    assert doc["payment"]["amount"] == 600
    ledger = db.collection("payments").document(doc["payment"]["paymentId"]).get().to_dict()
    assert (ledger["provider"], ledger["status"]) == ("invoice", "to_invoice")


def test_missing_exit_and_anomaly_are_never_charged(db, demo):
    open_session(db, demo, "missing")
    close_session(db, "missing", status="missing_exit")
    open_session(db, demo, "odd")
    close_session(db, "odd", status="anomaly")
    # Give the trigger time to (not) act, then check nothing was written.
    closed_session(db, demo, "control")
    wait_status(db, "control", "succeeded")
    assert session(db, "missing")["payment"] is None
    assert session(db, "odd")["payment"] is None
    assert len(payment_intents(demo.stripe_customer_id)) == 1


def _session_commits(db, session_id: str) -> list[str]:
    """Record, from now on, each commit of this process that writes the session."""
    api = db._firestore_api
    commit, seen = api.commit, []
    name = f"/documents/sessions/{session_id}"

    def recording(request=None, **kw):
        writes = (request or {}).get("writes", [])
        if any(str(w.update.name).endswith(name) for w in writes if w.update):
            seen.append(session_id)
        return commit(request=request, **kw)

    api.commit = recording
    return seen


def test_a_card_charge_writes_the_session_once_with_its_outcome(db, demo):
    # Every session write wakes the session trigger: the claim lives on the ledger entry, so
    # a registered driver's exit costs the close and the outcome, not a claim write besides.
    open_session(db, demo, "one-write", closed_at=EXIT)
    api, commit = db._firestore_api, db._firestore_api.commit
    try:
        writes = _session_commits(db, "one-write")
        assert charging.process_session("one-write") == "succeeded"
    finally:
        api.commit = commit
    assert len(writes) == 1
    doc = session(db, "one-write")
    payment_id = rules.session_payment_id("one-write", 1)
    assert doc["payment"]["status"] == "succeeded" and doc["payment"]["paymentId"] == payment_id
    assert doc["payment"]["receiptNumber"] and doc["fee"]["total"] == doc["payment"]["amount"]
    ledger = db.collection("payments").document(payment_id).get().to_dict()
    assert ledger["lockUntil"] is None and ledger["fee"] == doc["fee"]
    assert len(payment_intents(demo.stripe_customer_id)) == 1


def test_a_claim_whose_holder_died_is_taken_over_from_the_ledger_and_charged_once(db, demo):
    from datetime import UTC, datetime, timedelta

    from parkingdone.payments import retry

    open_session(db, demo, "holder-died", closed_at=EXIT)
    # The claim is taken, then its holder dies before the charge: only the ledger knows.
    decision = charging._claim(db, "holder-died", "trigger", None)
    assert decision.step is charging.Step.CHARGE
    assert session(db, "holder-died").get("payment") is None
    # While its lock holds, every other delivery leaves it alone.
    assert charging.process_session("holder-died") == "in_flight"
    assert payment_intents(demo.stripe_customer_id) == []

    counts = retry.sweep_stale(now=datetime.now(UTC) + timedelta(hours=1))
    assert counts["unclaimed"] == 1 and counts["errors"] == 0
    doc = wait_status(db, "holder-died", "succeeded")
    assert doc["payment"]["paymentId"] == decision.payment_id
    assert len(payment_intents(demo.stripe_customer_id)) == 1
    assert charging.process_session("holder-died") == "already_succeeded"
