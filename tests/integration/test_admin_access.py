"""Admin dashboard: sign-in, session cookies, CSRF, roles and tenant isolation, with the
Flask test client against the Auth and Firestore emulators."""

from __future__ import annotations

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from devstack import demo_data
from tests.integration import access_support as access
from tests.integration import admin_support as support

PAGES = (
    "/",
    "/sessions",
    "/sessions.csv",
    "/fragments/kpis",
    "/fragments/occupancy",
    "/fragments/activity",
    "/fragments/invoices",
    "/fragments/trend",
    "/customers",
    "/customers?q=ABC-123",
    "/disputes",
    "/disputes?status=all",
    "/facilities",
    "/passes",
    "/passes.csv",
    "/tickets",
    "/tickets?line=operator",
    "/tickets.csv",
    "/fragments/support",
)
# role -> status of every page above at /admin/… (super admins choose an operator first).
EXPECTED = {
    "signed_out": 303,
    "driver": 403,
    "staff": 200,
    "admin": 200,
    "super": 303,
    "other_admin": 200,
}


@pytest.mark.parametrize("role", support.ROLES)
def test_every_page_answers_each_role_as_it_should(demo, role):
    c = support.sign_in(role)
    for page in PAGES:
        response = c.get(f"/admin{page}")
        assert response.status_code == EXPECTED[role], (role, page, response.status_code)
        if role == "signed_out":
            assert "/admin/login" in response.headers["Location"]
        if role == "super":
            assert response.headers["Location"].endswith("/admin/operators")


@pytest.mark.parametrize(
    ("role", "status"),
    [("signed_out", 303), ("driver", 403), ("staff", 403), ("admin", 200), ("other_admin", 200)],
)
def test_audit_log_is_for_the_operators_admins(demo, role, status):
    assert support.sign_in(role).get("/admin/audit").status_code == status


def test_super_admin_works_through_an_operators_portal(demo):
    c = support.sign_in("super")
    listing = c.get("/admin/operators")
    assert listing.status_code == 200
    assert "/o/demo/" in listing.get_data(as_text=True)
    assert "/o/other/" in listing.get_data(as_text=True)
    for portal in ("demo", "other"):
        for page in (*PAGES, "/audit"):
            assert c.get(f"/admin/o/{portal}{page}").status_code == 200, (portal, page)


def test_staff_cannot_open_the_super_admins_operator_list(demo):
    assert support.sign_in("admin").get("/admin/operators").status_code == 403


def test_login_page_shows_the_operators_brand(demo):
    page = support.client().get("/admin/o/other/login").get_data(as_text=True)
    assert "Other Parking" in page
    assert "#7a3db8" in page
    assert "/assets/admin/logos/other.svg" in page
    assert support.client().get("/admin/o/nobody/login").status_code == 404


def test_portal_chosen_by_host_name(demo):
    c = support.client()
    page = c.get("/admin/login", headers={"X-Forwarded-Host": "other.parkingdone.com"})
    assert "Other Parking" in page.get_data(as_text=True)


def test_another_operators_user_is_refused_at_a_portal_with_a_clear_message(demo):
    c = support.client()
    response = c.post(
        "/admin/o/other/login",
        data={"email": demo_data.OPERATOR_ADMIN.email, "password": demo_data.PASSWORD},
    )
    assert response.status_code == 403
    assert "does not belong to Other Parking" in response.get_data(as_text=True)
    assert c.get_cookie("__session") is None


def test_signed_in_user_of_another_operator_is_refused_on_its_portal_pages(demo):
    c = support.sign_in("admin")
    response = c.get("/admin/o/other/sessions")
    assert response.status_code == 403
    assert "does not belong to Other Parking" in response.get_data(as_text=True)


def test_driver_account_gets_no_dashboard(demo):
    c = support.client()
    response = c.post(
        "/admin/login", data={"email": demo_data.DRIVER.email, "password": demo_data.PASSWORD}
    )
    assert response.status_code == 403
    assert "This account has no access to the operators" in response.get_data(as_text=True)


def test_session_cookie_is_the_one_hosting_forwards(demo):
    c = support.client()
    response = c.post(
        "/admin/login",
        data={"email": demo_data.OPERATOR_ADMIN.email, "password": demo_data.PASSWORD},
    )
    assert response.status_code == 303
    header = response.headers["Set-Cookie"]
    assert header.startswith("__session=")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Max-Age=28800" in header
    assert "Path=/" in header
    # The emulator is plain http; outside it the cookie is Secure (auth.cookie_options).


def test_id_token_exchange_at_admin_session(demo):
    from parkingdone.admin import auth

    id_token = auth.password_sign_in(demo_data.OPERATOR_ADMIN.email, demo_data.PASSWORD)
    c = support.client()
    response = c.post("/admin/session", json={"idToken": id_token})
    assert response.status_code == 200
    assert response.get_json() == {"status": "signed_in", "role": "operator_admin"}
    assert c.get("/admin/sessions").status_code == 200
    bad = support.client().post("/admin/session", json={"idToken": "not-a-token"})
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "invalid_token"


def test_cross_site_sign_in_is_refused(demo):
    response = support.client().post(
        "/admin/login",
        data={"email": demo_data.OPERATOR_ADMIN.email, "password": demo_data.PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_wrong_password_then_repeated_failures_are_slowed_down(demo):
    c = support.client()
    for _ in range(5):
        response = c.post(
            "/admin/login", data={"email": demo_data.OPERATOR_ADMIN.email, "password": "wrong"}
        )
        assert response.status_code == 401
        assert "Wrong e-mail or password" in response.get_data(as_text=True)
    slowed = c.post(
        "/admin/login",
        data={"email": demo_data.OPERATOR_ADMIN.email, "password": demo_data.PASSWORD},
    )
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) > 0
    # Per address too: another account from the same address waits as well.
    other = c.post("/admin/login", data={"email": demo_data.OTHER_ADMIN.email, "password": "wrong"})
    assert other.status_code == 429
    # Another address and account is not affected.
    fresh = support.client().post(
        "/admin/login",
        data={"email": demo_data.OTHER_ADMIN.email, "password": demo_data.PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert fresh.status_code == 303


def test_state_changing_request_without_csrf_token_is_refused(demo):
    c = support.sign_in("admin")
    stay = support.stay(demo_db(), "CSR-001", closed=False)
    no_token = c.post(
        f"/admin/sessions/{stay.session_id}/plate", data={"plate": "CSR-002", "reason": "misread"}
    )
    assert no_token.status_code == 403
    wrong = c.post(
        f"/admin/sessions/{stay.session_id}/plate",
        data={"plate": "CSR-002", "reason": "misread", "csrf_token": "0" * 64},
    )
    assert wrong.status_code == 403
    assert c.post("/admin/logout").status_code == 403
    assert c.get("/admin/sessions").status_code == 200  # still signed in


def demo_db():
    from parkingdone.firebase import db

    return db()


def test_sign_out_revokes_the_session_everywhere(demo):
    c = support.sign_in("admin")
    cookie = c.get_cookie("__session").value
    support.wait_until_revocable()
    response = c.post("/admin/logout", data={"csrf_token": support.csrf(c)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/login")
    # Even a copy of the old cookie no longer works: the tokens were revoked.
    replay = support.client()
    replay.set_cookie("__session", cookie)
    assert replay.get("/admin/sessions").status_code == 303


def test_revoked_session_is_signed_out(demo):
    c = support.sign_in("staff")
    assert c.get("/admin/").status_code == 200
    support.wait_until_revocable()
    support.revoke(support.STAFF.uid)
    response = c.get("/admin/")
    assert response.status_code == 303
    assert "/admin/login" in response.headers["Location"]
    assert "__session=;" in response.headers.get("Set-Cookie", "")


def test_another_operators_session_answers_404(demo):
    db = demo_db()
    theirs = support.stay(
        db,
        "OTH-901",
        token=demo_data.OTHER_WEBHOOK_TOKEN,
        facility=demo_data.OTHER_FACILITY_ID,
        closed=False,
    )
    ours = support.stay(db, "OUR-901", closed=False)
    admin = support.sign_in("admin")
    assert admin.get(f"/admin/sessions/{theirs.session_id}").status_code == 404
    assert admin.get(f"/admin/sessions/{ours.session_id}").status_code == 200
    refused = admin.post(
        f"/admin/sessions/{theirs.session_id}/plate",
        data={"plate": "OTH-902", "reason": "try", "csrf_token": support.csrf(admin)},
    )
    assert refused.status_code == 404
    assert "OTH-901" not in admin.get("/admin/sessions").get_data(as_text=True)
    other = support.sign_in("other_admin")
    assert other.get(f"/admin/sessions/{ours.session_id}").status_code == 404
    listing = other.get("/admin/sessions").get_data(as_text=True)
    assert "OTH-901" in listing and "OUR-901" not in listing


# --- operator configuration: users, API credentials, the super admin's operators ----------

CONFIG_PAGES = {
    # page -> role -> status at /admin/… (super admins reach operator pages through a portal)
    "/users": {"admin": 200, "other_admin": 200, "super": 303},
    "/credentials": {"admin": 200, "other_admin": 200, "super": 303},
    "/operators": {"admin": 403, "other_admin": 403, "super": 200},
    "/operators/new": {"admin": 403, "other_admin": 403, "super": 200},
}
CONFIG_DEFAULT = {"signed_out": 303, "driver": 403, "staff": 403}


@pytest.mark.parametrize("role", support.ROLES)
def test_configuration_pages_answer_each_role_as_they_should(demo, role):
    c = support.sign_in(role)
    for page, expected in CONFIG_PAGES.items():
        status = {**CONFIG_DEFAULT, **expected}[role]
        response = c.get(f"/admin{page}")
        assert response.status_code == status, (role, page, response.status_code)
        if role == "signed_out":
            assert "/admin/login" in response.headers["Location"]
    if role == "super":
        for page in ("/users", "/credentials"):
            assert c.get(f"/admin/o/demo{page}").status_code == 200
            assert c.get(f"/admin/o/other{page}").status_code == 200


def _config_actions() -> list[tuple[str, dict, dict]]:
    """(path, form, role -> status) for every configuration action, aimed at the demo
    operator's people and credentials; another operator's admin gets 404 for those."""
    from parkingdone import credentials

    webhook = credentials.hash_secret(demo_data.WEBHOOK_TOKEN)
    enforcement = credentials.hash_secret(demo_data.ENFORCEMENT_KEY)
    staff = support.STAFF.uid
    own = {"admin": 200, "super": 200, "other_admin": 200}
    target = {"admin": 303, "super": 303, "other_admin": 404}
    return [
        ("/users/invite", {"email": "matrix@demo-operator.test", "role": "operator_staff"}, own),
        (f"/users/{staff}/role", {"role": "operator_staff"}, target),
        ("/credentials", {"kind": "webhook", "label": "Matrix"}, own),
        (
            f"/credentials/{webhook}/rotate",
            {"overlap_hours": "1"},
            {**target, "admin": 200, "super": 200},
        ),
        (f"/credentials/{enforcement}/revoke", {}, target),
        (f"/users/{staff}/remove", {}, target),
        (
            "/operators/new",
            access.ONBOARDING_FORM,
            {"admin": 403, "other_admin": 403, "super": 200},
        ),
        ("/operators/demo-operator/preview", {}, {"admin": 403, "other_admin": 403, "super": 303}),
    ]


@pytest.mark.parametrize("role", support.ROLES)
def test_configuration_actions_answer_each_role_as_they_should(demo, role):
    support.ensure_staff()
    c = support.sign_in(role)
    token = support.csrf(c) if role != "signed_out" else ""
    for path, form, expected in _config_actions():
        # Without a session there is no CSRF token: refused before anything else.
        status = {"signed_out": 403, "driver": 403, "staff": 403, **expected}[role]
        portal = (
            "/admin/o/demo" if role == "super" and not path.startswith("/operators") else "/admin"
        )
        response = c.post(f"{portal}{path}", data={**form, "csrf_token": token})
        assert response.status_code == status, (role, path, response.status_code)


# Customer care actions: role -> status of (credit a wallet, decide a dispute, open a dispute
# from a stay's page). Staff may open a dispute; crediting and deciding are the admins'.
CARE_ACTIONS = {
    "staff": (403, 403, 303),
    "admin": (303, 303, 303),
    "other_admin": (404, 404, 404),
}


@pytest.mark.parametrize("role", sorted(CARE_ACTIONS))
def test_customer_care_actions_by_role(demo, role):
    from parkingdone.payments import wallet

    db = demo_db()
    ours = support.stay(db, f"CARE-{len(role)}{role[0].upper()}")
    wallet.credit(db, "demo-operator", demo.driver_uid, 100, "Seed", "seed-credit", "x")
    c = support.sign_in(role)
    token = support.csrf(c)
    credit = c.post(
        f"/admin/customers/{demo.driver_uid}/wallet/credit",
        data={"amount": "1.00", "reason": "Goodwill", "csrf_token": token},
    )
    opened = c.post(
        f"/admin/sessions/{ours.session_id}/dispute",
        data={"reason": "other", "statement": "Call", "csrf_token": token},
    )
    decided = c.post(
        f"/admin/disputes/d_{ours.session_id}/resolve",
        data={"decision": "rejected", "reason": "No", "csrf_token": token},
    )
    got = (credit.status_code, decided.status_code, opened.status_code)
    assert got == CARE_ACTIONS[role], (role, got)
    if role == "other_admin":
        assert c.get(f"/admin/disputes/d_{ours.session_id}").status_code == 404
        assert c.get(f"/admin/customers/{demo.driver_uid}").status_code == 404


def test_customer_care_pages_refuse_drivers_and_the_signed_out(demo):
    for path in ("/admin/customers/x", "/admin/disputes/d_x"):
        assert support.sign_in("driver").get(path).status_code == 403
        assert support.client().get(path).status_code == 303


# Configuration pages and actions: role -> expected status, at the demo operator's portal
# (so a super admin works on it). "other_admin" is the other operator's admin: the demo
# operator's facility, product and tariff do not exist for them (404), while its own
# listing pages answer 200.
CONFIG_READS = {
    "/facilities/kamppi-p1": {
        "signed_out": 303,
        "driver": 403,
        "staff": 200,
        "admin": 200,
        "super": 200,
        "other_admin": 403,
    },
    "/facilities/new": {
        "signed_out": 303,
        "driver": 403,
        "staff": 403,
        "admin": 200,
        "super": 200,
        "other_admin": 403,
    },
    "/facilities/kamppi-p1/tariff": {
        "signed_out": 303,
        "driver": 403,
        "staff": 403,
        "admin": 200,
        "super": 200,
        "other_admin": 403,
    },
}
# The same pages through the user's own portal (no portal prefix): the other operator's
# admin asks for a facility that is not theirs.
CROSS_TENANT = ("/facilities/kamppi-p1", "/facilities/kamppi-p1/tariff")


def _facility_and_pass_actions(product_id: str) -> list[tuple[str, dict, dict[str, int]]]:
    settings = {
        "rate_label": "x",
        "max_stay_minutes": "10080",
        "enforcement_grace_minutes": "10",
    }
    tariff = {"period_minutes": "60", "period_price": "3.00", "step": "preview"}
    product = {
        "facility": demo_data.FACILITY_ID,
        "name": "Matrix pass",
        "validity_days": "7",
        "price": "10.00",
    }
    refused = {"signed_out": 403, "driver": 403, "staff": 403}
    return [
        ("/facilities/kamppi-p1", settings, {**refused, "admin": 303, "super": 303}),
        (
            "/facilities",
            {**settings, "id": "matrix-p9", "name": "Matrix P9"},
            {**refused, "admin": 303, "super": 303},
        ),
        ("/facilities/kamppi-p1/tariff", tariff, {**refused, "admin": 200, "super": 200}),
        ("/passes/products", product, {**refused, "admin": 303, "super": 303}),
        (
            f"/passes/products/{product_id}",
            {"action": "deactivate"},
            {**refused, "admin": 303, "super": 303},
        ),
        (
            "/passes/check",
            {"facility": demo_data.FACILITY_ID, "plate": "MTX-001"},
            {"signed_out": 403, "driver": 403, "staff": 200, "admin": 200, "super": 200},
        ),
    ]


def _matrix_product() -> str:
    from parkingdone.payments import passes
    from parkingdone.payments.access import SYSTEM

    draft = passes.ProductDraft(
        facility_id=demo_data.FACILITY_ID, name="Matrix month", validity_days=30, price=5000
    )
    return passes.create_product(demo_db(), SYSTEM, demo_data.OPERATOR_ID, draft).id


@pytest.mark.parametrize("role", support.ROLES)
def test_configuration_pages_and_actions_answer_each_role_as_they_should(demo, role):
    product_id = _matrix_product()
    c = support.sign_in(role)
    for page, expected in CONFIG_READS.items():
        response = c.get(f"/admin/o/demo{page}")
        assert response.status_code == expected[role], (role, page, response.status_code)
    if role == "other_admin":
        for page in CROSS_TENANT:
            assert c.get(f"/admin{page}").status_code == 404, page
        token = support.csrf(c)
        for path, data, _ in _facility_and_pass_actions(product_id):
            if path == "/facilities":
                continue  # creating a facility of one's own is allowed
            response = c.post(f"/admin{path}", data={**data, "csrf_token": token})
            assert response.status_code == 404, (path, response.status_code)
        return
    token = support.csrf(c) if role != "signed_out" else "0" * 64
    for path, data, expected in _facility_and_pass_actions(product_id):
        response = c.post(f"/admin/o/demo{path}", data={**data, "csrf_token": token})
        assert response.status_code == expected[role], (role, path, response.status_code)
    changed = role in ("admin", "super")
    stored = demo_db().collection("passProducts").document(product_id).get().to_dict()
    assert stored["active"] is not changed


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("signed_out", 303),
        ("driver", 403),
        ("staff", 403),
        ("admin", 403),
        ("other_admin", 403),
        ("super", 200),
    ],
)
def test_parkingdone_support_queue_is_for_super_admins(demo, role, status):
    assert support.sign_in(role).get("/admin/support-line").status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("signed_out", 303), ("driver", 403), ("staff", 200), ("admin", 200), ("other_admin", 200)],
)
def test_operators_staff_may_open_a_ticket_to_parkingdone(demo, role, status):
    assert support.sign_in(role).get("/admin/tickets/new").status_code == status


# role -> (view, reply, status change) on a driver's ticket of the demo operator.
TICKET_ACTIONS = {
    "signed_out": (303, 403, 403),  # no session, so no CSRF token either
    "driver": (403, 403, 403),
    "staff": (200, 303, 303),
    "admin": (200, 303, 303),
    "other_admin": (404, 404, 404),
}


@pytest.mark.parametrize("role", list(TICKET_ACTIONS))
def test_ticket_page_and_actions_per_role(demo, role):
    from parkingdone.callable_api import Caller
    from parkingdone.support import service

    request = service.OpenTicket(subject="Help", text="Gate", operator_id=demo_data.OPERATOR_ID)
    ticket_id = service.open_ticket(demo_db(), Caller("some-driver"), request)["ticketId"]
    c = support.sign_in(role)
    token = support.csrf(c) if c.get_cookie("__session") else ""
    view, reply, change = TICKET_ACTIONS[role]
    assert c.get(f"/admin/tickets/{ticket_id}").status_code == view
    posted = c.post(
        f"/admin/tickets/{ticket_id}/messages", data={"text": "Hi", "csrf_token": token}
    )
    assert posted.status_code == reply
    changed = c.post(
        f"/admin/tickets/{ticket_id}/status", data={"status": "closed", "csrf_token": token}
    )
    assert changed.status_code == change
    expected = "closed" if change == 303 else "open"
    assert demo_db().document(f"tickets/{ticket_id}").get().get("status") == expected


# --- data retention and termination (/admin/retention) ------------------------------------

POLICY_FORM = {
    "sessionsMonths": "30",
    "imagesMonths": "18",
    "accountingYears": "7",
    "financialYearEndMonth": "12",
    "ticketsMonths": "24",
}


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("signed_out", 303),
        ("driver", 403),
        ("staff", 403),
        ("admin", 200),
        ("super", 303),
        ("other_admin", 200),
    ],
)
def test_retention_page_is_for_the_operators_admins(demo, role, status):
    assert support.sign_in(role).get("/admin/retention").status_code == status


def test_operator_admins_see_the_policy_and_only_super_admins_change_it_or_terminate(demo, db):
    from parkingdone import retention

    admin = support.sign_in("admin")
    page = admin.get("/admin/retention").get_data(as_text=True)
    assert 'data-setting="ticketsMonths"' in page and "Save policy" not in page
    assert "Terminate" not in page
    token = support.csrf(admin)
    changed = admin.post("/admin/retention", data={**POLICY_FORM, "csrf_token": token})
    assert changed.status_code == 403
    ended = admin.post(
        "/admin/retention/terminate",
        data={"confirm_operator_id": demo_data.OPERATOR_ID, "csrf_token": token},
    )
    assert ended.status_code == 403
    staff = support.sign_in("staff")
    assert (
        staff.post(
            "/admin/retention", data={**POLICY_FORM, "csrf_token": support.csrf(staff)}
        ).status_code
        == 403
    )
    assert retention.load(db, demo_data.OPERATOR_ID) == retention.DEFAULT
    assert not db.document(f"operatorTerminations/{demo_data.OPERATOR_ID}").get().exists

    root = support.sign_in("super", portal="demo")
    token = support.csrf(root)
    assert "Save policy" in root.get("/admin/o/demo/retention").get_data(as_text=True)
    # Outside the legal bounds: refused, nothing saved.
    bad = root.post(
        "/admin/o/demo/retention",
        data={**POLICY_FORM, "accountingYears": "3", "csrf_token": token},
    )
    assert bad.status_code == 400 and "accountingYears" in bad.get_data(as_text=True)
    assert retention.load(db, demo_data.OPERATOR_ID) == retention.DEFAULT
    # Within them: saved through the same function as the callable, and audited.
    good = root.post("/admin/o/demo/retention", data={**POLICY_FORM, "csrf_token": token})
    assert good.status_code == 303
    saved = retention.load(db, demo_data.OPERATOR_ID)
    assert saved.sessions_months == 30 and saved.accounting_years == 7
    entries = (
        db.collection("auditLog")
        .where(filter=FieldFilter("action", "==", "retention.policy_change"))
        .get()
    )
    assert len(entries) == 1
    entry = entries[0].to_dict()
    assert entry["before"]["sessionsMonths"] == 24 and entry["after"]["sessionsMonths"] == 30
    assert entry["operatorId"] == demo_data.OPERATOR_ID
    assert "30" in admin.get("/admin/retention").get_data(as_text=True)
    # A termination needs the operator's id typed again.
    unconfirmed = root.post(
        "/admin/o/demo/retention/terminate",
        data={"confirm_operator_id": "demo", "csrf_token": token},
    )
    assert unconfirmed.status_code == 400
    assert not db.document(f"operatorTerminations/{demo_data.OPERATOR_ID}").get().exists


def test_super_admin_terminates_an_operator_from_the_dashboard_and_follows_it(demo, db):
    from datetime import UTC, datetime, timedelta

    from firebase_admin import auth

    from parkingdone import termination
    from parkingdone.firebase import app

    root = support.sign_in("super", portal="other")
    started = root.post(
        "/admin/o/other/retention/terminate",
        data={"confirm_operator_id": demo_data.OTHER_OPERATOR_ID, "csrf_token": support.csrf(root)},
    )
    assert started.status_code == 303
    record = db.document(f"operatorTerminations/{demo_data.OTHER_OPERATOR_ID}").get().to_dict()
    assert record["status"] == "exporting" and record["staffRevoked"] >= 1
    # The operator's admin loses the role at once; the demo operator's admin keeps theirs.
    assert "role" not in (auth.get_user(demo_data.OTHER_ADMIN.uid, app=app()).custom_claims or {})
    kept = auth.get_user(demo_data.OPERATOR_ADMIN.uid, app=app()).custom_claims
    assert kept["operatorId"] == demo_data.OPERATOR_ID
    audited = (
        db.collection("auditLog")
        .where(filter=FieldFilter("action", "==", "operator.terminate"))
        .get()
    )
    assert [e.get("operatorId") for e in audited] == [demo_data.OTHER_OPERATOR_ID]

    page = root.get("/admin/o/other/retention").get_data(as_text=True)
    assert 'data-status="exporting"' in page
    now = datetime.now(UTC)
    termination.advance(db, now=now)
    page = root.get("/admin/o/other/retention").get_data(as_text=True)
    assert 'data-status="exported"' in page and "Archive (link valid until" in page
    termination.advance(db, now=now + timedelta(days=8), budget=3)
    page = root.get("/admin/o/other/retention").get_data(as_text=True)
    assert 'data-status="deleting"' in page and 'id="progress"' in page
    # The demo operator is untouched.
    assert db.document(f"operators/{demo_data.OPERATOR_ID}").get().exists
    assert not db.document(f"operatorTerminations/{demo_data.OPERATOR_ID}").get().exists
