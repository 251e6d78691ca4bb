"""The super admin's pages: every operator with its headline figures, onboarding in one flow
(atomic where it can be, repeatable), and the read-only client preview."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from firebase_admin import auth
from google.cloud.firestore_v1.base_query import FieldFilter

from devstack import demo_data
from parkingdone import credentials
from tests.integration import access_support as a
from tests.integration import admin_support as support
from tests.integration import ingest_support as ingest

FORM = a.ONBOARDING_FORM


def onboard(c, **changes):
    return a.post(c, "/admin/operators/new", **{**FORM, **changes})


def test_operators_list_shows_each_operators_headline_figures(demo, db):
    from parkingdone.admin import kpis
    from parkingdone.models import figures

    now = datetime.now(UTC)
    op = demo_data.OPERATOR_ID
    # The figures as the triggers keep them: spread over shards, summed on reading.
    for collection in (figures.DAILY, figures.TOTALS):
        for stale in (
            db.collection(collection).where(filter=FieldFilter("operatorId", "==", op)).get()
        ):
            stale.reference.delete()
    today = kpis.local_midnight(now, "Europe/Helsinki").date().isoformat()
    for shard, (sessions, gross, inside, unpaid, unpaid_count, to_invoice) in enumerate(
        [(4, 1000, 1, 400, 1, 3), (3, 1150, 2, 200, 1, 1)]
    ):
        db.collection(figures.DAILY).document(figures.daily_shard_id(op, today[:7], shard)).set(
            {
                "operatorId": op,
                "month": today[:7],
                "shard": shard,
                "days": {today[8:]: {"sessions": sessions, "gross": gross}},
            }
        )
        db.collection(figures.TOTALS).document(figures.totals_shard_id(op, shard)).set(
            {
                "operatorId": op,
                "shard": shard,
                "inside": {demo_data.FACILITY_ID: inside},
                "unpaidAmount": unpaid,
                "unpaidCount": unpaid_count,
                "invoices": {"to_invoice": {"count": to_invoice, "amount": 300 * to_invoice}},
            }
        )
    page = support.sign_in("super").get("/admin/operators")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    row = text.split('data-operator="demo-operator"')[1].split("</tr>")[0]
    cells = re.findall(r'data-label="([^"]+)">([^<]*)<', row)
    figures = {label: value.strip() for label, value in cells}
    assert figures["Stays today"] == "7"
    assert figures["Revenue today"] == "€21.50"
    assert figures["Parked now"] == "3"
    assert figures["Open unpaid"] == "€6.00 (2)"
    assert figures["To invoice"] == "4"
    other = text.split('data-operator="other-operator"')[1].split("</tr>")[0]
    assert 'data-label="Stays today">0<' in other


def test_onboarding_creates_operator_facility_admin_and_token_in_one_flow(demo, db):
    page = onboard(support.sign_in("super"))
    assert page.status_code == 200, page.get_data(as_text=True)[-800:]
    text = page.get_data(as_text=True)
    token = a.shown(text, "data-secret")
    link = a.shown(text, "data-password-link")

    operator = db.collection("operators").document("acme").get().to_dict()
    assert operator["slug"] == "acme" and operator["name"] == "Acme Parking Oy"
    assert (operator["platformFeeBps"], operator["vatRateBps"]) == (450, 2550)
    assert operator["stripeAccountId"] == "acct_1AcmeTest"
    assert (operator["accentColor"], operator["timeZone"]) == ("#aa3300", "Europe/Helsinki")
    facility = db.collection("facilities").document("acme-p1").get().to_dict()
    assert facility["operatorId"] == "acme" and facility["capacity"] == 120
    [version] = facility["tariffs"]
    assert (version["periodMinutes"], version["periodPrice"]) == (30, 150)
    assert version["cap"]["amount"] == 1800 and version["freePeriod"]["minutes"] == 10
    stored = db.collection("credentials").document(credentials.hash_secret(token)).get().to_dict()
    assert stored["operatorId"] == "acme" and stored["label"] == "Acme cameras"
    admin = auth.get_user_by_email("boss@acme.test")
    assert admin.custom_claims == {"role": "operator_admin", "operatorId": "acme"}
    assert "operator.onboarded" in a.audit_actions(db, "acme")

    # The token works at the webhook for the new facility, the admin signs in at the portal.
    at = datetime.now(UTC).replace(microsecond=0)
    accepted = ingest.post(token, ingest.body("entry", at, plate="ACM-001", facility="acme-p1"))
    assert accepted.status_code == 202, accepted.text
    a.set_password(link)
    boss = a.sign_in_as("boss@acme.test", portal="acme")
    assert boss.get("/admin/o/acme/").status_code == 200
    assert "Acme Parking" in boss.get("/admin/o/acme/users").get_data(as_text=True)


def test_onboarding_again_resumes_without_duplicates(demo, db):
    c = support.sign_in("super")
    first = a.shown(onboard(c).get_data(as_text=True), "data-secret")
    retry = onboard(c)
    assert retry.status_code == 200
    second = a.shown(retry.get_data(as_text=True), "data-secret")
    assert "already created by the same request" in retry.get_data(as_text=True)
    # The unused first token (its answer may have been lost) is replaced, not left behind.
    at = datetime.now(UTC).replace(microsecond=0)
    assert (
        ingest.post(first, ingest.body("entry", at, plate="RES-1", facility="acme-p1")).status_code
        == 401
    )
    assert (
        ingest.post(second, ingest.body("entry", at, plate="RES-2", facility="acme-p1")).status_code
        == 202
    )
    # Once the token is in use, a further retry leaves it alone and issues none.
    third = onboard(c)
    assert third.status_code == 200
    assert "data-secret" not in third.get_data(as_text=True)
    assert (
        ingest.post(second, ingest.body("entry", at, plate="RES-3", facility="acme-p1")).status_code
        == 202
    )
    assert (
        len(db.collection("operators").where(filter=FieldFilter("slug", "==", "acme")).get()) == 1
    )
    active = [c for c in credentials.of_operator(db, "acme") if c.is_active(datetime.now(UTC))]
    assert len(active) == 1
    assert len(auth.get_users([auth.EmailIdentifier("boss@acme.test")]).users) == 1


def test_onboarding_refuses_conflicts_and_bad_input_leaving_nothing(demo, db):
    c = support.sign_in("super")
    taken = onboard(c, slug="demo")
    assert taken.status_code == 409 and "is taken" in taken.get_data(as_text=True)
    exists = onboard(c, operator_id="demo-operator", slug="fresh")
    assert exists.status_code == 409
    facility = onboard(c, facility_id=demo_data.FACILITY_ID)
    assert facility.status_code == 409
    for taken_admin in (demo_data.OPERATOR_ADMIN.email, demo_data.DRIVER.email):
        refused = onboard(c, admin_email=taken_admin)
        assert refused.status_code == 409, taken_admin
    for bad in (
        {"period_price": "-1"},
        {"time_zone": "Mars/Olympus"},
        {"slug": "www"},
        {"stripe_account_id": "not-an-account"},
        {"admin_email": "nobody"},
        {"accent_color": "red"},
        {"period_price": "abc"},
    ):
        assert onboard(c, **bad).status_code == 400, bad
    assert not db.collection("operators").document("acme").get().exists
    assert not db.collection("facilities").document("acme-p1").get().exists
    assert not auth.get_users([auth.EmailIdentifier("boss@acme.test")]).users
    assert db.collection("operators").document("demo-operator").get().to_dict()["name"] == (
        "Demo Parking Oy"
    )


def test_only_super_admins_onboard(demo, db):
    for role in ("admin", "staff", "other_admin"):
        response = onboard(support.sign_in(role))
        assert response.status_code == 403, role
    assert not db.collection("operators").document("acme").get().exists


def start_preview(c, operator_id: str = demo_data.OPERATOR_ID) -> str:
    response = a.post(c, f"/admin/operators/{operator_id}/preview")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "/admin/preview/" in location
    return location.split("/admin/preview/")[1].strip("/")


def test_client_preview_shows_the_operators_portal_as_its_admin_sees_it(demo, db):
    c = support.sign_in("super")
    preview_id = start_preview(c)
    root = f"/admin/preview/{preview_id}"
    page = c.get(f"{root}/").get_data(as_text=True)
    assert "Preview of Demo Parking" in page and "Read-only" in page
    assert f'href="{root}/users"' in page and f'href="{root}/credentials"' in page
    assert '/operators">Operators</a>' not in page  # the admin's navigation, not the super's
    for path in ("/", "/sessions", "/sessions.csv", "/audit", "/users", "/credentials"):
        assert c.get(f"{root}{path}").status_code == 200, path
    assert c.get(f"{root}/operators").status_code == 403  # not an admin's page
    entries = [e for e in db.collection("auditLog").get() if e.get("action") == "preview.started"]
    assert len(entries) == 1
    assert entries[0].id == preview_id
    assert entries[0].get("operatorId") == demo_data.OPERATOR_ID
    assert entries[0].get("uid") == demo_data.SUPER_ADMIN.uid
    # The preview is the super admin's own: nobody else opens it, and only supers start one.
    for role in ("admin", "other_admin", "staff", "signed_out"):
        assert support.sign_in(role).get(f"{root}/").status_code == 404, role
    assert support.client().get("/admin/preview/nope/").status_code == 404
    assert (
        a.post(support.sign_in("admin"), "/admin/operators/demo-operator/preview").status_code
        == 403
    )
    assert a.post(c, "/admin/operators/nobody/preview").status_code == 404


def test_client_preview_cannot_change_anything(demo, db):
    """Every POST route the app has (enumerated from its url_map, so pages added later are
    covered) is refused while previewing, even with a valid CSRF token and real targets."""
    from parkingdone.admin.app import app

    stay = support.stay(db, "PRV-001", closed=False)
    support.ensure_staff()
    real = {
        "session_id": stay.session_id,
        "uid": support.STAFF.uid,
        "secret_hash": credentials.hash_secret(demo_data.WEBHOOK_TOKEN),
        "operator_id": demo_data.OPERATOR_ID,
        "kind": "entry",
    }
    form = {
        "plate": "PRV-002",
        "reason": "x",
        "role": "operator_admin",
        "email": "sneaky@demo-operator.test",
        "kind": "webhook",
        "label": "sneaky",
        "action": "mark_invoiced",
        "overlap_hours": "0",
        **FORM,
    }
    c = support.sign_in("super")
    root = f"/admin/preview/{start_preview(c)}"

    def snapshot() -> dict[str, list]:
        return {
            name: sorted(str(d.to_dict()) for d in db.collection(name).get())
            for name in (
                "auditLog",
                "credentials",
                "staffMembers",
                "operators",
                "sessions",
                "facilities",
                "passProducts",
                "wallets",
                "walletMovements",
                "disputes",
            )
        }

    before = snapshot()
    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert len(posts) >= 10
    for rule in posts:
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", real.get(argument, "x"))
        for method in ("POST", "PUT", "DELETE"):
            response = c.open(
                f"{root}{path}", method=method, data={**form, "csrf_token": support.csrf(c)}
            )
            assert response.status_code in (403, 405), (method, path, response.status_code)
            if response.status_code == 403:
                assert "preview_read_only" in response.get_data(as_text=True), path
    assert snapshot() == before
    assert auth.get_user(support.STAFF.uid).custom_claims["role"] == "operator_staff"
    assert not auth.get_users([auth.EmailIdentifier("sneaky@demo-operator.test")]).users
    # The same super admin outside the preview is not read-only.
    assert (
        c.post(
            f"/admin/o/demo/sessions/{stay.session_id}/plate",
            data={"plate": "PRV-003", "reason": "real fix", "csrf_token": support.csrf(c)},
        ).status_code
        == 303
    )
