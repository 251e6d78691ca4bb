"""Every input boundary refuses malformed input with a clear 4xx and writes nothing.

Facility resolution, ids that would be document paths, timestamps, deeply nested and
non-JSON bodies, Stripe bodies that are not events, and plates across scripts, through
the deployed functions on the emulators.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import requests

from parkingdone import tenants
from tests.integration.ingest_support import body, iso, post, sessions_of
from tests.integration.payments_helpers import signed_event
from tests.support.services import call_callable
from tests.support.waiting import wait_for

KEY = {"x-api-key": "demo-enforcement-key"}


def recent(minutes: float = 5) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def count(db, *collections: str) -> int:
    return sum(db.collection(name).count().get()[0][0].value for name in collections)


def written(db) -> int:
    return count(db, "events", "sessions", "plateStatus", "enforcementChecks")


# --- 3: one facility resolution rule, cold or warm ----------------------------------------


def _facility(facility_id: str, name: str, operator: str = "demo-operator") -> tenants.Facility:
    return tenants.Facility(id=facility_id, operator_id=operator, name=name)


def test_a_facility_resolves_the_same_cold_or_warm(db, demo, hosting_url):
    # Cold, then warm by another spelling, then again: ids are exact, names are not.
    entry = body("entry", recent(), facility="KAMPPI-P1")
    assert post(demo.webhook_token, entry).status_code == 404
    assert post(demo.webhook_token, body("entry", recent(), facility="kamppi-p1")).ok
    again = post(demo.webhook_token, body("entry", recent(4), plate="XYZ-9", facility="KAMPPI-P1"))
    assert again.status_code == 404 and again.json()["error"]["code"] == "unknown_facility"
    by_name = post(
        demo.webhook_token, body("entry", recent(3), plate="XYZ-9", facility="KAMPPI p1")
    )
    assert by_name.status_code == 202

    # The same rule in-process, with the cache cold and warm.
    tenants.clear_cache()
    cold = tenants.find_facility(db, demo.operator_id, "KAMPPI-P1")
    tenants.find_facility(db, demo.operator_id, "kamppi-p1")
    assert cold is None and tenants.find_facility(db, demo.operator_id, "KAMPPI-P1") is None


def test_a_name_never_competes_with_another_facilitys_id(db, demo):
    tenants.save_facility(db, _facility("hall-1", "North Hall"))
    with pytest.raises(ValueError, match="is the id of facility 'hall-1'"):
        tenants.save_facility(db, _facility("south-hall", "HALL-1"))
    tenants.save_facility(db, _facility("garage", "Garage-2"))
    with pytest.raises(ValueError, match="is the name of facility 'garage'"):
        tenants.save_facility(db, _facility("GARAGE-2", "Somewhere"))
    with pytest.raises(ValueError, match="already has the name"):
        tenants.save_facility(db, _facility("north-2", "north  hall"))
    with pytest.raises(ValueError):
        tenants.save_facility(db, _facility("__x__", "Reserved"))
    assert not db.collection("facilities").document("south-hall").get().exists

    # Written past the rules (an old configuration): the answer still does not depend on
    # the cache. "HALL-1" is not the id "hall-1", so it is the name of south-hall.
    south = _facility("south-hall", "HALL-1").model_copy(update={"name_key": "hall-1"})
    db.collection("facilities").document("south-hall").set(
        south.model_dump(by_alias=True, exclude={"id"})
    )
    tenants.clear_cache()
    cold = tenants.find_facility(db, demo.operator_id, "HALL-1")
    tenants.find_facility(db, demo.operator_id, "hall-1")
    warm = tenants.find_facility(db, demo.operator_id, "HALL-1")
    assert cold is not None and warm is not None and cold.id == warm.id == "south-hall"
    assert tenants.find_facility(db, demo.operator_id, "hall-1").id == "hall-1"


# --- 4: reserved or malformed ids -----------------------------------------------------------

BAD_IDS = ["..", ".", "__x__", "__name__", "a/b", "/"]


@pytest.mark.parametrize("facility", BAD_IDS)
def test_reserved_facility_ids_are_404_everywhere(db, demo, hosting_url, facility):
    before = written(db)
    hook = post(demo.webhook_token, body("entry", recent(), facility=facility))
    assert hook.status_code == 404 and hook.json()["error"]["code"] == "unknown_facility"
    check = requests.get(
        f"{hosting_url}/api/enforcement/check/ABC-123",
        params={"facility": facility},
        headers=KEY,
        timeout=10,
    )
    assert check.status_code == 404, check.text
    if "/" not in facility:
        # Dots percent-encoded, so no client or proxy folds "/../" away before we see it.
        path = facility.replace(".", "%2E")
        listed = requests.get(
            f"{hosting_url}/api/enforcement/facility/{path}/paid-plates", headers=KEY, timeout=10
        )
        assert listed.status_code in (400, 404), listed.text
        assert listed.json()["error"]["code"] in ("unknown_facility", "not_found")
    assert written(db) == before


CALLABLE_IDS = [
    ("paySession", "sessionId", {}, {}),
    ("buyPass", "productId", {"plate": "ABC-123", "requestId": "request-0001"}, {}),
    ("gpsEvent", "facilityId", {"action": "enter", "latitude": 60.169, "longitude": 24.932,
                                "accuracy": 10, "plate": "ABC-123"}, {}),
    ("refundPayment", "paymentId", {"requestId": "request-0001"},
     {"role": "super_admin"}),
    ("transitionInvoice", "sessionId", {"action": "cancel"}, {"role": "super_admin"}),
    ("setStaffRole", "operatorId", {"uid": "someone", "role": "operator_staff"},
     {"role": "super_admin"}),
    ("listPasses", "facilityId", {}, {}),
    ("passRevenue", "facilityId", {}, {"role": "super_admin", "operatorId": "demo-operator"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "field", "rest", "claims"), CALLABLE_IDS)
def test_callable_ids_that_are_not_ids_are_400(db, demo, name, field, rest, claims):
    before = written(db) + count(db, "payments", "passes", "roleChanges")
    for bad in BAD_IDS:
        data = {**rest, field: bad}
        if name == "gpsEvent":
            data["timestamp"] = iso(recent(1))
        response = call_callable(name, data, uid=demo.driver_uid, **claims)
        assert response.status_code == 400, (name, bad, response.text)
        error = response.json()["error"]
        assert error["status"] == "INVALID_ARGUMENT" and field in error["message"], error
    assert written(db) + count(db, "payments", "passes", "roleChanges") == before


# --- 2 and 5: timestamps, nesting, bodies that are not what they claim --------------------


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [
        ("0001-01-01T00:00:00+14:00", "invalid_timestamp"),
        ("0001-01-01T00:00:00Z", None),  # a real instant: what to do with it is not parsing
        (-1, "invalid_timestamp"),
        (1.5, "invalid_timestamp"),
        ("1711800000", "invalid_timestamp"),
        ("2026-03-30T14:23:00", "naive_timestamp"),
    ],
)
def test_webhook_timestamps_are_iso_with_an_offset(db, demo, timestamp, code):
    before = count(db, "events", "sessions", "plateStatus")
    response = post(demo.webhook_token, {**body("entry", recent()), "timestamp": timestamp})
    assert response.status_code < 500, response.text
    if code is not None:
        assert response.status_code == 400 and response.json()["error"]["code"] == code
        assert count(db, "events", "sessions", "plateStatus") == before


def test_deeply_nested_json_is_a_400_not_a_500(db, demo, hosting_url):
    deep = "[" * 2000 + "]" * 2000
    nested = post(demo.webhook_token, deep)
    assert nested.status_code == 400 and nested.json()["error"]["code"] == "malformed_json"
    in_field = post(demo.webhook_token, '{"event": "entry", "extra": ' + deep + "}")
    assert in_field.status_code == 400
    before = count(db, "events", "sessions", "payments")
    url = f"{os.environ['FUNCTIONS_URL']}/paySession"
    for raw in ["not json", '{"data": ' + deep + "}", "[]", '"data"', '{"data": {}, "x": 1}']:
        response = requests.post(
            url, data=raw, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert response.status_code == 400, (raw[:20], response.text)
        assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert count(db, "events", "sessions", "payments") == before


@pytest.mark.parametrize("event", [[], "x", 1, {"id": 5}, {"id": "evt_1", "data": []}])
def test_signed_stripe_bodies_that_are_not_events_are_400(db, demo, hosting_url, event):
    payload, header = signed_event(event)  # type: ignore[arg-type]
    response = requests.post(
        f"{hosting_url}/api/stripe/webhook",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        timeout=30,
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_event"
    assert count(db, "stripeEvents") == 0


@pytest.mark.parametrize("data", [[], ["facilityId"], "kamppi-p1", 7])
def test_gps_data_that_is_not_an_object_is_refused_like_any_callable(demo, data):
    response = call_callable("gpsEvent", data, uid=demo.driver_uid)  # type: ignore[arg-type]
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == "Invalid request: data must be an object"
    assert error["details"] == {"reason": "invalid_argument"}
    fields = call_callable("gpsEvent", {"facilityId": "kamppi-p1"}, uid=demo.driver_uid)
    assert fields.json()["error"]["message"].startswith("Invalid request: action: ")


# --- 6: plates across scripts and lengths -------------------------------------------------


def test_cyrillic_and_other_digit_scripts_are_the_drivers_plate(db, demo):
    # Demo driver's registered plate is ABC-123; the camera writes it in Cyrillic.
    entry = post(demo.webhook_token, body("entry", recent(10), plate="АВС-١٢٣"))
    assert entry.status_code == 202, entry.text
    [stay] = sessions_of(db, demo.facility_id, "ABC123")
    assert stay["driverUid"] == demo.driver_uid and stay["plateRaw"] == "АВС-١٢٣"


def test_officers_see_one_canonical_form(db, demo, hosting_url):
    assert post(demo.webhook_token, body("entry", recent(10), plate="ＡＢＣ－１２３")).ok
    ref = db.collection("plateStatus").document(f"{demo.facility_id}__ABC123")
    wait_for(lambda: ref.get().exists, timeout=15, what="projection")
    whitelist = requests.get(
        f"{hosting_url}/api/enforcement/facility/kamppi-p1/paid-plates", headers=KEY, timeout=10
    ).json()
    assert whitelist["paidPlates"] == ["ABC-123"]
    check = requests.get(
        f"{hosting_url}/api/enforcement/check/авс 123",
        params={"facility": "kamppi-p1"},
        headers=KEY,
        timeout=10,
    ).json()
    assert check["plate"] == "ABC-123" and check["normalizedPlate"] == "ABC123"
    assert check["status"] == "paid"


def test_plate_length_is_bounded_at_every_door(db, demo, hosting_url):
    before = count(db, "events", "sessions", "plateOwners", "enforcementChecks")
    long_plate = "-" * 3000 + "A1"
    check = requests.get(
        f"{hosting_url}/api/enforcement/check/{long_plate}",
        params={"facility": "kamppi-p1"},
        headers=KEY,
        timeout=10,
    )
    assert check.status_code == 400 and check.json()["error"]["code"] == "invalid_plate"
    hook = post(demo.webhook_token, body("entry", recent(), plate="-" * 31 + "A1"))
    assert hook.status_code == 400 and "at most 32" in hook.json()["error"]["message"]
    vehicle = call_callable("registerVehicle", {"plate": "-" * 30 + "AB1"}, uid="someone")
    assert vehicle.status_code == 400
    assert count(db, "events", "sessions", "plateOwners", "enforcementChecks") == before
