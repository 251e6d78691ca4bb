"""Keeping plateStatus in step with sessions, passes and drivers' saved cards.

Python Firestore triggers are never retried, so a rebuild that fails flags the projection
(`rebuildPending`: no fines on it) and the scheduled sweep retries it. The sweep also deletes
projections past their expiresAt (they no longer matter to enforcement). Each rebuild reads the
current sources, so duplicate or out-of-order deliveries converge on the same document.
"""

from __future__ import annotations

from typing import Any

from firebase_functions import logger
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone.enforcement import store
from parkingdone.firebase import db

# The fields of a pass that a projection depends on.
PASS_FIELDS = (
    "operatorId",
    "facilityId",
    "plate",
    "status",
    "validFrom",
    "validUntil",
    "amount",
    "currency",
    "productId",
)


def _data(snapshot: Any) -> dict[str, Any] | None:
    if snapshot is None or not getattr(snapshot, "exists", False):
        return None
    return snapshot.to_dict()


def _rebuild_all(
    keys: set[tuple[str, str, str]], source: str, source_id: str, resync: frozenset = frozenset()
) -> None:
    for operator_id, facility_id, plate in sorted(keys):
        try:
            store.rebuild(db(), operator_id, facility_id, plate, resync=plate in resync)
        except Exception as exc:
            logger.error(
                "enforcement.rebuild_failed",
                operatorId=operator_id,
                facilityId=facility_id,
                source=source,
                sourceId=source_id,
                error=repr(exc),
            )
            try:
                store.mark_pending(db(), operator_id, facility_id, plate)
            except Exception as mark_exc:
                logger.error(
                    "enforcement.mark_pending_failed",
                    operatorId=operator_id,
                    facilityId=facility_id,
                    error=repr(mark_exc),
                )


def refresh_plates(
    operator_id: str, facility_id: str, plates: list[tuple[str, bool]], session_id: str
) -> None:
    """A session's payment, fee, driver or plate changed: refresh those plates' projections
    (`resync` for a plate a session was moved to, whose track must take it in)."""
    keys = {(operator_id, facility_id, plate) for plate, _ in plates}
    resync = frozenset(plate for plate, again in plates if again)
    _rebuild_all(keys, "session", session_id, resync)


def on_pass_written(pass_id: str, before: Any, after: Any) -> None:
    keys = store.affected_keys(_data(before), _data(after), PASS_FIELDS)
    _rebuild_all(keys, "pass", pass_id)


def on_user_written(uid: str, before: Any, after: Any) -> None:
    """A saved card added or removed changes whether the driver's open stays are covered."""
    old, new = _data(before) or {}, _data(after) or {}
    if bool(old.get("defaultPaymentMethodId")) == bool(new.get("defaultPaymentMethodId")):
        return
    open_sessions = (
        db()
        .collection(store.SESSIONS)
        .where(filter=FieldFilter("driverUid", "==", uid))
        .where(filter=FieldFilter("status", "==", "open"))
        .limit(50)
        .get()
    )
    keys = {
        (s.get("operatorId"), s.get("facilityId"), s.get("plate"))
        for s in open_sessions
        if s.get("operatorId") and s.get("facilityId") and s.get("plate")
    }
    _rebuild_all(keys, "user", uid)


def sweep() -> None:
    """Retry failed rebuilds, then delete projections that no longer matter to enforcement."""
    rebuilt = store.rebuild_pending(db())
    if rebuilt:
        logger.info("enforcement.sweep_rebuilt", count=rebuilt)
    expired = store.delete_expired(db())
    if expired:
        logger.info("enforcement.sweep_expired", count=expired)
