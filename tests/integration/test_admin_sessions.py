"""Admin dashboard: the sessions list and its filters, CSV export, the evidence timeline,
plate correction and the invoice workflow, each through the real domain functions."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import requests

from devstack import demo_data
from parkingdone.models import audit_log
from tests.integration import admin_support as support
from tests.integration.ingest_support import pointer
from tests.support.waiting import wait_for


def _db():
    from parkingdone.firebase import db

    return db()


def test_list_filters_by_plate_with_look_alikes_status_and_facility(demo):
    db = _db()
    support.stay(db, "B0S-123", closed=False)
    support.stay(db, "LIS-777")
    support.stay(
        db,
        "OTH-555",
        token=demo_data.OTHER_WEBHOOK_TOKEN,
        facility=demo_data.OTHER_FACILITY_ID,
        closed=False,
    )
    c = support.sign_in("staff")
    page = c.get("/admin/sessions").get_data(as_text=True)
    assert "B0S-123" in page and "LIS-777" in page and "OTH-555" not in page
    # "8OS 123" is a look-alike of B0S123 (8/B, O/0): found, normalised.
    lookalike = c.get("/admin/sessions?plate=8OS 123").get_data(as_text=True)
    assert "B0S-123" in lookalike and "LIS-777" not in lookalike
    open_only = c.get("/admin/sessions?status=open").get_data(as_text=True)
    assert "B0S-123" in open_only and "LIS-777" not in open_only
    invoices = c.get("/admin/sessions?payment_status=to_invoice").get_data(as_text=True)
    assert "LIS-777" in invoices and "B0S-123" not in invoices
    assert "OTH-555" not in c.get(
        f"/admin/sessions?facility={demo_data.OTHER_FACILITY_ID}"
    ).get_data(as_text=True)
    bad = c.get("/admin/sessions?status=nonsense", headers={"Accept": "application/json"})
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "http_error"


def test_cursor_pagination_walks_every_session_once(demo):
    from parkingdone.admin import queries

    db = _db()
    ids = {support.stay(db, f"PAG-{n:03d}", closed=False).session_id for n in range(5)}
    seen: list[str] = []
    after = None
    filters = queries.Filters()
    while True:
        docs, after = queries.page(db, demo.operator_id, filters, "Europe/Helsinki", after, size=2)
        seen += [d.id for d in docs]
        if after is None:
            break
    assert sorted(seen) == sorted(ids)
    c = support.sign_in("admin")
    first = c.get("/admin/sessions").get_data(as_text=True)
    assert "PAG-" in first


def test_csv_export_has_every_row_local_times_decimals_and_no_formulas(demo):
    db = _db()
    closed = support.stay(db, "CSV-100", minutes=100)
    support.stay(db, "CSV-200", closed=False)
    # A misread plate as the camera sent it: a formula if a spreadsheet ran it.
    db.collection("sessions").document(closed.session_id).update({"plateRaw": "=CSV-100"})
    c = support.sign_in("staff")
    response = c.get("/admin/sessions.csv?plate=CSV-100")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["plate"] for r in rows] == ["CSV100"]
    row = rows[0]
    assert row["plate_as_read"] == "'=CSV-100"
    assert row["time_zone"] == "Europe/Helsinki"
    entry = datetime.fromisoformat(row["entry_local"])
    assert entry.utcoffset() in (timedelta(hours=2), timedelta(hours=3))
    assert row["fee"] == "6.00" and row["currency"] == "EUR"  # 100 min: two started hours
    assert row["payment_status"] == "to_invoice"
    everything = list(
        csv.DictReader(io.StringIO(c.get("/admin/sessions.csv").get_data(as_text=True)))
    )
    assert {r["plate"] for r in everything} == {"CSV100", "CSV200"}


def test_timeline_shows_the_evidence_chain_in_order(demo, hosting_url):
    db = _db()
    stay = support.stay(db, demo_data.DRIVER_PLATE_RAW, closed=False, minutes=100)
    check = requests.get(
        f"{hosting_url}/api/enforcement/check/ABC-123?facility=Kamppi+P1",
        headers={"x-api-key": demo_data.ENFORCEMENT_KEY},
        timeout=10,
    )
    assert check.status_code == 200
    time.sleep(1.2)  # the exit's timestamp has whole seconds: leave the check's second
    exit_at = datetime.now(UTC).replace(microsecond=0)
    from tests.integration import ingest_support as ingest

    ingest.post(demo.webhook_token, ingest.body("exit", exit_at))
    wait_for(
        lambda: (
            (db.collection("sessions").document(stay.session_id).get().to_dict() or {}).get(
                "payment", {}
            )
            and (
                db.collection("sessions")
                .document(stay.session_id)
                .get()
                .to_dict()["payment"]
                .get("status")
                == "succeeded"
            )
        ),
        timeout=30,
        what="the card payment",
    )
    c = support.sign_in("staff")
    page = c.get(f"/admin/sessions/{stay.session_id}").get_data(as_text=True)
    kinds = [part.split('"')[0] for part in page.split('data-kind="')[1:]]
    assert kinds[0] == "entry"
    for kind in ("free_period", "check", "push", "payment", "exit"):
        assert kind in kinds, kinds
    # The charge follows the exit; the check was made while the car was inside.
    assert kinds.index("free_period") < kinds.index("check") < kinds.index("exit")
    assert kinds.index("exit") < len(kinds) - 1 - kinds[::-1].index("payment")
    assert "shouldFine false" in page
    assert "Europe/Helsinki" in page
    assert "ANPR camera (webhook)" in page
    # When the webhook received each event, in the facility's zone like every time shown.
    received = [part.split("<")[0].split(",")[0] for part in page.split("received ")[1:]]
    assert received and all(r.strip().endswith(("EET", "EEST")) for r in received), received


def test_plate_correction_relinks_the_driver_and_is_audited(demo):
    db = _db()
    misread = support.stay(db, "A8C-123", closed=False)  # the camera read B as 8
    c = support.sign_in("staff")
    response = c.post(
        f"/admin/sessions/{misread.session_id}/plate",
        data={"plate": "ABC-123", "reason": "Camera read B as 8", "csrf_token": support.csrf(c)},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    doc = db.collection("sessions").document(misread.session_id).get().to_dict()
    assert doc["plate"] == "ABC123"
    assert doc["driverUid"] == demo.driver_uid
    assert doc["corrections"][0]["fromPlate"] == "A8C123"
    # The open stay moved from the misread plate's track to the right one.
    assert pointer(db, demo.facility_id, "ABC123")["sessionId"] == misread.session_id
    assert pointer(db, demo.facility_id, "A8C123") is None
    # The enforcement projection follows: the right plate is parked here now.
    status = db.collection("plateStatus").document(f"{demo.facility_id}__ABC123").get()
    assert status.exists and status.get("openStay")["sessionId"] == misread.session_id
    entries = audit_log.of_operator(db, demo.operator_id)
    assert entries[0].action == "session.plate_corrected"
    assert entries[0].before["plate"] == "A8C123" and entries[0].after["plate"] == "ABC123"
    assert entries[0].role == "operator_staff" and entries[0].email == support.STAFF.email
    timeline = c.get(f"/admin/sessions/{misread.session_id}").get_data(as_text=True)
    assert "A8C123 → ABC123: Camera read B as 8" in timeline
    audit_page = support.sign_in("admin").get("/admin/audit").get_data(as_text=True)
    assert "session.plate_corrected" in audit_page


def test_plate_correction_is_refused_when_the_wrong_driver_already_paid(demo):
    db = _db()
    paid = support.stay(db, demo_data.DRIVER_PLATE_RAW, until=("succeeded",))
    c = support.sign_in("staff")
    response = c.post(
        f"/admin/sessions/{paid.session_id}/plate",
        data={"plate": "XYZ-999", "reason": "misread", "csrf_token": support.csrf(c)},
    )
    assert response.status_code == 409
    assert "refund the payment first" in response.get_data(as_text=True)
    assert db.collection("sessions").document(paid.session_id).get().get("plate") == "ABC123"
    assert audit_log.of_operator(db, demo.operator_id) == []


def test_invoice_workflow_from_the_session_page(demo):
    db = _db()
    unpaid = support.stay(db, "INV-321", until=("to_invoice",))
    staff = support.sign_in("staff")
    refused = staff.post(
        f"/admin/sessions/{unpaid.session_id}/invoice",
        data={"action": "mark_invoiced", "reference": "INV-1", "csrf_token": support.csrf(staff)},
    )
    assert refused.status_code == 403
    admin = support.sign_in("admin")
    token = support.csrf(admin)
    invoiced = admin.post(
        f"/admin/sessions/{unpaid.session_id}/invoice",
        data={
            "action": "mark_invoiced",
            "reference": "INV-1",
            "note": "by post",
            "csrf_token": token,
        },
    )
    assert invoiced.status_code == 303
    paid = admin.post(
        f"/admin/sessions/{unpaid.session_id}/invoice",
        data={"action": "mark_paid", "reference": "BANK-7", "csrf_token": token, "from": "list"},
    )
    assert paid.status_code == 303
    doc = db.collection("sessions").document(unpaid.session_id).get().to_dict()
    assert doc["payment"]["status"] == "paid"
    assert doc["payment"]["receiptNumber"].startswith("DEMO-OPERATOR-")
    wrong = admin.post(
        f"/admin/sessions/{unpaid.session_id}/invoice",
        data={"action": "cancel", "csrf_token": token},
    )
    # The invoice workflow's own refusal (not now: 422), as every caller gets it.
    assert wrong.status_code == 422
    actions = [e.action for e in audit_log.of_operator(db, demo.operator_id)]
    assert actions == ["invoice.mark_paid", "invoice.mark_invoiced"]
    page = admin.get(f"/admin/sessions/{unpaid.session_id}").get_data(as_text=True)
    assert "Invoice: mark invoiced" in page and "INV-1" in page


def test_refund_from_the_session_page_goes_through_the_refund_code_path(demo):
    db = _db()
    paid = support.stay(db, demo_data.DRIVER_PLATE_RAW, until=("succeeded",))
    payment_id = db.collection("sessions").document(paid.session_id).get().get("payment.paymentId")
    staff = support.sign_in("staff")
    refused = staff.post(
        f"/admin/sessions/{paid.session_id}/refund",
        data={"payment_id": payment_id, "amount": "1.00", "csrf_token": support.csrf(staff)},
    )
    assert refused.status_code == 403
    admin = support.sign_in("admin")
    form = {
        "payment_id": payment_id,
        "amount": "1.50",
        "reason": "requested_by_customer",
        "request_id": "refund-once",
        "csrf_token": support.csrf(admin),
    }
    assert admin.post(f"/admin/sessions/{paid.session_id}/refund", data=form).status_code == 303
    # The same form sent twice (a double click) refunds once.
    assert admin.post(f"/admin/sessions/{paid.session_id}/refund", data=form).status_code == 303
    ledger = db.collection("payments").document(payment_id).get().to_dict()
    assert ledger["refundedAmount"] == 150
    assert [r["status"] for r in ledger["refunds"]] == ["succeeded"]
    assert (
        db.collection("sessions").document(paid.session_id).get().get("payment.refundStatus")
        == "partially_refunded"
    )
    too_much = admin.post(
        f"/admin/sessions/{paid.session_id}/refund",
        data={**form, "amount": "99.00", "request_id": "another"},
    )
    # The refund code path's own refusal of the amount (400), as every caller gets it.
    assert too_much.status_code == 400
    assert [e.action for e in audit_log.of_operator(db, demo.operator_id)][:1] == ["payment.refund"]
    page = admin.get(f"/admin/sessions/{paid.session_id}").get_data(as_text=True)
    assert "Refund succeeded" in page
