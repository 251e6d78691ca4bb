"""The tenant and driver records payments read: operators and facilities (cached briefly,
models/cache.py), and the payment part of a driver's profile."""

from __future__ import annotations

from google.cloud.firestore import Client

from parkingdone import tenants
from parkingdone.models import users
from parkingdone.payments.models import DriverPaymentProfile


def operator(db: Client, operator_id: str) -> tenants.Operator:
    found = tenants.cached_operator(db, operator_id)
    if found is None:
        raise LookupError(f"operator {operator_id} not found")
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
    return users.get(db, uid)
