"""Sessions follow event time, not arrival order; the check sees a stay at acknowledgement."""

import random
from datetime import UTC, datetime, timedelta

import pytest
import requests

from parkingdone.sessions import dispatch
from tests.integration.ingest_support import body, minutes, post, sessions_of

pytestmark = pytest.mark.usefixtures("demo")
F = "kamppi-p1"
KEY = {"x-api-key": "demo-enforcement-key"}


def check(hosting_url: str, plate: str) -> dict:
    r = requests.get(
        f"{hosting_url}/api/enforcement/check/{plate}",
        params={"facility": F},
        headers=KEY,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


def live(db, plate: str) -> list[tuple[str, datetime | None, datetime | None]]:
    return [
        (s["status"], (s["entry"] or {}).get("at"), (s["exit"] or {}).get("at"))
        for s in sessions_of(db, F, plate)
        if s["status"] != "superseded"
    ]


def test_a_late_entry_camera_backlog_pairs_each_exit_with_its_entry(db, hosting_url) -> None:
    """Exits 18:51 and 19:51 arrive, then entries 18:21 and 19:21: two closed stays, the car
    that left at 19:51 is not fineable."""
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    for kind, at in (
        ("exit", base + minutes(30)),
        ("exit", base + minutes(90)),
        ("entry", base),
        ("entry", base + minutes(60)),
    ):
        assert post("demo-webhook-token", body(kind, at, plate="PERM-10")).status_code == 202
    assert live(db, "PERM10") == [
        ("closed", base, base + minutes(30)),
        ("closed", base + minutes(60), base + minutes(90)),
    ]
    answer = check(hosting_url, "PERM-10")
    assert answer["status"] != "parked_unpaid" and answer["shouldFine"] is False


def test_twenty_stays_in_shuffled_order_end_as_in_time_order(db, hosting_url) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2)
    events = []
    for n in range(20):
        entry = start + minutes(90 * n)
        events.append(("entry", entry))
        events.append(("exit", entry + minutes(30)))
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    for kind, at in shuffled:
        r = post("demo-webhook-token", body(kind, at, plate="SHUF-1"))
        assert r.status_code == 202 and r.json()["status"] == "processed", r.text
    for kind, at in events:
        post("demo-webhook-token", body(kind, at, plate="TIME-1"))
    shuffled_stays, ordered_stays = live(db, "SHUF1"), live(db, "TIME1")
    assert len(ordered_stays) == 20 and all(s[0] == "closed" for s in ordered_stays)
    assert shuffled_stays == ordered_stays
    assert check(hosting_url, "SHUF-1")["shouldFine"] is False


def test_a_check_right_after_the_acknowledgement_sees_the_car(db, hosting_url) -> None:
    for n in range(5):
        plate = f"FAST-{n}"
        at = datetime.now(UTC) - minutes(40)
        assert post("demo-webhook-token", body("entry", at, plate=plate)).status_code == 202
        # No wait: the projection was written in the acknowledgement's transaction.
        answer = check(hosting_url, plate)
        assert answer["status"] == "parked_unpaid" and answer["shouldFine"] is True
        assert post("demo-webhook-token", body("exit", at + minutes(39), plate=plate)).ok
        assert check(hosting_url, plate)["status"] != "parked_unpaid"


def test_the_check_never_answers_parked_unpaid_after_the_exit_was_received(db, hosting_url):
    at = datetime.now(UTC) - minutes(50)
    post("demo-webhook-token", body("exit", at + minutes(45), plate="LEFT-1"))
    post("demo-webhook-token", body("entry", at, plate="LEFT-1"))
    assert check(hosting_url, "LEFT-1")["status"] != "parked_unpaid"


def test_a_replayed_trigger_event_changes_nothing(db, demo) -> None:
    """The close delivered again to the one session trigger: one charge, receipt and push."""
    from tests.integration.payments_helpers import (
        add_push_token,
        closed_session,
        payment_intents,
        wait_status,
    )
    from tests.support.services import fcm_messages
    from tests.support.waiting import wait_for

    add_push_token(db, demo.driver_uid)
    closed_session(db, demo, "replayed")
    first = wait_status(db, "replayed", "succeeded")
    wait_for(
        lambda: any(
            m["body"]["message"]["data"]["kind"] == "payment_succeeded" for m in fcm_messages()
        ),
        what="payment push",
    )
    pushes = len(fcm_messages())
    closed = db.collection("sessions").document("replayed").get().to_dict()
    before = {**closed, "status": "open", "exit": None, "payment": None, "fee": None}
    close = {**closed, "payment": None, "fee": None}
    for _ in range(2):
        assert "charge" in dispatch.on_session_written("replayed", before, close)
    again = db.collection("sessions").document("replayed").get().to_dict()
    assert again["payment"] == first["payment"] and again["fee"] == first["fee"]
    assert len(payment_intents(demo.stripe_customer_id)) == 1
    assert db.collection("receipts").count().get()[0][0].value == 1
    assert len(fcm_messages()) == pushes
