"""Operator configuration from the dashboard, against the emulators: facility settings as
the driver app and the functions read them, new facilities, tariff versions with their
preview, pass products, the sold-pass list with CSV and revenue, and the plate check."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

import requests

from devstack import demo_data
from parkingdone.models import cache
from tests.integration import admin_support as support
from tests.integration.test_enforcement_api import add_pass, get_check, open_session
from tests.support.firestore_rest import Caller
from tests.support.services import call_callable
from tests.support.waiting import wait_for

FACILITY = demo_data.FACILITY_ID
ADMIN_CLAIMS = {"role": "operator_admin", "operatorId": demo_data.OPERATOR_ID}
SETTINGS = {
    "rate_label": "€3.50 per started hour",
    "driver_notice": "Level -2 closed for cleaning on Sunday",
    "rules": "Stays of 15 minutes or less are free.\nMaximum stay 3 days.",
    "capacity": "380",
    "max_stay_minutes": "4320",
    "enforcement_grace_minutes": "0",
    "geofence": "60.1690, 24.9310\n60.1700, 24.9320\n60.1695, 24.9340",
}


def projected(db, facility_id: str, plate: str) -> dict:
    """The plate's projection, once the session trigger wrote it (the first call of a run
    waits for the trigger's cold start)."""
    ref = db.collection("plateStatus").document(f"{facility_id}__{plate}")
    return wait_for(lambda: ref.get().to_dict(), timeout=60, what=f"plateStatus of {plate}")


def _post(c, path: str, data: dict) -> requests.Response:
    return c.post(f"/admin{path}", data={**data, "csrf_token": support.csrf(c)})


def _as_driver(path: str) -> dict:
    """A document as the driver app reads it: Firestore REST with the driver's ID token,
    so the security rules decide."""
    project = os.environ.get("GCLOUD_PROJECT", "demo-parkingdone")
    url = (
        f"http://{os.environ['FIRESTORE_EMULATOR_HOST']}/v1/projects/{project}"
        f"/databases/(default)/documents/{path}"
    )
    response = requests.get(url, headers=Caller(demo_data.DRIVER.uid).headers(), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["fields"]


def _audit(db, action: str) -> list[dict]:
    return [d.to_dict() for d in db.collection("auditLog").where("action", "==", action).get()]


def test_facility_settings_are_what_the_app_and_the_functions_read(db, demo, hosting_url):
    from parkingdone import tenants

    # A car parked 20 minutes ago: with the demo's 15 free minutes and 10 minutes' grace it
    # may be fined from minute 25; with no grace, from minute 15.
    open_session(db, demo, "cfg-grace-1", "GRC-101", minutes_ago=20)
    projected(db, FACILITY, "GRC101")
    assert get_check(hosting_url, "GRC-101").json()["shouldFine"] is False
    tenants.find_facility(db, demo.operator_id, FACILITY)  # warm this process's cache

    admin = support.sign_in("admin")
    response = _post(admin, f"/facilities/{FACILITY}", SETTINGS)
    assert response.status_code == 303, response.get_data(as_text=True)[-400:]

    seen = _as_driver(f"facilities/{FACILITY}")
    assert seen["rateLabel"]["stringValue"] == SETTINGS["rate_label"]
    assert seen["driverNotice"]["stringValue"] == SETTINGS["driver_notice"]
    rules = [v["stringValue"] for v in seen["rules"]["arrayValue"]["values"]]
    assert rules == ["Stays of 15 minutes or less are free.", "Maximum stay 3 days."]
    assert seen["capacity"]["integerValue"] == "380"
    assert len(seen["geofence"]["arrayValue"]["values"]) == 3

    notice = unquote_plus(response.headers["Location"])
    assert "enforcement answers of 1 plates updated" in notice
    # This process forgot its cached copy at once; others within the cache TTL.
    cached = tenants.find_facility(db, demo.operator_id, FACILITY)
    assert (cached.enforcement_grace_minutes, cached.max_stay_minutes) == (0, 4320)
    wait_for(
        lambda: get_check(hosting_url, "GRC-101").json()["shouldFine"] is True,
        timeout=cache.TTL_SECONDS + 15,
        what="the enforcement API reading the new grace",
    )

    [entry] = _audit(db, "facility.updated")
    assert entry["target"] == f"facilities/{FACILITY}"
    assert entry["before"]["enforcementGraceMinutes"] == 10
    assert entry["after"]["enforcementGraceMinutes"] == 0
    assert entry["before"]["capacity"] == 400 and entry["after"]["capacity"] == 380
    assert "timeZone" not in entry["after"]  # only what changed
    page = admin.get(f"/admin/facilities/{FACILITY}").get_data(as_text=True)
    assert "Level -2 closed for cleaning" in page


def test_bad_settings_are_refused_and_nothing_is_written(db, demo):
    admin = support.sign_in("admin")
    before = db.collection("facilities").document(FACILITY).get().to_dict()
    response = _post(admin, f"/facilities/{FACILITY}", {**SETTINGS, "geofence": "60.1, 24.9"})
    assert response.status_code == 400
    assert "at least 3 corners" in response.get_data(as_text=True)
    assert db.collection("facilities").document(FACILITY).get().to_dict() == before
    assert _audit(db, "facility.updated") == []


def test_staff_read_facilities_but_do_not_change_them(db, demo):
    staff = support.sign_in("staff")
    page = staff.get(f"/admin/facilities/{FACILITY}")
    assert page.status_code == 200
    assert "<fieldset disabled>" in page.get_data(as_text=True)
    assert _post(staff, f"/facilities/{FACILITY}", SETTINGS).status_code == 403
    assert staff.get(f"/admin/facilities/{FACILITY}/tariff").status_code == 403


def test_an_operator_adds_facilities(db, demo):
    admin = support.sign_in("admin")
    new = {**SETTINGS, "id": "kamppi-p2", "name": "Kamppi P2", "time_zone": "Europe/Helsinki"}
    response = _post(admin, "/facilities", new)
    assert response.status_code == 303
    assert "/facilities/kamppi-p2/tariff" in response.headers["Location"]
    stored = db.collection("facilities").document("kamppi-p2").get().to_dict()
    assert stored["operatorId"] == demo_data.OPERATOR_ID
    assert (stored["currency"], stored["capacity"], stored["tariffs"]) == ("EUR", 380, [])
    assert stored["nameKey"] == "kamppi p2"
    third = _post(admin, "/facilities", {**new, "id": "kamppi-p3", "name": "Kamppi P3"})
    assert third.status_code == 303
    listing = admin.get("/admin/facilities").get_data(as_text=True)
    assert all(n in listing for n in ("Kamppi P1", "Kamppi P2", "Kamppi P3"))
    assert len(_audit(db, "facility.created")) == 2

    assert _post(admin, "/facilities", new).status_code == 409  # the id is taken
    clash = _post(admin, "/facilities", {**new, "id": "kamppi-p4", "name": "kamppi-p1"})
    assert clash.status_code == 400  # a name that is another facility's id
    bad_zone = _post(admin, "/facilities", {**new, "id": "kamppi-p5", "time_zone": "Mars/Base"})
    assert bad_zone.status_code == 400
    assert not db.collection("facilities").document("kamppi-p4").get().exists
    assert not db.collection("facilities").document("kamppi-p5").get().exists


TARIFF = {
    "period_minutes": "60",
    "period_price": "3.50",
    "free_minutes": "15",
    "free_mode": "all_or_nothing",
    "cap_amount": "22.00",
    "cap_window": "calendar_day",
    "exit_grace_minutes": "15",
    "bands": "",
}


def test_a_new_tariff_version_is_previewed_then_saved_and_the_old_one_kept(db, demo):
    admin = support.sign_in("admin")
    editor = admin.get(f"/admin/facilities/{FACILITY}/tariff").get_data(as_text=True)
    assert 'name="period_price" inputmode="decimal" required value="3.00"' in editor
    valid_from = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT00:00")
    form = {**TARIFF, "valid_from": valid_from}

    preview = _post(admin, f"/facilities/{FACILITY}/tariff", {**form, "step": "preview"})
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    for label in ("15 min", "16 min", "2 h 5 min", "Overnight", "4 h across the daylight"):
        assert f'data-sample="{label}' in page, label
    assert 'data-fee="350"' in page  # 16 min: one started hour at €3.50
    assert 'data-fee="1050"' in page  # 2 h 5 min: three
    assert "Save version 2" in page
    assert len(db.collection("facilities").document(FACILITY).get().to_dict()["tariffs"]) == 1

    saved = _post(admin, f"/facilities/{FACILITY}/tariff", {**form, "step": "save"})
    assert saved.status_code == 303
    stored = db.collection("facilities").document(FACILITY).get().to_dict()["tariffs"]
    assert [v["version"] for v in stored] == [1, 2]
    assert stored[0] == demo_data.demo_facility().tariffs[0]  # the past version untouched
    assert stored[1]["periodPrice"] == 350 and stored[1]["timeZone"] == "Europe/Helsinki"
    [entry] = _audit(db, "tariff.version_added")
    assert entry["target"] == f"facilities/{FACILITY}/tariffs/2"
    history = admin.get(f"/admin/facilities/{FACILITY}").get_data(as_text=True)
    assert 'data-version="2"' in history and 'data-version="1"' in history

    past = {**form, "valid_from": "2026-01-02T00:00", "step": "save"}
    refused = _post(admin, f"/facilities/{FACILITY}/tariff", past)
    assert refused.status_code == 400
    assert "stays already priced keep their version" in refused.get_data(as_text=True)
    again = _post(admin, f"/facilities/{FACILITY}/tariff", {**form, "step": "save"})
    assert again.status_code == 400  # two versions never start at the same instant
    stored = db.collection("facilities").document(FACILITY).get().to_dict()["tariffs"]
    assert len(stored) == 2


def _product(admin, name: str, price: str, days: str = "30") -> str:
    response = _post(
        admin,
        "/passes/products",
        {
            "facility": FACILITY,
            "name": name,
            "period": "month",
            "validity_days": days,
            "price": price,
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-400:]
    [doc] = db_products(name)
    return doc.id


def db_products(name: str):
    from parkingdone.firebase import db

    return list(db().collection("passProducts").where("name", "==", name).get())


def test_pass_products_sold_passes_csv_and_revenue(db, demo):
    admin = support.sign_in("admin")
    month = _product(admin, "Monthly pass", "90.00")
    week = _product(admin, "Weekly pass", "30")
    # The driver app sees exactly what the dashboard put on sale.
    listed = call_callable("listPasses", {"facilityId": FACILITY}, demo.driver_uid).json()
    assert [p["name"] for p in listed["result"]["products"]] == ["Weekly pass", "Monthly pass"]

    assert (
        _post(admin, f"/passes/products/{week}", {"action": "price", "price": "35.00"}).status_code
        == 303
    )
    assert db.collection("passProducts").document(week).get().to_dict()["price"] == 3500
    for request_id, product in (("cfg-buy-0001", month), ("cfg-buy-0002", week)):
        data = {"productId": product, "plate": "ABC-123", "requestId": request_id}
        bought = call_callable("buyPass", data, demo.driver_uid, role="driver")
        assert bought.json()["result"]["status"] == "active", bought.text

    assert _post(admin, f"/passes/products/{week}", {"action": "deactivate"}).status_code == 303
    data = {"productId": week, "plate": "ABC-123", "requestId": "cfg-buy-0003"}
    assert call_callable("buyPass", data, demo.driver_uid, role="driver").status_code == 400
    actions = {e["action"]: e for e in db.collection("auditLog").get() for e in [e.to_dict()]}
    assert actions["pass_product.price"]["before"] == {"price": 3000}
    assert actions["pass_product.price"]["after"] == {"price": 3500}
    assert actions["pass_product.deactivate"]["after"] == {"active": False}
    assert "pass_product.created" in actions

    page = admin.get("/admin/passes").get_data(as_text=True)
    assert page.count("data-pass=") == 2
    only_week = admin.get(f"/admin/passes?product={week}").get_data(as_text=True)
    assert only_week.count("data-pass=") == 1 and "Weekly pass" in only_week
    by_plate = admin.get("/admin/passes?plate=abc 123&status=active").get_data(as_text=True)
    assert by_plate.count("data-pass=") == 2
    assert admin.get("/admin/passes?plate=ZZZ999").get_data(as_text=True).count("data-pass=") == 0

    exported = admin.get(f"/admin/passes.csv?facility={FACILITY}")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert sorted(r["amount"] for r in rows) == ["35.00", "90.00"]
    assert {r["time_zone"] for r in rows} == {"Europe/Helsinki"}
    assert all(r["valid_from_local"].endswith(("+02:00", "+03:00")) for r in rows)

    # Revenue: the dashboard's figures are the passRevenue callable's.
    callable_revenue = call_callable(
        "passRevenue", {"facilityId": FACILITY}, demo.admin_uid, **ADMIN_CLAIMS
    ).json()["result"]
    assert callable_revenue["grossAmount"] == 12500
    assert f'data-revenue-facility="{FACILITY}"' in page
    assert "€125.00" in page
    per_product = call_callable(
        "passRevenue",
        {"facilityId": FACILITY, "productId": week},
        demo.admin_uid,
        **ADMIN_CLAIMS,
    ).json()["result"]
    assert (per_product["passesSold"], per_product["grossAmount"]) == (1, 3500)
    assert "€35.00" in page and "€90.00" in page
    # Staff see the passes, not the revenue, and cannot change products.
    staff = support.sign_in("staff")
    staff_page = staff.get("/admin/passes").get_data(as_text=True)
    assert staff_page.count("data-pass=") == 2 and "Pass revenue" not in staff_page
    assert _post(staff, f"/passes/products/{month}", {"action": "deactivate"}).status_code == 403


def test_bad_products_are_refused(db, demo):
    admin = support.sign_in("admin")
    base = {"facility": FACILITY, "name": "Pass", "period": "week", "validity_days": "7"}
    assert _post(admin, "/passes/products", {**base, "price": "0"}).status_code == 400
    assert _post(admin, "/passes/products", {**base, "price": "ten"}).status_code == 400
    assert (
        _post(admin, "/passes/products", {**base, "price": "5", "validity_days": "0"}).status_code
        == 400
    )
    other = {**base, "price": "5", "facility": demo_data.OTHER_FACILITY_ID}
    assert _post(admin, "/passes/products", other).status_code == 404
    assert db.collection("passProducts").count().get()[0][0].value == 0


def test_plate_check_answers_as_the_enforcement_api_and_is_logged(db, demo, hosting_url):
    # An unpaid stay past its free period and grace, and a paid look-alike of another plate.
    open_session(db, demo, "cfg-chk-1", "CHK-101", minutes_ago=40)
    projected(db, FACILITY, "CHK101")
    staff = support.sign_in("staff")
    response = _post(staff, "/passes/check", {"facility": FACILITY, "plate": "chk 101"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    api = get_check(hosting_url, "chk 101").json()
    assert api["status"] == "parked_unpaid" and api["shouldFine"] is True
    assert f'<span class="badge">{api["status"]}</span>' in page
    assert 'data-field="shouldFine" class="fine-yes">yes' in page
    assert api["summary"] in page

    checks = [d.to_dict() for d in db.collection("enforcementChecks").get()]
    mine = [c for c in checks if c.get("staffUid") == support.STAFF.uid]
    assert len(mine) == 1
    assert mine[0]["staffEmail"] == support.STAFF.email
    assert (mine[0]["status"], mine[0]["shouldFine"]) == (api["status"], api["shouldFine"])
    assert mine[0]["plate"] == "CHK101" and mine[0]["keyId"] is None

    # Look-alikes: LKA-101 has a pass; the plate read as LKA-1O1 (letter O) is not fined.
    now = datetime.now(UTC)
    add_pass(db, demo, "cfg-pass-1", "LKA101", now - timedelta(hours=1), now + timedelta(days=1))
    projected(db, FACILITY, "LKA101")
    alike = _post(staff, "/passes/check", {"facility": FACILITY, "plate": "LKA-1O1"})
    api_alike = get_check(hosting_url, "LKA-1O1").json()
    assert api_alike["shouldFine"] is False
    assert [m["plate"] for m in api_alike["confusableMatches"]] == ["LKA101"]
    shown = alike.get_data(as_text=True)
    assert f'<span class="badge">{api_alike["status"]}</span>' in shown
    match = api_alike["confusableMatches"][0]
    assert f"{match['display']} ({match['status']})" in shown
    assert _post(staff, "/passes/check", {"facility": FACILITY, "plate": "!!"}).status_code == 400
    unknown = _post(staff, "/passes/check", {"facility": "nowhere", "plate": "CHK-101"})
    assert unknown.status_code == 404
