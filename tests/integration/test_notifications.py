"""Pushes through the real firebase_admin.messaging path, asserted at the FCM recorder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parkingdone.notifications import push, session_pushes
from parkingdone.notifications.sender import token_id
from tests.support.services import fcm_messages
from tests.support.waiting import wait_for

ENTRY_FACTS = {"facilityName": "Kamppi P1", "freeMinutes": 15, "driverNotice": "Hi."}


def add_token(db, uid: str, token: str, platform: str = "android") -> None:
    db.document(f"users/{uid}/pushTokens/{token_id(token)}").set(
        {"token": token, "platform": platform, "updatedAt": datetime.now(UTC)}
    )


def messages_to(token: str) -> list[dict]:
    return [m for m in fcm_messages() if m["body"]["message"].get("token") == token]


def test_push_sends_one_fcm_v1_request_per_device_in_the_drivers_language(db) -> None:
    db.document("users/u1").set({"language": "fi"})
    add_token(db, "u1", "token-phone-1", "android")
    add_token(db, "u1", "token-tablet-1", "ios")

    result = push(
        "u1",
        "payment_succeeded",
        {
            "facilityName": "Kamppi P1",
            "amount": 300,
            "currency": "EUR",
            "receiptNumber": "R-1",
            "sessionId": "s_1",
        },
    )

    assert result == {"status": "sent", "sent": 2, "failed": 0, "removedTokens": 0}
    recorded = fcm_messages()
    assert {m["body"]["message"]["token"] for m in recorded} == {"token-phone-1", "token-tablet-1"}
    for request in recorded:
        assert request["path"] == "/v1/projects/demo-parkingdone/messages:send"
        message = request["body"]["message"]
        assert message["notification"] == {
            "title": "Maksu onnistui",
            "body": "3,00\u00a0€ maksettu pysäköinnistä kohteessa Kamppi P1. Kuitti R-1.",
        }
        assert message["data"] == {
            "kind": "payment_succeeded",
            "language": "fi",
            "sessionId": "s_1",
        }
        assert message["android"]["priority"] == "high"
        assert message["apns"]["payload"]["aps"]["sound"] == "default"


def test_unregistered_tokens_are_removed(db) -> None:
    db.document("users/u2").set({"language": "en"})
    add_token(db, "u2", "token-live-2")
    add_token(db, "u2", "unregistered-old-phone")

    result = push("u2", "entry", ENTRY_FACTS)

    assert result["status"] == "sent"
    assert (result["sent"], result["failed"], result["removedTokens"]) == (1, 1, 1)
    remaining = [d.get("token") for d in db.collection("users/u2/pushTokens").stream()]
    assert remaining == ["token-live-2"]
    assert len(fcm_messages()) == 2  # both were tried: FCM decides which token is dead


def test_only_dead_tokens_mean_no_tokens_left(db) -> None:
    add_token(db, "u3", "unregistered-a")
    result = push("u3", "entry", ENTRY_FACTS)
    assert result["status"] == "no_tokens"
    assert result["removedTokens"] == 1
    assert list(db.collection("users/u3/pushTokens").stream()) == []


def test_driver_without_tokens_gets_nothing_and_nothing_fails(db) -> None:
    db.document("users/u4").set({"language": "en"})
    assert push("u4", "entry", ENTRY_FACTS)["status"] == "no_tokens"
    assert fcm_messages() == []


def test_preferences_silence_optional_kinds_but_not_money_that_needs_action(db) -> None:
    db.document("users/u5").set({"language": "en", "notificationPrefs": {"entry": False}})
    add_token(db, "u5", "token-u5")
    assert push("u5", "entry", ENTRY_FACTS)["status"] == "skipped"
    failed = {"facilityName": "Kamppi P1", "amount": 600, "currency": "EUR"}
    assert push("u5", "payment_failed", failed)["status"] == "sent"
    db.document("users/u5").update({"notificationPrefs": {"push": False}})
    assert push("u5", "support_reply", {"ticketNumber": "T-1"})["status"] == "skipped"
    assert push("u5", "unpaid_warning", failed)["status"] == "sent"
    kinds = [m["body"]["message"]["data"]["kind"] for m in fcm_messages()]
    assert kinds == ["payment_failed", "unpaid_warning"]


def test_a_keyed_push_is_sent_once(db) -> None:
    add_token(db, "u6", "token-u6")
    first = push("u6", "entry", ENTRY_FACTS, key="s_x__entry")
    second = push("u6", "entry", ENTRY_FACTS, key="s_x__entry")
    assert (first["status"], second["status"]) == ("sent", "duplicate")
    assert len(fcm_messages()) == 1
    record = db.document("pushes/s_x__entry").get().to_dict()
    assert record["status"] == "sent" and record["attempts"] == 1 and record["uid"] == "u6"


def test_missing_facts_fail_before_anything_is_sent(db) -> None:
    add_token(db, "u7", "token-u7")
    try:
        push("u7", "payment_failed", {"facilityName": "Kamppi P1"}, key="k7")
    except ValueError as exc:
        assert "amount" in str(exc)
    else:
        raise AssertionError("push accepted a payment push without an amount")
    assert fcm_messages() == []
    assert not db.document("pushes/k7").get().exists


# --- session pushes: the trigger and the reminder task -------------------------------------


def open_session(db, demo, session_id: str, entry_at: datetime, uid: str | None) -> None:
    db.document(f"sessions/{session_id}").set(
        {
            "operatorId": demo.operator_id,
            "facilityId": demo.facility_id,
            "plate": demo.driver_plate,
            "plateRaw": "ABC-123",
            "country": "FI",
            "source": "anpr",
            "status": "open",
            "entry": {"at": entry_at, "imageUrl": None, "eventId": session_id},
            "exit": None,
            "driverUid": uid,
            "reviewRequired": False,
            "flags": [],
            "fee": None,
            "payment": None,
            "evidence": [],
        }
    )


def test_new_session_of_a_driver_pushes_entry_with_facility_free_period_and_notice(
    db, demo
) -> None:
    add_token(db, demo.driver_uid, "token-driver")
    # A stay nobody owns comes first: it must not push anything.
    open_session(db, demo, "s_anonymous", datetime.now(UTC), None)
    open_session(db, demo, "s_entry1", datetime.now(UTC), demo.driver_uid)

    message = wait_for(lambda: messages_to("token-driver"), timeout=15, what="entry push")[0]
    notification = message["body"]["message"]["notification"]
    assert notification["title"] == "Welcome to Kamppi P1"
    assert notification["body"] == (
        "Parking started. The first 15 min are free. "
        "Height limit 2.1 m. Exit via Urho Kekkosen katu after 22:00."
    )
    assert message["body"]["message"]["data"]["sessionId"] == "s_entry1"
    # The record is completed just after FCM answered.
    wait_for(
        lambda: db.document("pushes/s_entry1__entry").get().get("status") == "sent",
        what="push record marked sent",
    )
    assert len(fcm_messages()) == 1
    assert not db.document("pushes/s_anonymous__entry").get().exists


def test_free_period_reminder_arrives_through_the_task_queue(db, demo) -> None:
    add_token(db, demo.driver_uid, "token-reminded")
    # Entered 9 min 55 s ago: the 15-minute free period ends in about 5 min, so the
    # reminder (5 min before the end) is due in about 5 s.
    entry = datetime.now(UTC) - timedelta(minutes=9, seconds=55)
    open_session(db, demo, "s_remind", entry, demo.driver_uid)

    def reminder():
        return [
            m
            for m in messages_to("token-reminded")
            if m["body"]["message"]["data"]["kind"] == "free_period_ending"
        ]

    # 75 s: room for one redelivery (30 s backoff) if the first dispatch fails under load.
    message = wait_for(reminder, timeout=75, what="free period reminder")[0]["body"]["message"]
    assert message["notification"]["title"] == "Free parking ends soon"
    assert "Kamppi P1 ends in 5 min" in message["notification"]["body"]


def test_reminder_is_skipped_when_the_car_already_left(db, demo) -> None:
    add_token(db, demo.driver_uid, "token-left")
    entry = datetime.now(UTC) - timedelta(minutes=11)
    open_session(db, demo, "s_left", entry, demo.driver_uid)
    wait_for(lambda: messages_to("token-left"), timeout=15, what="entry push")
    db.document("sessions/s_left").update(
        {"status": "closed", "exit": {"at": datetime.now(UTC), "imageUrl": None, "eventId": "x"}}
    )
    assert session_pushes.send_reminder("s_left") == {
        "status": "skipped",
        "reason": "session_ended",
    }
    kinds = [m["body"]["message"]["data"]["kind"] for m in messages_to("token-left")]
    assert kinds == ["entry"]


def test_reminder_sent_directly_counts_the_minutes_left(db, demo) -> None:
    add_token(db, demo.driver_uid, "token-direct")
    entry = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    db.document(f"users/{demo.driver_uid}").update({"language": "fi"})
    open_session(db, demo, "s_direct", entry, demo.driver_uid)
    wait_for(lambda: messages_to("token-direct"), timeout=15, what="entry push")

    result = session_pushes.send_reminder("s_direct", now=entry + timedelta(minutes=11))
    assert result["status"] == "sent"
    message = messages_to("token-direct")[-1]["body"]["message"]
    assert message["notification"]["title"] == "Maksuton pysäköinti päättyy pian"
    assert "päättyy 4 min kuluttua" in message["notification"]["body"]
    late = session_pushes.send_reminder("s_direct", now=entry + timedelta(minutes=16))
    assert late == {"status": "skipped", "reason": "free_period_over"}
    early = session_pushes.send_reminder("s_direct", now=entry + timedelta(minutes=2))
    assert early == {"status": "skipped", "reason": "not_due"}
    assert len(messages_to("token-direct")) == 2  # the entry push and one reminder


def test_reminder_time_is_five_minutes_before_the_free_period_ends() -> None:
    entry = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    assert session_pushes.reminder_at(entry, timedelta(minutes=15)) == entry + timedelta(minutes=10)
    assert session_pushes.reminder_at(entry, timedelta(minutes=5)) is None
    assert session_pushes.reminder_at(entry, timedelta(0)) is None
