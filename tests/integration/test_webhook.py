"""POST /webhook through Hosting: auth, validation, idempotency, adapters, the inbox."""

from datetime import UTC, datetime, timedelta

import pytest

from parkingdone import credentials
from tests.integration.ingest_support import (
    T0,
    add_tenant,
    body,
    minutes,
    pointer,
    post,
    sessions_of,
)

pytestmark = pytest.mark.usefixtures("demo")


def test_entry_opens_a_session_for_the_registered_driver(db, demo) -> None:
    r = post(demo.webhook_token, body("entry", T0, image_url="https://cam.example/e.jpg"))
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["status"] == "processed" and answer["outcome"] == "session_opened"
    session = db.collection("sessions").document(answer["sessionId"]).get().to_dict()
    assert session["operatorId"] == demo.operator_id
    assert session["facilityId"] == demo.facility_id
    assert session["plate"] == "ABC123" and session["plateRaw"] == "ABC-123"
    assert session["source"] == "anpr" and session["status"] == "open"
    assert session["driverUid"] == demo.driver_uid
    assert session["entry"]["at"] == T0
    assert session["entry"]["imageUrl"] == "https://cam.example/e.jpg"
    assert session["entry"]["eventId"] == answer["eventId"]
    assert session["exit"] is None and session["fee"] is None and session["payment"] is None
    assert session["reviewRequired"] is False and session["flags"] == []
    assert pointer(db, demo.facility_id, "ABC123")["sessionId"] == answer["sessionId"]
    event = db.collection("events").document(answer["eventId"]).get().to_dict()
    assert event["status"] == "processed" and event["sessionId"] == answer["sessionId"]
    assert event["operatorId"] == demo.operator_id


def test_unregistered_plate_has_no_driver_and_display_name_finds_the_facility(db, demo) -> None:
    r = post(demo.webhook_token, body("entry", T0, plate="zz 999", facility="Kamppi P1"))
    assert r.status_code == 202, r.text
    session = db.collection("sessions").document(r.json()["sessionId"]).get().to_dict()
    assert session["driverUid"] is None and session["facilityId"] == demo.facility_id


def test_exit_closes_the_session(db, demo) -> None:
    opened = post(demo.webhook_token, body("entry", T0)).json()
    r = post(demo.webhook_token, body("exit", T0 + minutes(102)))
    assert r.status_code == 202
    assert r.json()["outcome"] == "session_closed"
    assert r.json()["sessionId"] == opened["sessionId"]
    session = db.collection("sessions").document(opened["sessionId"]).get().to_dict()
    assert session["status"] == "closed"
    assert session["exit"]["at"] == T0 + minutes(102)
    assert pointer(db, demo.facility_id, "ABC123") is None


def test_a_replay_answers_like_the_first_call_and_changes_nothing(db, demo) -> None:
    first = post(demo.webhook_token, body("entry", T0))
    again = post(demo.webhook_token, body("entry", T0))
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    assert len(list(db.collection("sessions").get())) == 1
    assert len(list(db.collection("events").get())) == 1


def test_event_id_is_the_idempotency_key(db, demo) -> None:
    first = post(demo.webhook_token, body("entry", T0, event_id="cam-1-0001"))
    # Same sender id, different facts (e.g. a resend with a re-read timestamp): same event.
    again = post(demo.webhook_token, body("entry", T0 + minutes(30), event_id="cam-1-0001"))
    assert again.status_code == 200 and again.json() == first.json()
    assert len(list(db.collection("sessions").get())) == 1


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic ZGVtbw==", "Bearer "])
def test_bad_credentials_are_401(demo, header) -> None:
    headers = {"Authorization": header} if header else {}
    r = post(None, body("entry", T0), headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_rotation_overlap_then_revocation_and_expiry(db, demo) -> None:
    new_token, new_hash = credentials.issue(db, "webhook", demo.operator_id, label="rotated")
    assert post(new_token, body("entry", T0)).status_code == 202
    assert post(demo.webhook_token, body("exit", T0 + minutes(60))).status_code == 202
    credentials.revoke(db, new_hash)
    assert post(new_token, body("entry", T0 + minutes(90))).status_code == 401
    expired, _ = credentials.issue(
        db,
        "webhook",
        demo.operator_id,
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    assert post(expired, body("entry", T0 + minutes(90))).status_code == 401
    # An enforcement key is not a webhook token.
    assert post(demo.enforcement_key, body("entry", T0 + minutes(90))).status_code == 401


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({**body("entry", T0), "timestamp": "2026-03-30T14:23:00"}, "naive_timestamp"),
        (
            body("entry", datetime.now(UTC) + timedelta(minutes=30)),
            "invalid_event",
        ),
        ({**body("entry", T0), "event": "parked"}, "invalid_event"),
        ({**body("entry", T0), "plate": "ABC/123"}, "invalid_event"),
        ({**body("entry", T0), "image_url": "ftp://cam/x.jpg"}, "invalid_event"),
        ({k: v for k, v in body("entry", T0).items() if k != "facility_id"}, "invalid_event"),
        (b"{not json", "malformed_json"),
    ],
)
def test_invalid_events_are_400_and_write_nothing(db, demo, payload, code) -> None:
    r = post(demo.webhook_token, payload)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]
    assert list(db.collection("events").get()) == []
    assert list(db.collection("sessions").get()) == []


def test_oversized_body_is_413(db, demo) -> None:
    payload = {**body("entry", T0), "padding": "x" * (65 * 1024)}
    r = post(demo.webhook_token, payload)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert list(db.collection("events").get()) == []


def test_non_json_content_type_is_415(demo) -> None:
    r = post(demo.webhook_token, "event=entry", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


def test_unknown_or_foreign_facility_is_404(db, demo) -> None:
    add_tenant(db, "other-operator", "other-p9", "Other P9")
    for facility in ("nowhere-p0", "other-p9", "Other P9"):
        r = post(demo.webhook_token, body("entry", T0, facility=facility))
        assert r.status_code == 404, facility
        assert r.json()["error"]["code"] == "unknown_facility"
        assert facility in r.json()["error"]["message"]
    assert list(db.collection("sessions").get()) == []


def test_an_operator_format_through_its_adapter(db, demo) -> None:
    adapter = {
        "fields": {
            "event": "data.direction",
            "plate": "data.vehicle.plate",
            "facility_id": "site.code",
            "timestamp": "data.ts",
            "image_url": "data.images[0].url",
            "event_id": "id",
        },
        "events": {"IN": "entry", "OUT": "exit"},
        "facilities": {"GATE-7": "acme-p1"},
        "timestamp_format": "epoch_ms",
        "constants": {"country": "FI"},
    }
    token = add_tenant(db, "acme", "acme-p1", "Acme P1", adapter=adapter)
    ms = int(T0.timestamp() * 1000)
    payload = {
        "id": 77,
        "site": {"code": "GATE-7"},
        "data": {"direction": "IN", "ts": ms, "vehicle": {"plate": "abc 123"}, "images": []},
    }
    r = post(token, payload)
    assert r.status_code == 202, r.text
    session = db.collection("sessions").document(r.json()["sessionId"]).get().to_dict()
    assert session["operatorId"] == "acme" and session["facilityId"] == "acme-p1"
    assert session["plate"] == "ABC123" and session["country"] == "FI"
    assert session["entry"]["at"] == T0
    event = db.collection("events").document(r.json()["eventId"]).get().to_dict()
    assert event["payload"] == payload  # the operator's own body is kept for support
    # The canonical body does not fit this operator's format.
    bad = post(token, body("entry", T0, facility="acme-p1"))
    assert bad.status_code == 400 and "missing fields" in bad.json()["error"]["message"]


def test_a_failed_event_is_kept_and_replayed(db, demo, monkeypatch) -> None:
    """Processing fails after acceptance: the event is in the inbox and the replay applies it."""
    from parkingdone.ingest import inbox, webhook
    from parkingdone.sessions import machine

    real_apply = machine.apply

    def broken(*args, **kwargs):
        raise RuntimeError("simulated outage")

    monkeypatch.setattr(machine, "apply", broken)
    client = webhook.app.test_client()
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    r = client.post("/webhook", json=body("entry", T0), headers=headers)
    assert r.status_code == 202
    assert r.json["status"] == "failed"
    stored = db.collection("events").document(r.json["eventId"]).get().to_dict()
    assert stored["status"] == "failed" and "simulated outage" in stored["error"]
    assert list(db.collection("sessions").get()) == []

    monkeypatch.setattr(machine, "apply", real_apply)
    [result] = inbox.replay_failed(db)
    assert result.status == "processed" and result.outcome == "session_opened"
    stored = db.collection("events").document(r.json["eventId"]).get().to_dict()
    assert stored["status"] == "processed" and stored["attempts"] == 2
    assert pointer(db, demo.facility_id, "ABC123")["sessionId"] == result.session_id
    # The operator's own retry now gets the processed answer, and nothing more happens.
    again = client.post("/webhook", json=body("entry", T0), headers=headers)
    assert again.status_code == 200 and again.json["sessionId"] == result.session_id
    assert inbox.replay_failed(db) == []
    assert len(list(db.collection("sessions").get())) == 1


def test_an_operator_retry_of_a_failed_event_processes_it(db, demo, monkeypatch) -> None:
    from parkingdone.ingest import webhook
    from parkingdone.sessions import machine

    real_apply = machine.apply
    monkeypatch.setattr(machine, "apply", lambda *a, **k: (_ for _ in ()).throw(OSError("x")))
    client = webhook.app.test_client()
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    assert client.post("/webhook", json=body("entry", T0), headers=headers).json["status"] == (
        "failed"
    )
    monkeypatch.setattr(machine, "apply", real_apply)
    r = client.post("/webhook", json=body("entry", T0), headers=headers)
    assert r.json["status"] == "processed" and r.json["outcome"] == "session_opened"
    assert len(list(db.collection("sessions").get())) == 1


def test_exhausted_events_become_dead_letters_and_never_starve_new_failures(db, demo) -> None:
    """150 events past their attempts and one new failure: the sweep retries the new one."""
    from parkingdone.ingest import inbox

    batch = db.batch()
    for n in range(150):
        batch.set(
            db.collection("events").document(f"ev_exhausted_{n:03d}"),
            {
                **_stored_event(demo, f"DEAD{n}", T0 + minutes(n)),
                "status": "failed",
                "attempts": inbox.MAX_ATTEMPTS - 1,
                "error": "RuntimeError: simulated",
            },
        )
    batch.commit()
    # One more failing attempt each turns them into dead letters, counted and listed apart.
    for snapshot in inbox.failed_events(db, limit=200):
        ref = snapshot.reference
        inbox._record_failure(db, ref, {}, RuntimeError("still down"), {})
    assert inbox.count_dead_letters(db) == 150
    assert inbox.failed_events(db) == []
    # A new failure is retried by the sweep's replay, ahead of nothing.
    db.collection("events").document("ev_new_failure").set(
        {**_stored_event(demo, "NEW1", T0), "status": "failed", "attempts": 1, "error": "x"}
    )
    [result] = inbox.replay_failed(db)
    assert result.event_id == "ev_new_failure" and result.status == "processed"
    # Dead letters are replayed by hand only, oldest event first.
    replayed = inbox.replay_failed(db, limit=3, dead_letters=True)
    assert [r.event_id for r in replayed] == [f"ev_exhausted_{n:03d}" for n in range(3)]
    assert all(r.status == "processed" for r in replayed)


def _stored_event(demo, plate: str, at) -> dict:
    return {
        "operatorId": demo.operator_id,
        "facilityId": demo.facility_id,
        "kind": "entry",
        "plate": plate,
        "plateRaw": plate,
        "country": None,
        "at": at,
        "imageUrl": None,
        "source": "anpr",
    }


def test_a_credential_recalled_by_the_process_is_confirmed_in_the_event_transaction(
    db, demo
) -> None:
    """The webhook parses with the credential as its process last read it and reads it again
    with the plate's documents: a revocation since still answers 401, before any other
    refusal, and writes nothing."""
    from parkingdone.ingest import webhook

    client = webhook.app.test_client()
    token, digest = credentials.issue(db, "webhook", demo.operator_id, label="recalled")
    headers = {"Authorization": f"Bearer {token}"}
    first = client.post("/webhook", json=body("entry", T0, plate="REC-1"), headers=headers)
    assert first.status_code == 202  # the process now holds the credential
    credentials.revoke(db, digest)
    events = {d.id for d in db.collection("events").get()}
    sessions = {d.id for d in db.collection("sessions").get()}

    revoked = client.post("/webhook", json=body("entry", T0, plate="REC-2"), headers=headers)
    assert revoked.status_code == 401 and revoked.json["error"]["code"] == "unauthorized"
    malformed = client.post("/webhook", data=b"{not json", headers=headers)
    assert malformed.status_code == 401
    foreign = client.post(
        "/webhook", json=body("entry", T0, plate="REC-3", facility="nowhere-p0"), headers=headers
    )
    assert foreign.status_code == 401
    assert {d.id for d in db.collection("events").get()} == events
    assert {d.id for d in db.collection("sessions").get()} == sessions


def test_a_credential_changed_since_recalled_is_applied_at_once(db, demo) -> None:
    """A narrowed scope refuses the facility at the next request; a new payload format reads
    the next request with it (the request is handled once more with the stored credential)."""
    from parkingdone.ingest import webhook

    client = webhook.app.test_client()
    token, digest = credentials.issue(db, "webhook", demo.operator_id, label="changing")
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post("/webhook", json=body("entry", T0, plate="CHG-1"), headers=headers).status_code
        == 202
    )
    ref = db.collection("credentials").document(digest)

    ref.update({"facilityIds": ["kamppi-p2"]})
    narrowed = client.post("/webhook", json=body("entry", T0, plate="CHG-2"), headers=headers)
    assert narrowed.status_code == 404 and narrowed.json["error"]["code"] == "unknown_facility"
    assert sessions_of(db, demo.facility_id, "CHG2") == []

    fields = {"event": "event", "plate": "vehicle.plate", "facility_id": "site", "timestamp": "at"}
    ref.update({"facilityIds": [], "adapter": {"fields": fields}})
    canonical = body("entry", T0)
    payload = {
        "event": "entry",
        "vehicle": {"plate": "chg 3"},
        "site": demo.facility_id,
        "at": canonical["timestamp"],
    }
    reformatted = client.post("/webhook", json=payload, headers=headers)
    assert reformatted.status_code == 202, reformatted.json
    assert [s["plate"] for s in sessions_of(db, demo.facility_id, "CHG3")] == ["CHG3"]
