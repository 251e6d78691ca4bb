"""The tenant and driver records payments read: operators (cached briefly), facilities,
and the payment part of a driver's profile."""

from __future__ import annotations

import threading
import time

from google.cloud.firestore import Client

from parkingdone import tenants
from parkingdone.payments.models import USERS, DriverPaymentProfile

_operators: dict[str, tuple[float, tenants.Operator]] = {}
_operators_lock = threading.Lock()
OPERATOR_CACHE_SECONDS = 30.0


def operator(db: Client, operator_id: str) -> tenants.Operator:
    now = time.monotonic()
    with _operators_lock:
        hit = _operators.get(operator_id)
    if hit and hit[0] > now:
        return hit[1]
    found = tenants.get_operator(db, operator_id)
    if found is None:
        raise LookupError(f"operator {operator_id} not found")
    with _operators_lock:
        _operators[operator_id] = (now + OPERATOR_CACHE_SECONDS, found)
    return found


def facility(db: Client, operator_id: str, facility_id: str) -> tenants.Facility:
    found = tenants.find_facility(db, operator_id, facility_id)
    if found is None:
        raise LookupError(f"facility {facility_id} of {operator_id} not found")
    return found


def driver_profile(db: Client, uid: str | None) -> DriverPaymentProfile | None:
    """The payment part of users/{uid}; None for no driver or no profile."""
    if not uid:
        return None
    snapshot = db.collection(USERS).document(uid).get()
    if not snapshot.exists:
        return None
    return DriverPaymentProfile.model_validate(snapshot.to_dict())
