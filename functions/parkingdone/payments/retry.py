"""Transient payment failures go round through Pub/Sub until the provider answers.

Firestore triggers are never redelivered, so a charge that failed for a passing reason
(provider timeout, rate limit, 5xx) releases its claim, and the session id is published to
TOPIC. The subscriber (declared with retry=True) runs the same idempotent flow again and
raises while the failure lasts, so Pub/Sub redelivers with backoff.

Publishing uses the Pub/Sub REST API (the emulator's under PUBSUB_EMULATOR_HOST, Google's
with the function's default credentials in production) to avoid another client library.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_functions import logger

from parkingdone import config

TOPIC = "payment-retry"


def _publish(message: dict[str, Any]) -> None:
    body = {"messages": [{"data": base64.b64encode(json.dumps(message).encode()).decode()}]}
    path = f"v1/projects/{config.project_id()}/topics/{TOPIC}:publish"
    emulator = os.environ.get("PUBSUB_EMULATOR_HOST") if config.is_emulator() else None
    if emulator:
        import requests

        response = requests.post(f"http://{emulator}/{path}", json=body, timeout=10)
    else:
        import google.auth
        from google.auth.transport.requests import AuthorizedSession

        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/pubsub"])
        response = AuthorizedSession(credentials).post(
            f"https://pubsub.googleapis.com/{path}", json=body, timeout=10
        )
    response.raise_for_status()


def publish_session_retry(session_id: str) -> bool:
    """Queue a retry of a session's payment; False (and logged) if publishing failed.

    A lost message is not lost work: the session stays "pending" with its claim released,
    and the scheduled sweep (`sweep_stale`) picks it up.
    """
    try:
        _publish({"kind": "session", "sessionId": session_id})
        return True
    except Exception as exc:
        logger.error("payments.retry_publish_failed", sessionId=session_id, error=repr(exc))
        return False


def handle_message(data: dict[str, Any]) -> str:
    """The subscriber's work; raises `RetryLater` so Pub/Sub redelivers."""
    from parkingdone.payments import charging

    if data.get("kind") != "session" or not isinstance(data.get("sessionId"), str):
        logger.warn("payments.retry_message_ignored", message=data)
        return "ignored"
    return charging.process_session(data["sessionId"], source="retry")


def decode(raw: bytes | str | None) -> dict[str, Any]:
    """A Pub/Sub message's data (base64 of JSON) as a dict; {} for anything else."""
    try:
        data = json.loads(base64.b64decode(raw or b"") or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


SWEEP_AFTER = 120  # seconds a session may sit unpaid-and-unclaimed before the sweep acts
SWEEP_LIMIT = 200


def sweep_stale(now: datetime | None = None) -> dict[str, int]:
    """Pick up payments that lost their retry message or whose trigger never ran.

    Two indexed queries: claims still "pending" and untouched for SWEEP_AFTER seconds, and
    closed sessions that never got a payment (ingestion writes `payment: null`). Each is run
    through the same idempotent flow; it is a system job, so it is not scoped to one tenant.
    """
    from google.cloud.firestore_v1.base_query import FieldFilter

    from parkingdone import firebase
    from parkingdone.payments import charging
    from parkingdone.payments.models import SESSIONS

    db = firebase.db()
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=SWEEP_AFTER)
    sessions = db.collection(SESSIONS)
    pending = (
        sessions.where(filter=FieldFilter("payment.status", "==", "pending"))
        .where(filter=FieldFilter("payment.updatedAt", "<", cutoff))
        .limit(SWEEP_LIMIT)
        .get()
    )
    unclaimed = (
        sessions.where(filter=FieldFilter("status", "==", "closed"))
        .where(filter=FieldFilter("payment", "==", None))
        .where(filter=FieldFilter("updatedAt", "<", cutoff))
        .limit(SWEEP_LIMIT)
        .get()
    )
    counts = {"pending": 0, "unclaimed": 0, "errors": 0}
    for label, snapshots in (("pending", pending), ("unclaimed", unclaimed)):
        for snapshot in snapshots:
            try:
                charging.process_session(snapshot.id, source="sweep")
                counts[label] += 1
            except Exception as exc:
                counts["errors"] += 1
                logger.error("payments.sweep_failed", sessionId=snapshot.id, error=repr(exc))
    logger.info("payments.sweep", **counts)
    return counts
