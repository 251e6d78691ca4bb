"""Disputes on the emulators: opened by the driver (callable) or by staff (dashboard), with
the stay's timeline as evidence; rejected with a reason or accepted with a refund through
the refund path; pushes; no invoicing and no data deletion while a dispute is open."""

from __future__ import annotations

from tests.integration import admin_support as support
from tests.integration.payments_helpers import (
    add_push_token,
    closed_session,
    stripe_requests,
    wait_status,
)
from tests.support.services import call_callable, fcm_messages
from tests.support.waiting import wait_for

ADMIN = {"role": "operator_admin", "operatorId": "demo-operator"}


def _pushes(kind: str) -> list[dict]:
    def found():
        sent = [m["body"]["message"] for m in fcm_messages()]
        return [m for m in sent if m.get("data", {}).get("kind") == kind] or None

    return wait_for(found, timeout=10, what=f"a {kind} push")


def _open(demo, session_id: str, uid: str | None = None, **extra):
    data = {"sessionId": session_id, "reason": "wrong_fee", "statement": "I left at once", **extra}
    return call_callable("openDispute", data, uid or demo.driver_uid)


def test_driver_disputes_a_charge_and_the_admin_rejects_it_with_a_reason(db, demo):
    add_push_token(db, demo.driver_uid)
    closed_session(db, demo, "disputed-1")
    # The first charge of a run waits for the payments function to start (cold, busy CPU).
    wait_status(db, "disputed-1", "succeeded", timeout=90)
    opened = _open(demo, "disputed-1")
    assert opened.status_code == 200, opened.text
    dispute = opened.json()["result"]
    assert (dispute["id"], dispute["status"], dispute["amount"]) == ("d_disputed-1", "open", 600)
    assert "evidence" not in dispute  # the evidence is for staff
    stored = db.collection("disputes").document("d_disputed-1").get().to_dict()
    kinds = [item["kind"] for item in stored["evidence"]]
    assert kinds[0] == "entry" and "exit" in kinds and "payment" in kinds
    assert _open(demo, "disputed-1").json()["result"]["openedAt"] == dispute["openedAt"]
    # Another driver's stay is not found, whatever the reason.
    assert _open(demo, "disputed-1", uid="someone-else").status_code == 404
    assert _open(demo, "disputed-1", reason="because").status_code == 400

    admin = support.sign_in("admin")
    page = admin.get("/admin/sessions/disputed-1").get_data(as_text=True)
    assert "Dispute opened" in page and "Open the dispute" in page
    response = admin.post(
        "/admin/disputes/d_disputed-1/resolve",
        data={
            "decision": "rejected",
            "reason": "The exit camera shows the car left 1 h 42 min later.",
            "csrf_token": support.csrf(admin),
        },
    )
    assert response.status_code == 303
    stored = db.collection("disputes").document("d_disputed-1").get().to_dict()
    assert stored["status"] == "rejected" and stored["closedAt"] is not None
    assert stripe_requests(db, "/v1/refunds") == []
    [push] = _pushes("dispute_rejected")
    assert "1 h 42 min" in push["notification"]["body"]
    assert push["data"]["disputeId"] == "d_disputed-1"
    audit = db.collection("auditLog").where("action", "==", "dispute.rejected").get()
    assert len(audit) == 1
    # Decided: it cannot be opened again.
    assert _open(demo, "disputed-1").status_code == 409


def test_accepted_with_a_partial_refund_through_the_refund_path_once(db, demo):
    add_push_token(db, demo.driver_uid)
    closed_session(db, demo, "disputed-2")
    payment = wait_status(db, "disputed-2", "succeeded")["payment"]
    assert _open(demo, "disputed-2").status_code == 200
    data = {
        "disputeId": "d_disputed-2",
        "decision": "accepted",
        "reason": "The barrier was broken",
        "refundAmount": 200,
    }
    staff = call_callable(
        "resolveDispute", data, "staff", role="operator_staff", operatorId="demo-operator"
    )
    assert staff.status_code == 403
    first = call_callable("resolveDispute", data, demo.admin_uid, **ADMIN)
    assert first.status_code == 200, first.text
    assert first.json()["result"]["resolution"]["refundAmount"] == 200
    again = call_callable("resolveDispute", data, demo.admin_uid, **ADMIN)
    assert again.status_code == 200
    [refund] = stripe_requests(db, "/v1/refunds")
    assert refund["params"]["amount"] == "200"
    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    assert ledger["refundedAmount"] == 200
    assert _pushes("dispute_accepted")[0]["data"]["sessionId"] == "disputed-2"
    other = call_callable(
        "resolveDispute", data, "other-admin", role="operator_admin", operatorId="other-operator"
    )
    assert other.status_code == 403


def test_a_stay_paid_from_the_wallet_is_refunded_to_the_wallet(db, demo):
    from parkingdone.payments import wallet

    wallet.credit(db, demo.operator_id, demo.driver_uid, 1000, "Goodwill", "req-1", "x")
    closed_session(db, demo, "disputed-3")
    wait_status(db, "disputed-3", "succeeded")
    assert _open(demo, "disputed-3").status_code == 200
    data = {"disputeId": "d_disputed-3", "decision": "accepted", "reason": "Sorry"}
    assert call_callable("resolveDispute", data, demo.admin_uid, **ADMIN).status_code == 200
    balance = db.collection("wallets").document(f"{demo.operator_id}__{demo.driver_uid}").get()
    assert balance.get("balance") == 1000
    assert stripe_requests(db, "/v1/refunds") == []


def test_an_open_dispute_holds_invoicing_and_the_drivers_deletion(db, demo):
    from parkingdone.accounts import gdpr

    stay = support.stay(db, "INV-777")  # no registered driver: to be invoiced
    staff = support.sign_in("staff")
    response = staff.post(
        f"/admin/sessions/{stay.session_id}/dispute",
        data={
            "reason": "not_parked",
            "statement": "Keeper called",
            "csrf_token": support.csrf(staff),
        },
    )
    assert response.status_code == 303
    held = call_callable(
        "transitionInvoice",
        {"sessionId": stay.session_id, "action": "mark_invoiced"},
        demo.admin_uid,
        **ADMIN,
    )
    assert held.status_code == 400 or held.status_code == 412, held.text
    assert held.json()["error"]["details"]["reason"] == "disputed"

    closed_session(db, demo, "disputed-4")
    wait_status(db, "disputed-4", "succeeded")
    assert gdpr.holds(db, demo.driver_uid) == []
    assert _open(demo, "disputed-4").status_code == 200
    assert "open_dispute" in gdpr.holds(db, demo.driver_uid)
    exported = call_callable("exportMyData", {}, demo.driver_uid).json()["result"]
    assert [d["id"] for d in exported["disputes"]] == ["d_disputed-4"]

    admin = support.sign_in("admin")
    admin.post(
        f"/admin/disputes/d_{stay.session_id}/resolve",
        data={"decision": "rejected", "reason": "Camera read", "csrf_token": support.csrf(admin)},
    )
    invoiced = call_callable(
        "transitionInvoice",
        {"sessionId": stay.session_id, "action": "mark_invoiced"},
        demo.admin_uid,
        **ADMIN,
    )
    assert invoiced.status_code == 200, invoiced.text
