"""Operators and their facilities: the tenant rules every feature relies on.

The documents and their cached loaders are models/operators.py and models/facilities.py;
here are the rules on top of them: which facility a reference names, the names a facility
may have, and how late an event may arrive.
"""

from __future__ import annotations

from datetime import timedelta

from google.api_core.exceptions import AlreadyExists
from google.cloud.firestore import Client

from parkingdone import ids
from parkingdone.models import cache, facilities, operators
from parkingdone.models.facilities import Facility, LatLng, name_key
from parkingdone.models.operators import Operator

__all__ = [
    "Facility",
    "FacilityExists",
    "LatLng",
    "Operator",
    "clear_cache",
    "find_facility",
    "late_event_bound",
    "name_key",
    "save_facility",
]


def cached_operator(db: Client, operator_id: str) -> Operator | None:
    """The operator, cached briefly (models/operators.py)."""
    return operators.load(db, operator_id)


def get_operator(db: Client, operator_id: str) -> Operator | None:
    return operators.get(db, operator_id)


def late_event_bound(db: Client, facility: Facility) -> timedelta:
    """How old an event may be and still be applied at this facility."""
    operator = cached_operator(db, facility.operator_id)
    minutes = (operator.late_event_bound_minutes if operator else None) or facility.max_stay_minutes
    return timedelta(minutes=minutes)


def find_facility(db: Client, operator_id: str, facility_ref: str) -> Facility | None:
    """The operator's facility that `facility_ref` names, or None; cached briefly.

    One rule, the same whether the cache is warm or cold: first the facility whose id is
    exactly `facility_ref`, then the one whose display name matches it (case, spaces and "+"
    ignored). `save_facility` keeps the two from competing: no name equals another
    facility's id. A facility of another operator is None too: tenants never see each
    other's data.
    """
    # Only a valid id can be a document path; anything else can still be a display name.
    if ids.is_valid(facility_ref):
        facility = facilities.load(db, facility_ref)
        if facility is not None:
            return facility if facility.operator_id == operator_id else None
    return facilities.load_by_name(db, operator_id, facility_ref)


class FacilityExists(ValueError):
    """A new facility's id is already taken."""


def save_facility(db: Client, facility: Facility, create: bool = False) -> Facility:
    """Configure a facility (create or replace), with the rules that keep names unambiguous.

    Refuses (ValueError) an id that cannot be a document id, and a display name that equals
    another of the operator's facility ids (ignoring case), or an id that equals another
    facility's display name: either would make `find_facility` depend on which it tried
    first. With `create`, an existing id is refused (FacilityExists) instead of replaced.
    """
    ids.check(facility.id)
    facility = facility.model_copy(update={"name_key": name_key(facility.name)})
    if not facility.name_key:
        raise ValueError("a facility needs a display name")
    for other in facilities.of_operator(db, facility.operator_id, limit=10_000):
        if other.id == facility.id:
            continue
        if name_key(other.id) == facility.name_key:
            raise ValueError(f"the name {facility.name!r} is the id of facility {other.id!r}")
        if other.name_key == name_key(facility.id):
            raise ValueError(f"the id {facility.id!r} is the name of facility {other.id!r}")
        if other.name_key == facility.name_key:
            raise ValueError(f"facility {other.id!r} already has the name {facility.name!r}")
    try:
        facilities.save(db, facility, create=create)
    except AlreadyExists as exc:
        raise FacilityExists(f"a facility with the id {facility.id!r} exists") from exc
    return facility


def clear_cache() -> None:
    """Forget every cached operator and facility (models/cache.py)."""
    cache.clear()
