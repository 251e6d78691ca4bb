"""Publishing retry messages to Pub/Sub with the Pub/Sub publisher client.

One client per process, created on first use (no network at import time). The client talks
to the emulator when `PUBSUB_EMULATOR_HOST` is set and to Google with the function's
default credentials otherwise; it keeps its channel open between messages.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from firebase_functions import logger

from parkingdone import config

TOPIC = "payment-retry"
PUBLISH_TIMEOUT_SECONDS = 10.0

_client: Any = None
_client_lock = threading.Lock()


def _publisher() -> Any:
    global _client
    with _client_lock:
        if _client is None:
            from google.cloud import pubsub_v1

            _client = pubsub_v1.PublisherClient()
        return _client


def publish(message: dict[str, Any], topic: str = TOPIC) -> str:
    """Publish `message` as JSON and wait for the server's message id."""
    client = _publisher()
    future = client.publish(
        client.topic_path(config.project_id(), topic), json.dumps(message).encode()
    )
    return future.result(timeout=PUBLISH_TIMEOUT_SECONDS)


def publish_session_retry(session_id: str) -> bool:
    """Queue a retry of a session's payment; False (and logged) if publishing failed.

    A lost message is not lost work: the session stays "pending" with its claim released,
    and the scheduled sweep (`retry.sweep_stale`) picks it up.
    """
    try:
        publish({"kind": "session", "sessionId": session_id})
        return True
    except Exception as exc:
        logger.error("payments.retry_publish_failed", sessionId=session_id, error=repr(exc))
        return False
