"""Outages of the services around us: sessions, payments and the webhook carry on, and the
work that failed is done once the service is back.

(Payment provider outages: tests/integration/test_payment_outages.py.)
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

import pytest
import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import firebase
from parkingdone.jobs import sessions_sweep
from parkingdone.notifications import sender
from parkingdone.sessions import evidence
from tests.integration.evidence_server import PNG, ImageServer
from tests.integration.ingest_support import body, minutes, post
from tests.integration.payments_helpers import add_push_token, wait_status
from tests.support.services import fcm_messages
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("demo")


def _fcm_outage(down: bool) -> None:
    url = f"{os.environ['FCM_RECORDER_URL']}/outage"
    requests.put(url, json={"down": down}, timeout=5).raise_for_status()


def _pushes(db, status: str) -> list:
    query = db.collection("pushes").where(filter=FieldFilter("status", "==", status))
    return list(query.get())


def test_fcm_down_leaves_sessions_and_payments_alone_and_pushes_go_out_after(db, demo) -> None:
    add_push_token(db, demo.driver_uid)
    _fcm_outage(True)
    try:
        at = datetime.now(UTC) - minutes(90)
        entry = post(demo.webhook_token, body("entry", at))
        assert entry.status_code == 202 and entry.json()["status"] == "processed"
        session_id = entry.json()["sessionId"]
        exit_ = post(demo.webhook_token, body("exit", at + minutes(80)))
        assert exit_.status_code == 202 and exit_.json()["outcome"] == "session_closed"
        # The card is charged while FCM is down.
        paid = wait_status(db, session_id, "succeeded")
        assert paid["payment"]["receiptId"]
        # Both pushes are recorded for a retry; none reached FCM.
        waiting = wait_for(
            lambda: (found := _pushes(db, "retry")) and len(found) >= 2 and found,
            timeout=30,
            what="two pushes waiting for FCM",
        )
        assert fcm_messages() == []
    finally:
        _fcm_outage(False)
    # FCM is back: the retry (Cloud Tasks' pushRetry, or the same call by hand) sends each once.
    for snapshot in waiting:
        sender.retry(snapshot.id)
    kinds = sorted(m["body"]["message"]["data"]["kind"] for m in fcm_messages())
    assert kinds == ["entry", "payment_succeeded"]
    assert _pushes(db, "retry") == []
    for snapshot in waiting:
        assert sender.retry(snapshot.id)["status"] == "duplicate"
    assert len(fcm_messages()) == 2


def _hub(action: str) -> None:
    hub = os.environ["FIREBASE_EMULATOR_HUB"]
    requests.put(f"http://{hub}/functions/{action}", timeout=60).raise_for_status()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reset_storage_client() -> None:
    # firebase-admin keeps one storage client per app, bound to the storage host it was made
    # with; the next call makes a new one from the current environment.
    firebase.app()._services.pop("_storage", None)


def test_storage_down_during_an_evidence_copy_is_recorded_and_the_sweep_copies_later(
    db, demo, monkeypatch
) -> None:
    # The copy runs here, where the storage outage is staged; the functions' own trigger
    # would race it with the storage that is up.
    _hub("disableBackgroundTriggers")
    try:
        with ImageServer() as images:
            url = images.add("/cam/in.png", PNG)
            session_id = "s_storage_outage"
            session = {
                "operatorId": demo.operator_id,
                "facilityId": demo.facility_id,
                "plate": "STO1",
                "status": "open",
                "entry": {"at": datetime.now(UTC), "imageUrl": url, "eventId": "ev_sto"},
                "exit": None,
                "evidence": [],
            }
            db.collection("sessions").document(session_id).set(session)
            monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{_closed_port()}")
            _reset_storage_client()
            assert evidence.on_session_written(session_id, session) == 1
            stored = db.collection("sessions").document(session_id).get().to_dict()
            [item] = stored["evidence"]
            assert item["status"] == "failed" and item["error"] == "storage_failed"
            assert item["retryable"] is True and stored["evidenceRetry"] is True
            assert stored["status"] == "open"  # the stay is untouched

            monkeypatch.undo()
            _reset_storage_client()
            assert sessions_sweep.retry_evidence(db) == 1
            stored = db.collection("sessions").document(session_id).get().to_dict()
            [item] = stored["evidence"]
            assert item["status"] == "stored" and item["attempts"] == 2
            assert stored["evidenceRetry"] is False
    finally:
        _reset_storage_client()
        _hub("enableBackgroundTriggers")
