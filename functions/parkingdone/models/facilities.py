"""facilities/{facilityId}: one car park of an operator, with its tariff versions."""

from __future__ import annotations

from typing import Any, Self
from zoneinfo import ZoneInfo

from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import BaseModel, Field, model_validator

from parkingdone import settings
from parkingdone.models import cache
from parkingdone.models.base import Document
from parkingdone.timestamps import TimeZoneName

COLLECTION = "facilities"


class LatLng(BaseModel):
    lat: float
    lng: float


class Facility(Document):
    operator_id: str
    name: str
    # Lower-cased display name, so "Kamppi P1" finds the facility by one indexed query.
    name_key: str = ""
    # The facility's one time zone: prices (its tariff versions must name the same zone),
    # officers' summaries and the last day of a pass are all read in it.
    time_zone: TimeZoneName = settings.DEFAULT_TIME_ZONE
    currency: str = settings.DEFAULT_CURRENCY
    # Spaces, where the operator told us; occupancy is shown against it.
    capacity: int | None = None
    # Tariff versions as stored (see parkingdone.tariffs); the one in force at entry applies.
    tariffs: list[dict[str, Any]] = Field(default_factory=list)
    enforcement_grace_minutes: int = settings.ENFORCEMENT_GRACE_MINUTES
    max_stay_minutes: int = settings.MAX_STAY_MINUTES
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


# The dashboard's earlier name for the same model.
FacilityDoc = Facility

# Keys: ("id", facility_id) and ("name", operator_id, name_key).
_loader: cache.Loader[tuple[str, ...], Facility] = cache.Loader()


def name_key(name: str) -> str:
    return " ".join(name.replace("+", " ").split()).casefold()


def ref(db: Client, facility_id: str):
    return db.collection(COLLECTION).document(facility_id)


def get(db: Client, facility_id: str) -> Facility | None:
    """The facility as stored now (uncached)."""
    return Facility.from_snapshot(ref(db, facility_id).get())


def load(db: Client, facility_id: str) -> Facility | None:
    """The facility by id, cached briefly (models/cache.py). `facility_id` must be a valid
    document id (ids.py)."""
    return _loader.get(("id", facility_id), lambda: get(db, facility_id))


def load_by_name(db: Client, operator_id: str, name: str) -> Facility | None:
    """The operator's facility whose display name is `name` (case, spaces and "+" ignored),
    cached briefly."""
    key = name_key(name)
    if not key:
        return None

    def query() -> Facility | None:
        matches = (
            db.collection(COLLECTION)
            .where(filter=FieldFilter("operatorId", "==", operator_id))
            .where(filter=FieldFilter("nameKey", "==", key))
            .limit(1)
            .get()
        )
        for snapshot in matches:
            return Facility.from_snapshot(snapshot)
        return None

    return _loader.get(("name", operator_id, key), query)


def invalidate() -> None:
    """Forget the cached facilities: call after writing one."""
    _loader.invalidate()


def save(db: Client, facility: Facility, create: bool = False) -> None:
    """Write the facility as given (the rules for names are tenants.save_facility's); with
    `create`, only if its id is free (google.api_core's AlreadyExists otherwise)."""
    data = facility.model_dump(by_alias=True, exclude={"id"})
    if create:
        ref(db, facility.id).create(data)
    else:
        ref(db, facility.id).set(data)
    invalidate()


def of_operator(db: Client, operator_id: str, limit: int = 500) -> list[Facility]:
    query = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .limit(limit)
    )
    docs = [d for d in (Facility.from_snapshot(s) for s in query.get()) if d is not None]
    return sorted(docs, key=lambda f: f.name.casefold())
