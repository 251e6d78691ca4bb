"""The enforcement API through Hosting: check, whitelist, ETag/304, deltas, auth, facility names.

Sessions and passes are written as the ingestion and payments parts write them; the
projection triggers maintain plateStatus, its plateSkeletons index and the whitelistShards,
and the API answers from them with gets by id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import credentials, plates
from parkingdone.tenants import Facility, name_key
from tests.support.waiting import wait_for

KEY = {"x-api-key": "demo-enforcement-key"}


def open_session(db, demo, session_id: str, raw: str, minutes_ago: float, **extra) -> None:
    now = datetime.now(UTC)
    plate = plates.normalise(raw)
    db.collection("sessions").document(session_id).set(
        {
            "operatorId": demo.operator_id,
            "facilityId": demo.facility_id,
            "plate": plate,
            "plateRaw": raw,
            "country": "FI",
            "source": "anpr",
            "status": "open",
            "entry": {"at": now - timedelta(minutes=minutes_ago), "imageUrl": None, "eventId": "e"},
            "exit": None,
            "driverUid": None,
            "reviewRequired": False,
            "flags": [],
            "fee": None,
            "payment": None,
            "evidence": [],
            "createdAt": now,
            "updatedAt": now,
            **extra,
        }
    )


def add_pass(db, demo, pass_id: str, plate: str, start: datetime, end: datetime) -> None:
    db.collection("passes").document(pass_id).set(
        {
            "operatorId": demo.operator_id,
            "facilityId": demo.facility_id,
            "uid": demo.driver_uid,
            "plate": plate,
            "productId": "kamppi-month",
            "validFrom": start,
            "validUntil": end,
            "status": "active",
            "amount": 9900,
            "currency": "EUR",
        }
    )


def projected(db, facility_id: str, plate: str, check=lambda d: True):
    def ready():
        snap = db.collection("plateStatus").document(f"{facility_id}__{plate}").get()
        return snap.to_dict() if snap.exists and check(snap.to_dict()) else None

    return wait_for(ready, timeout=15, what=f"plateStatus of {plate}")


def removed(db, facility_id: str, plate: str) -> None:
    """The plate's projection no longer matters: its document is gone, or past its expiresAt
    (kept only for its track of events, it answers every check as no document would)."""
    ref = db.collection("plateStatus").document(f"{facility_id}__{plate}")

    def gone() -> bool:
        snapshot = ref.get()
        if not snapshot.exists:
            return True
        until = (snapshot.to_dict() or {}).get("expiresAt")
        return until is not None and until <= datetime.now(UTC)

    wait_for(gone, timeout=15, what=f"{plate} projection removed")


def shard_of(db, facility_id: str, plate: str):
    from parkingdone.enforcement.decision import shard_of as shard_number

    return db.collection("whitelistShards").document(f"{facility_id}__{shard_number(plate)}")


def shard_entry(db, facility_id: str, plate: str):
    snap = shard_of(db, facility_id, plate).get()
    return ((snap.to_dict() or {}).get("plates") or {}).get(plate) if snap.exists else None


def get_check(hosting_url: str, plate: str, facility: str = "kamppi-p1", headers=KEY):
    return requests.get(
        f"{hosting_url}/api/enforcement/check/{plate}",
        params={"facility": facility},
        headers=headers,
        timeout=10,
    )


def get_whitelist(hosting_url: str, facility: str = "kamppi-p1", headers=KEY, **params):
    return requests.get(
        f"{hosting_url}/api/enforcement/facility/{facility}/paid-plates",
        params=params,
        headers=headers,
        timeout=10,
    )


def test_unknown_plate_is_not_found_and_logged(db, demo, hosting_url):
    response = get_check(hosting_url, "XYZ-999")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "not_found"
    assert body["shouldFine"] is False
    assert body["plate"] == "XYZ-999" and body["normalizedPlate"] == "XYZ999"
    assert body["recentPayments"] == [] and body["activePasses"] == []
    # The key, then the skeleton index and the plate's projection by id: no query.
    assert response.headers["X-Firestore-Reads"] == "3"
    log = db.collection("enforcementChecks").document(body["checkId"]).get().to_dict()
    assert log["plate"] == "XYZ999" and log["status"] == "not_found"
    assert log["facilityId"] == "kamppi-p1" and log["shouldFine"] is False
    assert "demo-enforcement-key" not in str(log)


def test_open_unpaid_stay_past_free_period_and_grace_should_be_fined(db, demo, hosting_url):
    open_session(db, demo, "s-late", "XYZ-111", minutes_ago=40)
    open_session(db, demo, "s-fresh", "XYZ-222", minutes_ago=5)
    projected(db, demo.facility_id, "XYZ111")
    projected(db, demo.facility_id, "XYZ222")

    late = get_check(hosting_url, "XYZ-111").json()
    assert late["status"] == "parked_unpaid" and late["shouldFine"] is True
    assert late["openSession"]["sessionId"] == "s-late"
    fresh = get_check(hosting_url, "xyz 222").json()
    assert fresh["status"] == "parked_unpaid" and fresh["shouldFine"] is False
    # 15 free minutes + 10 minutes' grace after entry.
    entry = datetime.fromisoformat(fresh["openSession"]["entryAt"])
    assert datetime.fromisoformat(fresh["fineableFrom"]) == entry + timedelta(minutes=25)


def test_driver_with_saved_card_is_paid_by_automatic_payment(db, demo, hosting_url):
    open_session(db, demo, "s-driver", "ABC-123", minutes_ago=90, driverUid=demo.driver_uid)
    projected(db, demo.facility_id, "ABC123")
    body = get_check(hosting_url, "ABC-123").json()
    assert body["status"] == "paid" and body["shouldFine"] is False
    assert body["automaticPayment"] is True


def test_removing_the_saved_card_makes_the_stay_unpaid(db, demo, hosting_url):
    open_session(db, demo, "s-driver", "ABC-123", minutes_ago=90, driverUid=demo.driver_uid)
    projected(db, demo.facility_id, "ABC123", lambda d: d["coverage"])
    db.collection("users").document(demo.driver_uid).update({"defaultPaymentMethodId": None})
    projected(db, demo.facility_id, "ABC123", lambda d: not d["coverage"])
    body = get_check(hosting_url, "ABC-123").json()
    assert body["status"] == "parked_unpaid" and body["shouldFine"] is True


def test_paid_exit_is_paid_within_grace_with_amount(db, demo, hosting_url):
    now = datetime.now(UTC)
    open_session(
        db,
        demo,
        "s-paid",
        "PAY-100",
        minutes_ago=70,
        status="closed",
        exit={"at": now - timedelta(minutes=2), "imageUrl": None, "eventId": "x"},
        fee={"total": 600, "currency": "EUR", "tariffVersion": 1, "lines": []},
        payment={
            "status": "succeeded",
            "paidAt": now - timedelta(minutes=1),
            "amount": 600,
            "currency": "EUR",
            "paymentId": "p1",
        },
    )
    projected(db, demo.facility_id, "PAY100")
    body = get_check(hosting_url, "PAY-100").json()
    assert body["status"] == "paid" and body["shouldFine"] is False
    [payment] = body["recentPayments"]
    assert payment["amount"] == 600 and payment["currency"] == "EUR"
    assert datetime.fromisoformat(payment["validUntil"]) > datetime.now(UTC)
    assert "PAY-100" in get_whitelist(hosting_url).json()["paidPlates"]


def test_pass_active_and_confusable_variant_never_fined(db, demo, hosting_url):
    now = datetime.now(UTC)
    add_pass(db, demo, "pass-1", "ABC100", now - timedelta(days=1), now + timedelta(days=29))
    # The camera read the pass holder's car as "A8C-1OO": unpaid, long past the free period.
    open_session(db, demo, "s-misread", "A8C-1OO", minutes_ago=120)
    projected(db, demo.facility_id, "ABC100")
    projected(db, demo.facility_id, "A8C1OO")

    holder = get_check(hosting_url, "ABC-100").json()
    assert holder["status"] == "pass_active" and holder["shouldFine"] is False
    [active] = holder["activePasses"]
    assert active["amount"] == 9900 and active["productId"] == "kamppi-month"

    # Both plates are listed under their shared skeleton.
    index = db.collection("plateSkeletons").document(
        f"{demo.facility_id}__{plates.skeleton('ABC100')}"
    )
    assert set(index.get().to_dict()["plates"]) == {"ABC100", "A8C1OO"}

    response = get_check(hosting_url, "A8C-1OO")
    # The key, the skeleton index, the plate and its one look-alike.
    assert response.headers["X-Firestore-Reads"] == "4"
    misread = response.json()
    assert misread["status"] == "parked_unpaid"
    assert misread["shouldFine"] is False
    assert [m["plate"] for m in misread["confusableMatches"]] == ["ABC100"]
    assert "similar plate" in misread["summary"]


def test_facility_by_display_name_in_either_encoding(db, demo, hosting_url):
    open_session(db, demo, "s-1", "NAM-1", minutes_ago=1, payment={"status": "pending"})
    projected(db, demo.facility_id, "NAM1")
    by_id = get_check(hosting_url, "NAM-1", "kamppi-p1").json()
    by_name = get_check(hosting_url, "NAM-1", "Kamppi P1").json()  # sent as Kamppi+P1
    assert by_id["status"] == by_name["status"] == "paid"
    for path in ("Kamppi+P1", "Kamppi%20P1", "kamppi-p1"):
        url = f"{hosting_url}/api/enforcement/facility/{path}/paid-plates"
        body = requests.get(url, headers=KEY, timeout=10).json()
        assert body["facility"] == "Kamppi P1" and body["paidPlates"] == ["NAM-1"]


def test_auth_errors(db, demo, hosting_url):
    assert get_check(hosting_url, "ABC-123", headers={}).status_code == 401
    bad = get_check(hosting_url, "ABC-123", headers={"x-api-key": "nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    assert get_check(hosting_url, "ABC-123", facility="no-such-place").status_code == 404
    assert get_check(hosting_url, "ABC-123", facility="").status_code == 400
    assert get_check(hosting_url, "!!!").status_code == 400

    # A second facility of the operator that a narrower key does not cover.
    other = Facility(
        id="tripla-p2",
        operator_id=demo.operator_id,
        name="Tripla P2",
        name_key=name_key("Tripla P2"),
    )
    db.collection("facilities").document(other.id).set(
        other.model_dump(by_alias=True, exclude={"id"})
    )
    narrow, digest = credentials.issue(
        db, "enforcement", demo.operator_id, facility_ids=["kamppi-p1"]
    )
    headers = {"x-api-key": narrow}
    assert get_check(hosting_url, "ABC-123", headers=headers).status_code == 200
    denied = get_check(hosting_url, "ABC-123", facility="Tripla P2", headers=headers)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert get_whitelist(hosting_url, "tripla-p2", headers=headers).status_code == 403
    assert get_check(hosting_url, "ABC-123", facility="tripla-p2").status_code == 200

    # Another operator's facility does not exist for this key.
    foreign = Facility(id="foreign-p1", operator_id="other-operator", name="Foreign P1")
    db.collection("facilities").document(foreign.id).set(
        foreign.model_dump(by_alias=True, exclude={"id"})
    )
    assert get_check(hosting_url, "ABC-123", facility="foreign-p1").status_code == 404

    credentials.revoke(db, digest)
    assert get_check(hosting_url, "ABC-123", headers=headers).status_code == 401


def test_whitelist_etag_304_and_delta(db, demo, hosting_url):
    now = datetime.now(UTC)
    add_pass(db, demo, "pass-a", "AAA111", now - timedelta(hours=1), now + timedelta(days=1))
    projected(db, demo.facility_id, "AAA111")
    first = get_whitelist(hosting_url)
    assert first.status_code == 200
    body = first.json()
    assert body["paidPlates"] == ["AAA111"] and body["count"] == 1
    etag, cursor = first.headers["ETag"], body["cursor"]
    assert cursor in etag

    same = get_whitelist(hosting_url, headers={**KEY, "If-None-Match": etag})
    assert same.status_code == 304 and same.headers["ETag"] == etag

    open_session(db, demo, "s-b", "BBB-222", minutes_ago=3, payment={"status": "pending"})
    projected(db, demo.facility_id, "BBB222")
    db.collection("passes").document("pass-a").update({"status": "cancelled"})
    # Nothing left to project for AAA111: its projection is removed.
    removed(db, demo.facility_id, "AAA111")

    changed = get_whitelist(hosting_url, headers={**KEY, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["paidPlates"] == ["BBB-222"]

    delta = get_whitelist(hosting_url, since=cursor).json()
    assert delta["added"] == ["BBB-222"] and delta["removed"] == ["AAA111"]
    assert delta["cursor"] == changed.json()["cursor"] and delta["count"] == 1
    # The cursor is stable: asking again from the new cursor gives an empty delta.
    again = get_whitelist(hosting_url, since=delta["cursor"]).json()
    assert again["added"] == [] and again["removed"] == [] and again["cursor"] == delta["cursor"]

    assert get_whitelist(hosting_url, since="0" * 32).status_code == 410
    assert get_whitelist(hosting_url, since="not-a-cursor").status_code == 400


def test_check_and_whitelist_never_disagree(db, demo, hosting_url):
    now = datetime.now(UTC)
    add_pass(db, demo, "p-now", "PAS1", now - timedelta(hours=1), now + timedelta(hours=1))
    add_pass(db, demo, "p-future", "PAS2", now + timedelta(hours=1), now + timedelta(hours=5))
    add_pass(db, demo, "p-past", "PAS3", now - timedelta(hours=5), now + timedelta(hours=1))
    open_session(db, demo, "s-auto", "AUT-1", minutes_ago=50, payment={"status": "pending"})
    open_session(db, demo, "s-unpaid", "UNP-1", minutes_ago=50)
    open_session(db, demo, "s-failed", "FAI-1", minutes_ago=50, payment={"status": "failed"})
    open_session(db, demo, "s-review", "REV-1", minutes_ago=50)
    plates_seen = ["PAS1", "PAS2", "PAS3", "AUT1", "UNP1", "FAI1", "REV1"]
    for plate in plates_seen:
        projected(db, demo.facility_id, plate)
    # A pass that has ended and a stay under review no longer matter to enforcement: their
    # projections are removed, and both endpoints answer as for a plate never seen.
    db.collection("passes").document("p-past").update({"validUntil": now - timedelta(hours=1)})
    db.collection("sessions").document("s-review").update({"status": "missing_exit"})
    removed(db, demo.facility_id, "PAS3")
    removed(db, demo.facility_id, "REV1")

    listed = {entry["plate"] for entry in get_whitelist(hosting_url).json()["plates"]}
    answers = {plate: get_check(hosting_url, plate).json()["status"] for plate in plates_seen}
    for plate, status in answers.items():
        assert (plate in listed) == (status in ("paid", "pass_active")), (plate, status)
    assert listed == {"PAS1", "AUT1"}


@pytest.mark.parametrize("path", ["/api/openapi.json"])
def test_openapi_is_served(hosting_url, path):
    body = requests.get(f"{hosting_url}{path}", timeout=10).json()
    assert body["openapi"].startswith("3.1")
    assert "/api/enforcement/check/{plate}" in body["paths"]


def test_sweep_deletes_expired_projections_with_their_index_entries(db, demo, hosting_url):
    from parkingdone.enforcement import store

    now = datetime.now(UTC)
    add_pass(db, demo, "p-short", "EXP1", now - timedelta(hours=1), now + timedelta(seconds=8))
    add_pass(db, demo, "p-long", "EXP2", now - timedelta(hours=1), now + timedelta(days=1))
    projected(db, demo.facility_id, "EXP1")
    projected(db, demo.facility_id, "EXP2")
    index = db.collection("plateSkeletons").document(
        f"{demo.facility_id}__{plates.skeleton('EXP1')}"
    )
    assert set(index.get().to_dict()["plates"]) == {"EXP1"}
    wait_for(lambda: datetime.now(UTC) > now + timedelta(seconds=9), timeout=15, what="pass end")
    # Expired but not yet swept: already answered as a plate never seen.
    assert get_check(hosting_url, "EXP1").json()["status"] == "not_found"
    assert store.delete_expired(db) == 1
    assert not db.collection("plateStatus").document(f"{demo.facility_id}__EXP1").get().exists
    assert not index.get().exists
    assert shard_entry(db, demo.facility_id, "EXP1") is None
    assert db.collection("plateStatus").document(f"{demo.facility_id}__EXP2").get().exists
    assert shard_entry(db, demo.facility_id, "EXP2") is not None
    assert get_check(hosting_url, "EXP2").json()["status"] == "pass_active"
    assert [p["plate"] for p in get_whitelist(hosting_url).json()["plates"]] == ["EXP2"]


def test_whitelist_shard_follows_the_plate(db, demo, hosting_url):
    """A plate entering, changing and leaving the whitelist updates only its own shard, and
    only when its entry changes."""
    from parkingdone.enforcement.decision import (
        WHITELIST_SHARDS,
        entry_expires_at,
        from_whitelist_entry,
    )

    now = datetime.now(UTC)
    end = now + timedelta(days=1)
    add_pass(db, demo, "p-shard", "SHA1", now - timedelta(hours=1), end)
    projected(db, demo.facility_id, "SHA1")
    entry = shard_entry(db, demo.facility_id, "SHA1")
    kept = from_whitelist_entry(demo.operator_id, demo.facility_id, "SHA1", entry)
    assert kept.display == "SHA1" and entry_expires_at(entry) == end
    assert [(c.kind, c.ends_at) for c in kept.coverage] == [("pass", end)]
    # Only its own shard exists: the other shards of the facility were never written.
    shards = (
        db.collection("whitelistShards")
        .where(filter=FieldFilter("facilityId", "==", demo.facility_id))
        .get()
    )
    assert [s.reference.path for s in shards] == [shard_of(db, demo.facility_id, "SHA1").path]
    response = get_whitelist(hosting_url)
    assert response.json()["paidPlates"] == ["SHA1"]
    # The key, then one batch get of the facility's shards.
    assert response.headers["X-Firestore-Reads"] == str(1 + WHITELIST_SHARDS)

    # A rebuild that leaves the entry as it was does not write the shard.
    written = shard_of(db, demo.facility_id, "SHA1").get().update_time
    open_session(db, demo, "s-shard", "SHA1", minutes_ago=5)
    projected(db, demo.facility_id, "SHA1", lambda d: d.get("openStay") is not None)
    assert shard_of(db, demo.facility_id, "SHA1").get().update_time == written

    # A change of coverage changes the entry.
    later = now + timedelta(days=3)
    db.collection("passes").document("p-shard").update({"validUntil": later})
    wait_for(
        lambda: entry_expires_at(shard_entry(db, demo.facility_id, "SHA1") or "x 0 0|") == later,
        timeout=15,
        what="shard entry extended",
    )
    assert (
        get_check(hosting_url, "SHA1").json()["activePasses"][0]["validUntil"]
        == (get_whitelist(hosting_url).json()["plates"][0]["validUntil"])
    )

    # Leaving: the pass is cancelled; the open unpaid stay keeps the projection, not the entry.
    db.collection("passes").document("p-shard").update({"status": "cancelled"})
    projected(db, demo.facility_id, "SHA1", lambda d: not d.get("coverage"))
    assert shard_entry(db, demo.facility_id, "SHA1") is None
    shard = shard_of(db, demo.facility_id, "SHA1").get()
    assert not shard.exists or not (shard.to_dict() or {}).get("plates")
    assert get_whitelist(hosting_url).json()["paidPlates"] == []
    assert get_check(hosting_url, "SHA1").json()["status"] == "parked_unpaid"


def test_check_and_whitelist_agree_across_shards(db, demo, hosting_url):
    from parkingdone.enforcement.decision import shard_of as shard_number

    now = datetime.now(UTC)
    expected = set()
    seen = []
    for i in range(12):
        plate = f"CUR{i}"
        add_pass(db, demo, f"p-cur-{i}", plate, now - timedelta(hours=1), now + timedelta(days=1))
        expected.add(plate)
        seen.append(plate)
    for i in range(4):
        plate = f"FUT{i}"
        add_pass(db, demo, f"p-fut-{i}", plate, now + timedelta(hours=2), now + timedelta(days=1))
        seen.append(plate)
    for i in range(6):
        paid = i % 2 == 0
        open_session(
            db,
            demo,
            f"s-shards-{i}",
            f"OPN-{i}",
            minutes_ago=60,
            payment={"status": "pending"} if paid else None,
        )
        if paid:
            expected.add(f"OPN{i}")
        seen.append(f"OPN{i}")
    for plate in seen:
        projected(db, demo.facility_id, plate)
    assert len({shard_number(p) for p in seen}) >= 8  # spread over many shards
    for plate in seen:
        # Every plate with coverage ahead has its entry in its own shard, no other.
        has_entry = shard_entry(db, demo.facility_id, plate) is not None
        assert has_entry == (plate in expected or plate.startswith("FUT")), plate

    listed = {entry["plate"] for entry in get_whitelist(hosting_url).json()["plates"]}
    answers = {plate: get_check(hosting_url, plate).json()["status"] for plate in seen}
    for plate, status in answers.items():
        assert (plate in listed) == (status in ("paid", "pass_active")), (plate, status)
    assert listed == expected
