"""Transient payment failures go round through Pub/Sub until the provider answers.

Firestore triggers are never redelivered, so a charge that failed for a passing reason
(provider timeout, rate limit, 5xx) releases its claim, and the session id is published to
the `payment-retry` topic. The subscriber (declared with retry=True) runs the same
idempotent flow again and raises while the failure lasts, so Pub/Sub redelivers with
backoff.

Messages are published by publisher.py (the Pub/Sub publisher client).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import firebase
from parkingdone.payments import charging
from parkingdone.payments.models import PAYMENTS, SESSIONS


def handle_message(data: dict[str, Any]) -> str:
    """The subscriber's work; raises `RetryLater` so Pub/Sub redelivers."""
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

    Indexed queries of what is retryable only: claims still "pending" and untouched for
    SWEEP_AFTER seconds, closed sessions that never got a payment (ingestion writes
    `payment: null`; a settle window still running is skipped by the claim) and corrections
    still pending. Each is run through the same idempotent flow; it is a system job, so it
    is not scoped to one tenant. Dead letters are never retried here, only counted in the
    log (`payments.sweep` deadLetters) until someone replays them (`replay_dead_letter`).
    """
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
    corrections = (
        sessions.where(filter=FieldFilter("correctionPending", "==", True))
        .where(filter=FieldFilter("updatedAt", "<", cutoff))
        .limit(SWEEP_LIMIT)
        .get()
    )
    counts = {"pending": 0, "unclaimed": 0, "corrections": 0, "errors": 0}
    for label, snapshots in (("pending", pending), ("unclaimed", unclaimed)):
        for snapshot in snapshots:
            try:
                charging.process_session(snapshot.id, source="sweep", as_of=now)
                counts[label] += 1
            except Exception as exc:
                counts["errors"] += 1
                logger.error("payments.sweep_failed", sessionId=snapshot.id, error=repr(exc))
    for snapshot in corrections:
        try:
            charging.correct_session(snapshot.id)
            counts["corrections"] += 1
        except Exception as exc:
            counts["errors"] += 1
            logger.error("payments.correction_failed", sessionId=snapshot.id, error=repr(exc))
    counts["deadLetters"] = count_dead_letters()
    logger.info("payments.sweep", **counts)
    return counts


def count_dead_letters() -> int:
    """Sessions whose payment work was given up and waits for a person (one count query)."""
    query = (
        firebase.db()
        .collection(SESSIONS)
        .where(filter=FieldFilter("payment.status", "==", "dead_letter"))
    )
    return int(query.count().get()[0][0].value)


def replay_dead_letter(session_id: str) -> str:
    """By hand: take a dead-lettered payment up again once its cause is fixed.

    A claim that had reached the provider goes back to "pending" with its outcome unknown (so
    the charge is looked up before any new try); one that never got that far (tenant
    missing) is cleared and claimed afresh. Returns what the flow did.
    """
    db = firebase.db()
    ref = db.collection(SESSIONS).document(session_id)

    @firestore.transactional
    def reopen(transaction) -> bool:
        now = datetime.now(UTC)
        payment = (ref.get(transaction=transaction).to_dict() or {}).get("payment") or {}
        if payment.get("status") != "dead_letter":
            return False
        payment_id = payment.get("paymentId")
        if not payment_id:
            transaction.update(ref, {"payment": None, "updatedAt": now})
            return True
        transaction.update(
            db.collection(PAYMENTS).document(payment_id),
            {"status": "pending", "lockUntil": None, "updatedAt": now},
        )
        transaction.update(
            ref,
            {
                "payment.status": "pending",
                "payment.attempts": 0,
                "payment.outcomeUnknown": True,
                "payment.nextAttemptAt": None,
                "payment.replayedAt": now,
                "payment.updatedAt": now,
                "updatedAt": now,
            },
        )
        return True

    if not reopen(db.transaction()):
        return "not_dead_lettered"
    result = charging.process_session(session_id, source="replay")
    logger.info("payments.dead_letter_replayed", sessionId=session_id, result=result)
    return result
