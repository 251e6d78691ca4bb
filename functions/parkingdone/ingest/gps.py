"""GPS entry/exit from the driver app, for facilities without ANPR.

The callable `gpsEvent` takes {facilityId, action: enter|exit, latitude, longitude,
accuracy, timestamp, plate[, eventId]} from a signed-in driver. The server checks that the
plate is the driver's, that the point lies within the facility's geofence allowing for the
reported accuracy, and debounces flapping at the boundary: an exit within FLAP_WINDOW of
the entry, or an entry within FLAP_WINDOW of the last exit, is not applied and the answer
says when to send it again if the phone still sees the same side of the fence. Accepted
events go through the same inbox and session machine as the webhook, with source "gps".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from firebase_functions import logger
from pydantic import Field, field_validator

from parkingdone import errors, firebase, plates, tenants
from parkingdone.callable_api import Caller, Input, handler, parse
from parkingdone.ids import DocumentId
from parkingdone.ingest import inbox
from parkingdone.ingest.models import FUTURE_TOLERANCE
from parkingdone.models import facilities, plate_owners
from parkingdone.sessions import machine, store
from parkingdone.timestamps import IsoTimestamp

FLAP_WINDOW = timedelta(seconds=60)
MAX_ACCURACY_M = 150.0
MAX_AGE = timedelta(hours=24)


class GpsEvent(Input):
    facility_id: DocumentId
    action: Literal["enter", "exit"]
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy: float = Field(gt=0, le=10_000)
    timestamp: IsoTimestamp
    plate: str = Field(min_length=1, max_length=40)
    event_id: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("timestamp")
    @classmethod
    def _recent(cls, value: datetime) -> datetime:
        now = datetime.now(UTC)
        if value - now > FUTURE_TOLERANCE:
            raise ValueError("timestamp is more than 5 minutes in the future")
        if now - value > MAX_AGE:
            raise ValueError("timestamp is more than 24 hours old")
        return value.astimezone(UTC)


# --- geometry (pure) ---------------------------------------------------------------------

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LNG_EQ = 111_320.0


def _project(lat: float, lng: float, lat0: float, lng0: float) -> tuple[float, float]:
    """Local metres east/north of (lat0, lng0); exact enough for a car park's size."""
    return (
        (lng - lng0) * _M_PER_DEG_LNG_EQ * math.cos(math.radians(lat0)),
        (lat - lat0) * _M_PER_DEG_LAT,
    )


def inside(lat: float, lng: float, polygon: list[tuple[float, float]]) -> bool:
    """Ray casting; polygon as [(lat, lng), ...], closed implicitly."""
    result = False
    n = len(polygon)
    for i in range(n):
        (y1, x1), (y2, x2) = polygon[i], polygon[(i + 1) % n]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lng < x_cross:
                result = not result
    return result


def distance_to_edge(lat: float, lng: float, polygon: list[tuple[float, float]]) -> float:
    """Metres from the point to the polygon's boundary."""
    best = math.inf
    points = [_project(a, b, lat, lng) for a, b in polygon]
    for i in range(len(points)):
        (x1, y1), (x2, y2) = points[i], points[(i + 1) % len(points)]
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / length2))
        best = min(best, math.hypot(x1 + t * dx, y1 + t * dy))
    return best


def plausible(action: str, lat: float, lng: float, accuracy: float, polygon) -> bool:
    """Could the phone be on the side of the fence the action claims, given its accuracy?"""
    is_inside = inside(lat, lng, polygon)
    if (action == "enter") == is_inside:
        return True
    return distance_to_edge(lat, lng, polygon) <= accuracy


# --- the callable ------------------------------------------------------------------------


def _flapping(db, facility: tenants.Facility, gps: GpsEvent, plate: str) -> float | None:
    """Seconds until the event should be sent again if it is boundary flapping, else None."""
    if gps.action == "exit":
        track = store.read_track(db, facility.id, plate)
        stay = track.open_stay()
        entry = track.event(stay.entry) if stay is not None else None
        if entry is not None:
            since = gps.timestamp - entry.at
            if timedelta(0) <= since < FLAP_WINDOW:
                return (FLAP_WINDOW - since).total_seconds()
        return None
    recent = store.recent_exit(db, facility.id, plate, gps.timestamp, FLAP_WINDOW)
    if recent is None:
        return None
    since = gps.timestamp - recent[1]
    return (FLAP_WINDOW - since).total_seconds() if timedelta(0) <= since < FLAP_WINDOW else None


@handler
def handle(caller: Caller, data: Any) -> dict[str, Any]:
    uid = caller.uid
    gps = parse(GpsEvent, data)
    try:
        plate = plates.normalise(gps.plate)
    except plates.InvalidPlate as exc:
        raise errors.bad_request(f"Invalid plate {gps.plate!r}: {exc}", "invalid_plate") from exc
    db = firebase.db()
    owner = plate_owners.ref(db, plate).get()
    if not owner.exists or owner.get("uid") != uid:
        raise errors.forbidden("This plate is not registered to your account", "not_your_vehicle")
    facility = facilities.load(db, gps.facility_id)
    if facility is None:
        raise errors.not_found(f"Unknown facility {gps.facility_id!r}", "unknown_facility")
    if len(facility.geofence) < 3:
        raise errors.not_now("This facility has no GPS geofence", "no_geofence")
    if gps.accuracy > MAX_ACCURACY_M:
        raise errors.not_now(
            f"Location accuracy {gps.accuracy:.0f} m is too low (at most {MAX_ACCURACY_M:.0f} m)",
            "low_accuracy",
        )
    polygon = [(p.lat, p.lng) for p in facility.geofence]
    if not plausible(gps.action, gps.latitude, gps.longitude, gps.accuracy, polygon):
        where = "outside" if gps.action == "enter" else "inside"
        raise errors.not_now(f"The location is {where} the facility's area", "outside_area")
    log = {"operatorId": facility.operator_id, "facilityId": facility.id, "uid": uid}
    wait = _flapping(db, facility, gps, plate)
    if wait is not None:
        logger.info("gps.debounced", **log, action=gps.action)
        return {"status": "debounced", "outcome": "debounced", "retryAfterSeconds": wait}

    kind: machine.EventKind = "entry" if gps.action == "enter" else "exit"
    external = f"{uid}:{gps.event_id}" if gps.event_id else None
    key = inbox.event_key(
        facility.operator_id, facility.id, kind, plate, gps.timestamp, external, source="gps"
    )
    event = machine.Event(
        kind=kind,
        at=gps.timestamp,
        plate=plate,
        plate_raw=gps.plate,
        event_id=key,
        source="gps",
        country=(owner.to_dict() or {}).get("country"),
    )
    record = inbox.record_of(
        event,
        facility,
        uid=uid,
        location={"lat": gps.latitude, "lng": gps.longitude, "accuracy": gps.accuracy},
        receivedAt=datetime.now(UTC),
    )
    result = inbox.process(db, facility, event, record)
    return result.body()
