"""The invoice workflow for vehicles without a registered driver, via the admin callable."""

from __future__ import annotations

from tests.integration.payments_helpers import closed_session, session, wait_status
from tests.support.services import call_callable

ADMIN = {"role": "operator_admin", "operatorId": "demo-operator"}


def _to_invoice(db, demo, session_id: str) -> None:
    closed_session(db, demo, session_id, driver_uid=None, plate="XYZ999")
    wait_status(db, session_id, "to_invoice")


def _move(demo, session_id: str, action: str, **extra):
    data = {"sessionId": session_id, "action": action, **extra}
    return call_callable("transitionInvoice", data, demo.admin_uid, **ADMIN)


def test_invoiced_then_paid_issues_a_receipt(db, demo):
    _to_invoice(db, demo, "inv-1")
    invoiced = _move(demo, "inv-1", "mark_invoiced", reference="INV-2026-17")
    assert invoiced.status_code == 200, invoiced.text
    assert invoiced.json()["result"]["status"] == "invoiced"
    assert session(db, "inv-1")["payment"]["invoiceReference"] == "INV-2026-17"
    # Repeating a done transition is harmless.
    assert _move(demo, "inv-1", "mark_invoiced").json()["result"]["changed"] is False

    paid = _move(demo, "inv-1", "mark_paid", reference="bank-123").json()["result"]
    assert paid["status"] == "paid" and paid["receiptNumber"] == "DEMO-OPERATOR-000001"
    payment = session(db, "inv-1")["payment"]
    assert payment["status"] == "paid" and payment["paidAt"] is not None
    receipt = db.collection("receipts").document(payment["receiptId"]).get().to_dict()
    assert receipt["total"] == 600 and receipt["vatAmount"] == 122
    ledger = db.collection("payments").document(payment["paymentId"]).get().to_dict()
    assert [h["action"] for h in ledger["invoiceHistory"]] == ["mark_invoiced", "mark_paid"]


def test_cancel_and_forbidden_transitions(db, demo):
    _to_invoice(db, demo, "inv-2")
    skipped = _move(demo, "inv-2", "mark_paid")
    assert skipped.status_code == 400  # failed-precondition: must be invoiced first
    assert session(db, "inv-2")["payment"]["status"] == "to_invoice"
    assert _move(demo, "inv-2", "cancel", note="Operator's own vehicle").status_code == 200
    assert session(db, "inv-2")["payment"]["status"] == "cancelled"
    assert _move(demo, "inv-2", "mark_invoiced").status_code == 400
    bad = call_callable(
        "transitionInvoice", {"sessionId": "inv-2", "action": "delete"}, demo.admin_uid, **ADMIN
    )
    assert bad.status_code == 400


def test_other_operators_cannot_touch_the_invoice(db, demo):
    _to_invoice(db, demo, "inv-3")
    other = call_callable(
        "transitionInvoice",
        {"sessionId": "inv-3", "action": "cancel"},
        "other-admin",
        role="operator_admin",
        operatorId="other-operator",
    )
    assert other.status_code == 403
    assert session(db, "inv-3")["payment"]["status"] == "to_invoice"
