"""Customer lookup on the dashboard: by plate with look-alikes, e-mail or name prefix in any
case; the profile with stays, payments, wallet and disputes; nobody else's customers."""

from __future__ import annotations

from devstack import demo_data
from tests.integration import admin_support as support
from tests.integration.payments_helpers import closed_session, wait_status
from tests.support.waiting import wait_for


def _searchable(db, uid: str) -> None:
    def ready():
        return (db.collection("users").document(uid).get().to_dict() or {}).get("searchName")

    wait_for(ready, timeout=15, what="the user trigger's search fields")


def _found(c, q: str) -> str:
    response = c.get("/admin/customers", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_find_a_customer_by_plate_look_alike_email_and_name(db, demo):
    closed_session(db, demo, "cust-1")
    wait_status(db, "cust-1", "succeeded")
    _searchable(db, demo.driver_uid)
    c = support.sign_in("staff")
    marker = f'data-customer="{demo.driver_uid}"'
    for query in ("ABC-123", "abc123", "A8C-I23", "driver@EXAMPLE", "demo dri", "DEMO"):
        assert marker in _found(c, query), query
    assert marker not in _found(c, "XYZ-999")
    assert marker not in _found(c, "nobody@example.test")


def test_the_profile_shows_stays_payments_wallet_and_disputes(db, demo):
    from parkingdone.payments import wallet

    wallet.credit(db, demo.operator_id, demo.driver_uid, 250, "Barrier stuck", "cust-req", "x")
    closed_session(db, demo, "cust-2")
    payment = wait_status(db, "cust-2", "succeeded")["payment"]
    admin = support.sign_in("admin")
    page = admin.get(f"/admin/customers/{demo.driver_uid}").get_data(as_text=True)
    for section in ("wallet", "vehicles", "sessions", "passes", "payments", "disputes", "tickets"):
        assert f'id="{section}"' in page
    assert "/admin/sessions/cust-2" in page
    assert payment["paymentId"] in page
    assert "Barrier stuck" in page
    # The stay took the 2.50 first: 0.00 left.
    assert 'data-movement="stay"' in page and 'data-movement="credit"' in page

    response = admin.post(
        f"/admin/customers/{demo.driver_uid}/wallet/credit",
        data={"amount": "5,00", "reason": "Apology", "csrf_token": support.csrf(admin)},
    )
    assert response.status_code == 303
    balance = db.collection("wallets").document(f"{demo.operator_id}__{demo.driver_uid}").get()
    assert balance.get("balance") == 500
    [entry] = db.collection("auditLog").where("action", "==", "wallet.credit").get()
    assert entry.get("after")["reason"] == "Apology"
    no_reason = admin.post(
        f"/admin/customers/{demo.driver_uid}/wallet/credit",
        data={"amount": "5", "reason": " ", "csrf_token": support.csrf(admin)},
    )
    assert no_reason.status_code == 400


def test_the_profile_lists_the_drivers_tickets_at_this_operator(db, demo):
    from parkingdone.callable_api import Caller
    from parkingdone.payments import wallet
    from parkingdone.support import service

    # A customer of this operator (one who holds a wallet here), then their ticket.
    wallet.credit(db, demo.operator_id, demo.driver_uid, 100, "Seed", "cust-ticket", "x")
    opened = service.open_ticket(
        db,
        Caller(demo.driver_uid),
        service.OpenTicket(
            subject="Gate did not open", text="I waited ten minutes", operator_id=demo.operator_id
        ),
    )
    page = support.sign_in("admin").get(f"/admin/customers/{demo.driver_uid}")
    text = page.get_data(as_text=True)
    assert f'data-ticket="{opened["ticketId"]}"' in text
    assert opened["number"] in text and "Gate did not open" in text


def test_another_operators_customer_is_not_found(db, demo):
    closed_session(db, demo, "cust-3")
    wait_status(db, "cust-3", "succeeded")
    _searchable(db, demo.driver_uid)
    other = support.sign_in("other_admin")
    assert f'data-customer="{demo.driver_uid}"' not in _found(other, "ABC-123")
    assert other.get(f"/admin/customers/{demo.driver_uid}").status_code == 404
    assert support.sign_in("admin").get("/admin/customers/not-a-customer").status_code == 404
    assert demo_data.DRIVER.uid == demo.driver_uid
