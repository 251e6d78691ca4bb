"""GET /api/health: the version and a Firestore round trip, so a check proves the stack.

The round trip is a read of a document that need not exist: anyone may call the health
check without credentials, so it must never make us write.
"""

from __future__ import annotations

import os
import time
from typing import Any

from firebase_functions import logger
from google.api_core import exceptions as google_exceptions

from parkingdone import config
from parkingdone.firebase import db
from parkingdone.models import health

FIRESTORE_TIMEOUT_SECONDS = 3.0


def _local_stack() -> dict[str, str]:
    # Under the emulators only: the id of the local stack serving this answer, so start-up
    # can tell its own functions from another stack's answering on the same port.
    stack_id = os.environ.get("PARKINGDONE_STACK_ID")
    if os.environ.get("FUNCTIONS_EMULATOR") == "true" and stack_id:
        return {"stack": stack_id}
    return {}


def check() -> tuple[int, dict[str, Any]]:
    started = time.perf_counter()
    try:
        # No retries: a health check must answer within seconds, not after a retry deadline.
        health.ref(db(), "ping").get(retry=None, timeout=FIRESTORE_TIMEOUT_SECONDS)
    except (google_exceptions.GoogleAPIError, OSError) as exc:
        logger.warn("health.firestore_unreachable", error=repr(exc))
        return 503, {
            "status": "unavailable",
            "version": config.VERSION,
            "firestore": {"ok": False, "error": type(exc).__name__},
            **_local_stack(),
        }
    return 200, {
        "status": "ok",
        "version": config.VERSION,
        "firestore": {"ok": True, "roundTripMs": round((time.perf_counter() - started) * 1000, 1)},
        **_local_stack(),
    }
