"""Operators and their facilities: the tenant records every feature reads.

Facility documents change rarely and are read on every event, so they are cached in the
process for a short time; a configuration change shows within FACILITY_CACHE_SECONDS.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.api_core.exceptions import AlreadyExists
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from parkingdone import ids, settings

OPERATORS = "operators"
FACILITIES = "facilities"
FACILITY_CACHE_SECONDS = 30.0


class Operator(BaseModel):
    """An operator. Time zones belong to its facilities (one each), not to the operator."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: str
    name: str
    currency: str = settings.DEFAULT_CURRENCY
    # Platform fee in basis points (500 = 5 %), taken as the Stripe application fee.
    platform_fee_bps: int = settings.PLATFORM_FEE_BPS
    vat_rate_bps: int = settings.VAT_RATE_BPS
    # The operator's Stripe connected account; charges are made on it.
    stripe_account_id: str | None = None
    # What the operator's staff and officers read (messages.py); "fi" or "en".
    language: str = settings.OPERATOR_LANGUAGE
    # Events older than this (default: the facility's maximum stay) are held for review,
    # not applied: a far-past timestamp must never open or charge a stay silently.
    late_event_bound_minutes: int | None = Field(default=None, ge=1)


class LatLng(BaseModel):
    lat: float
    lng: float


class Facility(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: str
    operator_id: str
    name: str
    # Lower-cased display name, so "Kamppi P1" finds the facility by one indexed query.
    name_key: str = ""
    # The facility's one time zone: prices (its tariff versions must name the same zone),
    # officers' summaries and the last day of a pass are all read in it.
    time_zone: str = settings.DEFAULT_TIME_ZONE
    currency: str = settings.DEFAULT_CURRENCY
    # Tariff versions as stored (see parkingdone.tariffs); the one in force at entry applies.
    tariffs: list[dict[str, Any]] = Field(default_factory=list)
    enforcement_grace_minutes: int = settings.ENFORCEMENT_GRACE_MINUTES
    max_stay_minutes: int = settings.MAX_STAY_MINUTES
    # Spaces, where the operator told us; occupancy is shown against it.
    capacity: int | None = None
    # A fee above this (minor units) is never charged automatically: it waits for review.
    review_threshold_minor: int = settings.REVIEW_THRESHOLD_MINOR
    # Seconds after a stay closes before it is charged, so late events can still re-pair it.
    charge_settle_seconds: int = settings.CHARGE_SETTLE_SECONDS
    # A second camera read of the same entry within this window is the same entry.
    entry_debounce_seconds: int = settings.ENTRY_DEBOUNCE_SECONDS
    # GPS geofence: the polygon's corners in order (WGS84). Firestore has no nested arrays,
    # hence objects rather than [lat, lng] pairs.
    geofence: list[LatLng] = Field(default_factory=list)
    rate_label: str = ""
    driver_notice: str = ""
    rules: list[str] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _one_time_zone(self) -> Self:
        """Prices are computed in the tariff version's zone and everything else in the
        facility's: they must be the same, or a driver's day would end at two midnights."""
        for version in self.tariffs:
            zone = version.get("timeZone", version.get("time_zone"))
            if zone is not None and zone != self.time_zone:
                raise ValueError(
                    f"tariff version {version.get('version')} of facility {self.id} is in "
                    f"{zone}, the facility in {self.time_zone}: a facility has one time zone"
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def name_key(name: str) -> str:
    return " ".join(name.replace("+", " ").split()).casefold()


_cache: dict[str, tuple[float, Facility | None]] = {}
_cache_lock = threading.Lock()


def cached_operator(db: Client, operator_id: str) -> Operator | None:
    """The operator, cached briefly like facilities (the webhook reads its settings)."""
    key = f"operator/{operator_id}"
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit and hit[0] > now:
        return hit[1]  # type: ignore[return-value]
    operator = get_operator(db, operator_id)
    if operator is not None:
        with _cache_lock:
            _cache[key] = (now + FACILITY_CACHE_SECONDS, operator)  # type: ignore[assignment]
    return operator


def late_event_bound(db: Client, facility: Facility) -> timedelta:
    """How old an event may be and still be applied at this facility."""
    operator = cached_operator(db, facility.operator_id)
    minutes = (operator.late_event_bound_minutes if operator else None) or facility.max_stay_minutes
    return timedelta(minutes=minutes)


def get_operator(db: Client, operator_id: str) -> Operator | None:
    snapshot = db.collection(OPERATORS).document(operator_id).get()
    if not snapshot.exists:
        return None
    return Operator.model_validate({**snapshot.to_dict(), "id": snapshot.id})


def find_facility(db: Client, operator_id: str, facility_ref: str) -> Facility | None:
    """The operator's facility that `facility_ref` names, or None; cached briefly.

    One rule, the same whether the cache is warm or cold: first the facility whose id is
    exactly `facility_ref`, then the one whose display name matches it (case, spaces and "+"
    ignored). `save_facility` keeps the two from competing: no name equals another
    facility's id. A facility of another operator is None too: tenants never see each
    other's data.
    """
    key = f"{operator_id}/{facility_ref}"
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit and hit[0] > now:
        return hit[1]
    facility = _load_facility(db, operator_id, facility_ref)
    # Only hits are cached: a facility created a moment ago must not stay "unknown".
    if facility is not None:
        with _cache_lock:
            _cache[key] = (now + FACILITY_CACHE_SECONDS, facility)
    return facility


def _load_facility(db: Client, operator_id: str, facility_ref: str) -> Facility | None:
    # Only a valid id can be a document path; anything else can still be a display name.
    if ids.is_valid(facility_ref):
        snapshot = db.collection(FACILITIES).document(facility_ref).get()
        if snapshot.exists:
            facility = _facility_of(snapshot)
            return facility if facility.operator_id == operator_id else None
    key = name_key(facility_ref)
    if not key:
        return None
    matches = (
        db.collection(FACILITIES)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .where(filter=FieldFilter("nameKey", "==", key))
        .limit(1)
        .get()
    )
    for snapshot in matches:
        return _facility_of(snapshot)
    return None


def _facility_of(snapshot: Any) -> Facility:
    return Facility.model_validate({**snapshot.to_dict(), "id": snapshot.id})


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
    siblings = (
        db.collection(FACILITIES)
        .where(filter=FieldFilter("operatorId", "==", facility.operator_id))
        .get()
    )
    for snapshot in siblings:
        if snapshot.id == facility.id:
            continue
        other = _facility_of(snapshot)
        if name_key(other.id) == facility.name_key:
            raise ValueError(f"the name {facility.name!r} is the id of facility {other.id!r}")
        if other.name_key == name_key(facility.id):
            raise ValueError(f"the id {facility.id!r} is the name of facility {other.id!r}")
        if other.name_key == facility.name_key:
            raise ValueError(f"facility {other.id!r} already has the name {facility.name!r}")
    data = facility.model_dump(by_alias=True, exclude={"id"})
    ref = db.collection(FACILITIES).document(facility.id)
    if create:
        try:
            ref.create(data)
        except AlreadyExists as exc:
            raise FacilityExists(f"a facility with the id {facility.id!r} exists") from exc
    else:
        ref.set(data)
    return facility


def forget_facilities(operator_id: str) -> None:
    """Drop this process's cached facilities of the operator (after a configuration change,
    so this process reads the new settings at once; others within FACILITY_CACHE_SECONDS)."""
    prefix = f"{operator_id}/"
    with _cache_lock:
        for key in [k for k in _cache if k.startswith(prefix)]:
            del _cache[key]


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
