"""Slowing down repeated failed sign-ins, per account and per address.

`signInThrottle/{sha256(kind:key)}` counts failures in a rolling window. The first few
failures cost nothing; after that each further attempt must wait, doubling up to a cap,
until a success (or the window passing) clears the count. The decision is a pure function.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from google.cloud.firestore import Client

from parkingdone.models.sign_in_throttle import COLLECTION

FREE_FAILURES = 5
WINDOW = timedelta(minutes=15)
BASE_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60


def delay_seconds(failures: int) -> int:
    """How long after the last failure the next attempt must wait."""
    if failures < FREE_FAILURES:
        return 0
    return min(BASE_DELAY_SECONDS * 2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS)


def wait_seconds(failures: int, last_failure: datetime | None, now: datetime) -> int:
    """Seconds still to wait before another attempt is heard (0: go ahead)."""
    if last_failure is None or now - last_failure > WINDOW:
        return 0
    ready_at = last_failure + timedelta(seconds=delay_seconds(failures))
    return max(0, int((ready_at - now).total_seconds() + 0.999))


def _ref(db: Client, kind: str, key: str):
    digest = hashlib.sha256(f"{kind}:{key.strip().lower()}".encode()).hexdigest()
    return db.collection(COLLECTION).document(digest)


def keys(email: str, address: str) -> list[tuple[str, str]]:
    return [("account", email), ("address", address)]


def check(db: Client, email: str, address: str, now: datetime | None = None) -> int:
    """Seconds to wait (the longest of the account's and the address's); 0 when free."""
    now = now or datetime.now(UTC)
    refs = [_ref(db, kind, key) for kind, key in keys(email, address)]
    wait = 0
    for snapshot in db.get_all(refs):
        if snapshot.exists:
            data = snapshot.to_dict() or {}
            wait = max(wait, wait_seconds(int(data.get("failures", 0)), data.get("lastAt"), now))
    return wait


def record_failure(db: Client, email: str, address: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    for kind, key in keys(email, address):
        ref = _ref(db, kind, key)
        snapshot = ref.get()
        data = snapshot.to_dict() if snapshot.exists else {}
        last = (data or {}).get("lastAt")
        failures = int((data or {}).get("failures", 0)) if last and now - last <= WINDOW else 0
        ref.set({"kind": kind, "failures": failures + 1, "lastAt": now, "expireAt": now + WINDOW})


def record_success(db: Client, email: str) -> None:
    _ref(db, "account", email).delete()
