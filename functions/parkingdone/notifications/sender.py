"""The FCM sender: one push to every device of a driver, in the driver's language.

Uses the real `firebase_admin.messaging` path (`send_each_for_multicast`). Under the emulator
there is no FCM, so the service URL is pointed at the local recorder (config FCM_URL); only
emulator mode can change it, and only to a loopback address.

Pushes with a `key` (derived from the event, e.g. "<sessionId>__entry") are recorded in
`pushes/{key}`: a redelivered trigger does not push twice, and a push that FCM could not
take for a passing reason is retried through the `pushRetry` task queue.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from firebase_admin import exceptions as fb_exceptions
from firebase_admin import messaging
from firebase_functions import logger
from google.api_core import exceptions as google_exceptions
from google.cloud import firestore

from parkingdone import config, firebase
from parkingdone.models.push_tokens import COLLECTION as PUSH_TOKENS
from parkingdone.models.pushes import COLLECTION as PUSHES
from parkingdone.models.users import COLLECTION as USERS
from parkingdone.notifications import texts

RETRY_FUNCTION = "pushRetry"
# FCM refuses more than 500 tokens per multicast; a driver has a handful of devices.
MAX_TOKENS = 500

# FCM says the token will never work again: the app was uninstalled or the token rotated.
_DEAD_TOKEN_ERRORS = (messaging.UnregisteredError, messaging.SenderIdMismatchError)
# Worth trying again later.
_TRANSIENT_ERRORS = (
    fb_exceptions.UnavailableError,
    fb_exceptions.InternalError,
    fb_exceptions.DeadlineExceededError,
    messaging.QuotaExceededError,
    fb_exceptions.UnknownError,
)


def _use_local_fcm() -> None:
    """Point firebase-admin's messaging service at the FCM recorder, in emulator mode only."""
    url = config.emulator_setting("FCM_URL")
    if not url:
        return
    host = urlparse(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError("FCM_URL must be a loopback address under the emulator")
    messaging._MessagingService.FCM_URL = url


def token_id(token: str) -> str:
    """Document id of a push token: stable per token, so re-registering is idempotent."""
    return hashlib.sha256(token.encode()).hexdigest()[:40]


def _now() -> datetime:
    return datetime.now(UTC)


def push(
    uid: str,
    kind: str,
    params: dict[str, Any],
    *,
    key: str | None = None,
    schedule_retry: bool = True,
) -> dict:
    """Send `kind` to every device of driver `uid`; returns what happened.

    `params` are facts (see notifications.texts); a missing fact raises TextError (ValueError).
    Result: {"status": "sent" | "skipped" | "no_tokens" | "failed" | "retry" | "duplicate",
    "sent", "failed", "removedTokens"}.
    """
    texts.parse_facts(kind, params)  # fail before anything is written
    db = firebase.db()
    record = db.collection(PUSHES).document(key) if key else None
    if record is not None and not _claim(record, uid, kind, params):
        logger.info("push.duplicate", uid=uid, kind=kind, key=key)
        return {"status": "duplicate", "sent": 0, "failed": 0, "removedTokens": 0}

    result = _send(db, uid, kind, params)
    log = logger.info if result["status"] in ("sent", "skipped", "no_tokens") else logger.warn
    log("push.result", uid=uid, kind=kind, key=key, session_id=params.get("sessionId"), **result)
    if record is not None:
        _record(record, result)
        if result["status"] == "retry" and schedule_retry:
            _enqueue_retry(key)
    return result


def _claim(record: firestore.DocumentReference, uid: str, kind: str, params: dict) -> bool:
    """Create the push record; False when this push was already sent or is being sent."""
    try:
        record.create(
            {
                "uid": uid,
                "kind": kind,
                "params": params,
                "status": "sending",
                "attempts": 0,
                "createdAt": firestore.SERVER_TIMESTAMP,
            }
        )
        return True
    except google_exceptions.AlreadyExists:
        snapshot = record.get()
        # Only a push waiting for its retry may go again.
        return snapshot.get("status") in ("retry",)


def _record(record: firestore.DocumentReference, result: dict) -> None:
    record.update(
        {
            "status": result["status"],
            "sent": result["sent"],
            "failed": result["failed"],
            "removedTokens": result["removedTokens"],
            "lastError": result.get("error"),
            "attempts": firestore.Increment(1),
            "updatedAt": firestore.SERVER_TIMESTAMP,
        }
    )


def _send(db: firestore.Client, uid: str, kind: str, params: dict) -> dict:
    empty = {"sent": 0, "failed": 0, "removedTokens": 0}
    user_ref = db.collection(USERS).document(uid)
    profile_snapshot = user_ref.get()
    profile = profile_snapshot.to_dict() if profile_snapshot.exists else {}
    pref = texts.PREF_OF_KIND[kind]
    prefs = profile.get("notificationPrefs") or {}
    # "push" silences every kind the driver may silence; the must-act kinds still go out.
    if pref and (prefs.get(pref) is False or prefs.get("push") is False):
        return {"status": "skipped", **empty}

    token_docs = list(user_ref.collection(PUSH_TOKENS).limit(MAX_TOKENS).stream())
    tokens = [(doc.reference, doc.get("token")) for doc in token_docs if doc.get("token")]
    if not tokens:
        return {"status": "no_tokens", **empty}

    rendered = texts.render(kind, profile.get("language") or "", params)
    message = messaging.MulticastMessage(
        tokens=[token for _, token in tokens],
        notification=messaging.Notification(title=rendered.title, body=rendered.body),
        data=rendered.data,
        android=messaging.AndroidConfig(priority="high"),
        apns=messaging.APNSConfig(
            payload=messaging.APNSPayload(aps=messaging.Aps(sound="default"))
        ),
    )
    _use_local_fcm()
    try:
        batch = messaging.send_each_for_multicast(message, app=firebase.app())
    except fb_exceptions.FirebaseError as exc:
        return {"status": "retry", **empty, "failed": len(tokens), "error": type(exc).__name__}

    dead: list[firestore.DocumentReference] = []
    transient = 0
    error = None
    for (ref, _), response in zip(tokens, batch.responses, strict=True):
        if response.success:
            continue
        error = type(response.exception).__name__
        if isinstance(response.exception, _DEAD_TOKEN_ERRORS):
            dead.append(ref)
        elif isinstance(response.exception, _TRANSIENT_ERRORS):
            transient += 1
    if dead:
        writes = db.batch()
        for ref in dead:
            writes.delete(ref)
        writes.commit()
    result = {
        "sent": batch.success_count,
        "failed": batch.failure_count,
        "removedTokens": len(dead),
    }
    if error:
        result["error"] = error
    if batch.success_count:
        status = "sent"
    elif transient:
        # Nothing reached any device and FCM may take it later.
        status = "retry"
    elif dead and len(dead) == len(tokens):
        status = "no_tokens"
    else:
        status = "failed"
    return {"status": status, **result}


def _enqueue_retry(key: str | None) -> None:
    from parkingdone import tasks

    if not key:
        return
    try:
        tasks.enqueue(RETRY_FUNCTION, {"key": key}, delay_seconds=30)
    except Exception as exc:  # the record stays "retry", visible to operations
        logger.error("push.retry_enqueue_failed", key=key, error=repr(exc))


def retry(key: str) -> dict:
    """Task handler body: send a recorded push again. Raises while FCM stays unavailable, so
    Cloud Tasks retries with back-off."""
    if not key:
        return {"status": "duplicate", "sent": 0, "failed": 0, "removedTokens": 0}
    snapshot = firebase.db().collection(PUSHES).document(key).get()
    if not snapshot.exists or snapshot.get("status") != "retry":
        return {"status": "duplicate", "sent": 0, "failed": 0, "removedTokens": 0}
    data = snapshot.to_dict()
    # Cloud Tasks owns the back-off here: no second task per attempt.
    result = push(
        data["uid"], data["kind"], data.get("params") or {}, key=key, schedule_retry=False
    )
    if result["status"] == "retry":
        raise RuntimeError(f"push {key} still not accepted by FCM")
    return result
