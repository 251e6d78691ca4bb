"""Pushes about payments, through the driver part's `parkingdone.notifications.push`.

Callers pass facts (facility name, amount, currency, receipt number), never texts: the
notifications module owns the wording in the driver's language. A push failure never undoes
or blocks a recorded payment.
"""

from __future__ import annotations

from typing import Any

from firebase_functions import logger


def push(uid: str | None, kind: str, params: dict[str, Any], key: str | None = None) -> None:
    """Push `kind`; `key` (derived from the payment) makes a replayed outcome push once."""
    if not uid:
        return
    try:
        from parkingdone import notifications
    except ImportError:
        logger.warn("payments.push_unavailable", kind=kind, uid=uid)
        return
    try:
        notifications.push(uid, kind, params, key=key)
    except Exception as exc:
        logger.error("payments.push_failed", kind=kind, uid=uid, error=repr(exc))
