"""A registered driver's whole stay, across every part, through the public URLs.

Camera entry → session → entry push; the officer's check says "do not fine"; camera exit →
fee from the tariff in force → off-session charge on the saved card → receipt → push; the
whitelist lists the plate within the grace window; another plate is not found.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from tests.support.services import call_callable, fcm_messages
from tests.support.waiting import wait_for

DEVICE_TOKEN = "driver-phone-token-0001"


def _pushes_to(token: str) -> list[dict]:
    return [m["body"]["message"] for m in fcm_messages() if m["body"]["message"]["token"] == token]


def _post_event(hosting_url: str, token: str, event: str, at: datetime) -> requests.Response:
    return requests.post(
        f"{hosting_url}/webhook",
        json={
            "event": event,
            "plate": "ABC-123",
            "facility_id": "kamppi-p1",
            "timestamp": at.isoformat().replace("+00:00", "Z"),
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _check(hosting_url: str, key: str, plate: str) -> dict:
    response = requests.get(
        f"{hosting_url}/api/enforcement/check/{plate}",
        params={"facility": "Kamppi P1"},
        headers={"x-api-key": key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_registered_driver_is_charged_once_gets_receipt_and_pushes(db, demo, hosting_url):
    registered = call_callable(
        "registerPushToken",
        {"token": DEVICE_TOKEN, "platform": "android"},
        uid=demo.driver_uid,
        role="driver",
    )
    assert registered.status_code == 200, registered.text

    # 1 h 42 min: two started hours at €3.00 → €6.00 with the demo tariff.
    exit_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    entry_at = exit_at - timedelta(hours=1, minutes=42)
    entry = _post_event(hosting_url, demo.webhook_token, "entry", entry_at)
    assert entry.status_code == 202, entry.text
    session_id = entry.json()["sessionId"]

    entry_push = wait_for(lambda: _pushes_to(DEVICE_TOKEN), timeout=20, what="entry push")
    assert (
        "Kamppi P1"
        in entry_push[0]["notification"]["body"] + entry_push[0]["notification"]["title"]
    )

    # A registered driver with a saved card pays automatically: never a fine.
    parked = wait_for(
        lambda: (
            (c := _check(hosting_url, demo.enforcement_key, "ABC-123"))["status"] == "paid" and c
        ),
        timeout=20,
        what="the check to see the automatic payment arrangement",
    )
    assert parked["shouldFine"] is False

    exit_ = _post_event(hosting_url, demo.webhook_token, "exit", exit_at)
    assert exit_.status_code == 202 and exit_.json()["sessionId"] == session_id

    def paid_session():
        session = db.collection("sessions").document(session_id).get().to_dict()
        return session if (session.get("payment") or {}).get("status") == "succeeded" else None

    session = wait_for(paid_session, timeout=30, what="the session to be paid")
    assert session["fee"]["total"] == 600 and session["fee"]["currency"] == "EUR"
    receipts = list(db.collection("receipts").where("sessionId", "==", session_id).stream())
    assert len(receipts) == 1
    assert sum(line["amount"] for line in receipts[0].get("lines")) == 600

    wait_for(lambda: len(_pushes_to(DEVICE_TOKEN)) >= 2, timeout=20, what="payment push")

    # Within the grace after exit the plate is paid and on the whitelist; only one charge.
    assert _check(hosting_url, demo.enforcement_key, "ABC-123")["shouldFine"] is False
    whitelist = requests.get(
        f"{hosting_url}/api/enforcement/facility/Kamppi+P1/paid-plates",
        headers={"x-api-key": demo.enforcement_key},
        timeout=30,
    ).json()
    assert "ABC-123" in whitelist["paidPlates"] and whitelist["count"] == len(
        whitelist["paidPlates"]
    )
    assert len(list(db.collection("payments").where("sessionId", "==", session_id).stream())) == 1

    other = _check(hosting_url, demo.enforcement_key, "XYZ-999")
    assert other["status"] == "not_found" and other["shouldFine"] is False
