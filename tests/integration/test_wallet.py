"""The driver's wallet at an operator: top-up by card on the operator's account, the wallet
paying a stay first and the card the rest, refunds to the wallet, staff credits, and two
exits of one driver charged at the same moment (real concurrency on the emulator)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from tests.integration.payments_helpers import (
    EXIT,
    add_push_token,
    closed_session,
    open_session,
    payment_intents,
    stripe_requests,
    wait_status,
)
from tests.support.services import call_callable, fcm_messages
from tests.support.waiting import wait_for

ADMIN = {"role": "operator_admin", "operatorId": "demo-operator"}


def _wallet(db, demo) -> dict:
    doc = db.collection("wallets").document(f"{demo.operator_id}__{demo.driver_uid}").get()
    return doc.to_dict() or {}


def _movements(db, demo) -> list[dict]:
    wallet_id = f"{demo.operator_id}__{demo.driver_uid}"
    docs = db.collection("walletMovements").where("walletId", "==", wallet_id).get()
    return [{**d.to_dict(), "id": d.id} for d in docs]


def _credit(db, demo, amount: int, request_id: str = "goodwill-0001") -> dict:
    from parkingdone.payments import wallet

    return wallet.credit(
        db, demo.operator_id, demo.driver_uid, amount, "Goodwill", request_id, demo.admin_uid
    )


def _pushes(kind: str) -> list[dict]:
    """The pushes of `kind` once there is one (the push follows the payment's write)."""

    def found():
        sent = [m["body"]["message"] for m in fcm_messages()]
        return [m for m in sent if m.get("data", {}).get("kind") == kind] or None

    return wait_for(found, timeout=10, what=f"a {kind} push")


def _top_up(demo, amount: int, request_id: str):
    data = {"operatorId": demo.operator_id, "amount": amount, "requestId": request_id}
    return call_callable("topUpWallet", data, demo.driver_uid)


def test_top_up_charges_the_card_on_the_operators_account_once(db, demo):
    add_push_token(db, demo.driver_uid)
    first = _top_up(demo, 2000, "topup-request-1")
    assert first.status_code == 200, first.text
    result = first.json()["result"]
    assert (result["status"], result["balance"], result["currency"]) == ("succeeded", 2000, "EUR")
    again = _top_up(demo, 2000, "topup-request-1")
    assert again.json()["result"]["balance"] == 2000  # the same request adds nothing more
    assert len(payment_intents(demo.stripe_customer_id)) == 1

    [sent] = stripe_requests(db, "/v1/payment_intents")
    assert sent["params"]["amount"] == "2000"
    assert sent["params"]["application_fee_amount"] == "100"  # 5 % platform fee
    assert sent["params"]["transfer_data[destination]"].startswith("acct_")
    ledger = db.collection("payments").document(result["paymentId"]).get().to_dict()
    assert (ledger["kind"], ledger["status"], ledger["uid"]) == (
        "wallet_topup",
        "succeeded",
        demo.driver_uid,
    )
    receipt = db.collection("receipts").document(result["paymentId"]).get().to_dict()
    assert receipt["lines"][0]["description"] == "Wallet top-up"
    [movement] = _movements(db, demo)
    assert (movement["kind"], movement["amount"], movement["balanceAfter"]) == ("topup", 2000, 2000)
    assert len(_pushes("wallet_topped_up")) == 1


def test_top_up_outside_the_bounds_is_refused_and_writes_nothing(db, demo):
    small = _top_up(demo, 100, "topup-request-2")
    assert small.status_code == 400
    assert small.json()["error"]["details"]["reason"] == "invalid_amount"
    assert _top_up(demo, 30000, "topup-request-3").status_code == 400
    assert _wallet(db, demo) == {}
    assert payment_intents(demo.stripe_customer_id) == []


def test_a_stay_is_paid_from_the_wallet_when_it_covers_the_fee(db, demo):
    add_push_token(db, demo.driver_uid)
    _credit(db, demo, 1000)
    closed_session(db, demo, "wallet-all")
    payment = wait_status(db, "wallet-all", "succeeded")["payment"]
    assert (payment["provider"], payment["amount"], payment["walletAmount"]) == ("wallet", 600, 600)
    assert _wallet(db, demo)["balance"] == 400
    assert payment_intents(demo.stripe_customer_id) == []
    stay = [m for m in _movements(db, demo) if m["kind"] == "stay"]
    assert [(m["amount"], m["sessionId"]) for m in stay] == [(-600, "wallet-all")]
    assert len(_pushes("wallet_paid")) == 1


def test_the_wallet_pays_first_and_the_card_the_rest(db, demo):
    _credit(db, demo, 200)
    closed_session(db, demo, "wallet-part")
    payment = wait_status(db, "wallet-part", "succeeded")["payment"]
    assert (payment["amount"], payment["walletAmount"]) == (600, 200)
    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    assert ledger["amount"] == 400 and ledger["platformFee"] == 20
    [intent] = payment_intents(demo.stripe_customer_id)
    assert intent["amount"] == 400
    assert _wallet(db, demo)["balance"] == 0


def test_two_exits_charged_at_the_same_moment_spend_the_balance_once(db, demo):
    """Two stays of one driver closed in one write, their triggers racing the charge run
    from two threads here: the wallet never goes below zero and no stay is debited twice."""
    from parkingdone.payments import charging

    _credit(db, demo, 1000)
    for session_id in ("race-a", "race-b"):
        open_session(db, demo, session_id)
    batch = db.batch()
    for session_id in ("race-a", "race-b"):
        batch.update(
            db.collection("sessions").document(session_id),
            {
                "status": "closed",
                "exit": {"at": EXIT, "imageUrl": None, "eventId": f"{session_id}-out"},
                "updatedAt": datetime.now(UTC),
            },
        )
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def charge(session_id: str) -> None:
        start.wait()
        try:
            charging.process_session(session_id, source="test")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=charge, args=(s,)) for s in ("race-a", "race-b") * 2]
    for t in threads:
        t.start()
    batch.commit()
    for t in threads:
        t.join(60)
    assert errors == []
    payments = [wait_status(db, s, "succeeded")["payment"] for s in ("race-a", "race-b")]
    from_wallet = sorted(int(p.get("walletAmount") or 0) for p in payments)
    assert from_wallet == [400, 600]
    stay = [m for m in _movements(db, demo) if m["kind"] == "stay"]
    assert sorted(m["sessionId"] for m in stay) == ["race-a", "race-b"]
    assert sum(m["amount"] for m in stay) == -1000
    assert _wallet(db, demo)["balance"] == 0
    [intent] = payment_intents(demo.stripe_customer_id)
    assert intent["amount"] == 200


def test_a_card_refund_may_go_to_the_wallet(db, demo):
    closed_session(db, demo, "refund-wallet")
    payment = wait_status(db, "refund-wallet", "succeeded")["payment"]
    data = {
        "paymentId": payment["paymentId"],
        "amount": 250,
        "requestId": "to-wallet-1",
        "toWallet": True,
    }
    first = call_callable("refundPayment", data, demo.admin_uid, **ADMIN)
    assert first.status_code == 200, first.text
    again = call_callable("refundPayment", data, demo.admin_uid, **ADMIN)
    assert again.json()["result"]["refundedAmount"] == 250
    assert _wallet(db, demo)["balance"] == 250
    assert stripe_requests(db, "/v1/refunds") == []
    [movement] = _movements(db, demo)
    assert (movement["kind"], movement["sessionId"]) == ("refund", "refund-wallet")


def test_a_staff_credit_needs_a_reason_and_applies_once(db, demo):
    from parkingdone.errors import ApiError
    from parkingdone.payments import wallet

    first = _credit(db, demo, 500, "credit-req-1")
    second = _credit(db, demo, 500, "credit-req-1")
    assert (first["changed"], second["changed"], second["balance"]) == (True, False, 500)
    try:
        wallet.credit(db, demo.operator_id, demo.driver_uid, 500, "  ", "credit-2", "x")
    except ApiError as error:
        assert error.code == "missing_reason"
    else:
        raise AssertionError("a credit without a reason was accepted")
    assert _wallet(db, demo)["balance"] == 500


def test_a_correction_gives_back_what_the_wallet_paid_too(db, demo):
    """A stay paid 2.00 from the wallet and 4.00 by card turns out free: the card gets its
    4.00 back and the wallet its 2.00 (not an extra charge, not only the card's part)."""
    from parkingdone.payments import corrections

    _credit(db, demo, 200)
    closed_session(db, demo, "wallet-fix")
    payment = wait_status(db, "wallet-fix", "succeeded")["payment"]
    assert payment["walletAmount"] == 200
    stored = db.collection("sessions").document("wallet-fix").get().get("entry")["at"]
    entry_at = datetime.fromtimestamp(stored.timestamp(), UTC)
    db.collection("sessions").document("wallet-fix").update(
        {
            "exit": {"at": entry_at + timedelta(minutes=10), "eventId": "fix-out"},
            "correctionPending": True,
            "updatedAt": datetime.now(UTC),
        }
    )
    corrections.correct_session("wallet-fix")

    def settled():
        doc = db.collection("sessions").document("wallet-fix").get().to_dict()
        return None if doc.get("correctionPending") else doc

    doc = wait_for(settled, timeout=30, what="the correction")
    assert doc["payment"]["walletRefundedAmount"] == 200
    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    assert ledger["refundedAmount"] == 400
    assert _wallet(db, demo)["balance"] == 200
    assert len(payment_intents(demo.stripe_customer_id)) == 1
