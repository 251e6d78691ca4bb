"""Configuring a facility: its settings for drivers and officers, new facilities, and new
tariff versions with a fee preview.

The pure part (parsing and checking what an operator typed, planning a tariff version,
pricing sample stays) is apart from the three writes (`update_settings`,
`create_facility`, `add_tariff_version`), each one transaction that leaves nothing
half-written. After a write the facility cache of this process is cleared; other
processes see the change within `models/cache.py` TTL_SECONDS.

A tariff version is never edited: a price change is a new version from a chosen time not
in the past, so every stored fee stays reproducible with the version that priced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from parkingdone import errors, ids, tariffs, tenants
from parkingdone.models import facilities as facility_docs

MAX_RULES = 20
MAX_RULE_LENGTH = 300
MAX_GEOFENCE_POINTS = 100
MAX_STAY_LIMIT_MINUTES = 90 * 24 * 60
MAX_GRACE_MINUTES = 240
MAX_CAPACITY = 100_000
# Sample stays of the fee preview start at this local time (a weekday morning).
PREVIEW_START = time(10, 0)


# --- Settings drivers and officers read -----------------------------------------------------


class FacilitySettings(BaseModel):
    """What an operator admin may change on a facility page (field names as stored)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    rate_label: str = Field(default="", max_length=200)
    driver_notice: str = Field(default="", max_length=1000)
    rules: list[str] = Field(default_factory=list, max_length=MAX_RULES)
    capacity: int | None = Field(default=None, ge=1, le=MAX_CAPACITY)
    max_stay_minutes: int = Field(ge=15, le=MAX_STAY_LIMIT_MINUTES)
    enforcement_grace_minutes: int = Field(ge=0, le=MAX_GRACE_MINUTES)
    geofence: list[tenants.LatLng] = Field(default_factory=list, max_length=MAX_GEOFENCE_POINTS)

    @field_validator("rules")
    @classmethod
    def _short_rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            if len(rule) > MAX_RULE_LENGTH:
                raise ValueError(f"a rule is at most {MAX_RULE_LENGTH} characters")
        return value

    @field_validator("geofence")
    @classmethod
    def _polygon(cls, value: list[tenants.LatLng]) -> list[tenants.LatLng]:
        if value and len(value) < 3:
            raise ValueError("a geofence needs at least 3 corners (or none)")
        for point in value:
            if not (-90 <= point.lat <= 90 and -180 <= point.lng <= 180):
                raise ValueError(f"{point.lat}, {point.lng} is not a latitude, longitude")
        return value

    @classmethod
    def of(cls, facility: tenants.Facility) -> FacilitySettings:
        return cls.model_validate(facility.model_dump(include=set(cls.model_fields)))

    def stored(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


def invalid(exc: ValidationError | ValueError, code: str) -> errors.ApiError:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        return errors.bad_request(f"{where}: {message}" if where else message, code)
    return errors.bad_request(str(exc), code)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _integer(form: Mapping[str, str], name: str, label: str, default: int | None = None) -> Any:
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f"{label} must be a whole number", "invalid_number") from None


def parse_geofence(text: str | None) -> list[dict[str, float]]:
    """One corner a line, "latitude, longitude" (WGS84), in order around the area."""
    points = []
    for number, line in enumerate(_lines(text), start=1):
        parts = [p.strip() for p in line.replace(";", ",").split(",")]
        try:
            lat, lng = (float(p) for p in parts)
        except ValueError:
            raise errors.bad_request(
                f"Geofence line {number}: write latitude, longitude (e.g. 60.1690, 24.9330)",
                "invalid_geofence",
            ) from None
        points.append({"lat": lat, "lng": lng})
    return points


def settings_from_form(form: Mapping[str, str]) -> FacilitySettings:
    """The settings an admin submitted; 400 with the reason for anything out of bounds."""
    data = {
        "rate_label": (form.get("rate_label") or "").strip(),
        "driver_notice": (form.get("driver_notice") or "").strip(),
        "rules": _lines(form.get("rules")),
        "capacity": _integer(form, "capacity", "Capacity"),
        "max_stay_minutes": _integer(form, "max_stay_minutes", "Maximum stay"),
        "enforcement_grace_minutes": _integer(
            form, "enforcement_grace_minutes", "Enforcement grace"
        ),
        "geofence": parse_geofence(form.get("geofence")),
    }
    try:
        return FacilitySettings.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, "invalid_settings") from exc


def difference(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that change, before and after (the audit log's record)."""
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


@dataclass(frozen=True)
class Change:
    target: str
    before: dict[str, Any]
    after: dict[str, Any]
    # Plates whose enforcement answer was rebuilt with the new settings.
    reanswered: int = 0


# The enforcement projection of each plate is built with these (its grace and how long it is
# kept): a change rebuilds the facility's current plates, so officers' answers change at once.
ENFORCEMENT_FIELDS = ("enforcementGraceMinutes", "maxStayMinutes")


def _facility_ref(db: Client, facility_id: str) -> Any:
    if not ids.is_valid(facility_id):
        raise errors.not_found("No such facility")
    return facility_docs.ref(db, facility_id)


def _owned(snapshot: Any, operator_id: str) -> tenants.Facility:
    """The facility if it is the operator's; 404 otherwise (another tenant's is unknown)."""
    if not snapshot.exists or (snapshot.to_dict() or {}).get("operatorId") != operator_id:
        raise errors.not_found("No such facility")
    return tenants.Facility.model_validate({**snapshot.to_dict(), "id": snapshot.id})


def update_settings(
    db: Client, operator_id: str, facility_id: str, new: FacilitySettings
) -> Change:
    """Store the settings; only the fields that changed are written."""
    ref = _facility_ref(db, facility_id)

    @firestore.transactional
    def write(transaction: Transaction) -> Change:
        facility = _owned(ref.get(transaction=transaction), operator_id)
        before, after = difference(FacilitySettings.of(facility).stored(), new.stored())
        if after:
            transaction.update(ref, after)
        return Change(f"facilities/{facility_id}", before, after)

    change = write(db.transaction())
    tenants.clear_cache()
    if any(field in change.after for field in ENFORCEMENT_FIELDS):
        count = reanswer_plates(db, operator_id, facility_id)
        change = Change(change.target, change.before, change.after, count)
    return change


def reanswer_plates(db: Client, operator_id: str, facility_id: str) -> int:
    """Rebuild the enforcement answer of every plate the facility currently has one for (the
    projection holds current plates only, not history); returns how many."""
    from parkingdone.enforcement import store

    query = (
        db.collection(store.PLATE_STATUS)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .where(filter=FieldFilter("facilityId", "==", facility_id))
        .select(["plate"])
    )
    plates = sorted({(s.to_dict() or {}).get("plate") for s in query.stream()} - {None})
    for plate in plates:
        store.rebuild(db, operator_id, facility_id, plate)
    return len(plates)


# --- New facilities ------------------------------------------------------------------------


class NewFacility(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ids.DocumentId
    name: str = Field(min_length=1, max_length=100)
    time_zone: str


def create_facility(
    db: Client, operator: tenants.Operator, new: NewFacility, settings: FacilitySettings
) -> Change:
    """A new facility of the operator, in the operator's currency; refused (409) when the
    id is taken and (400) when its name would clash with another facility's id or name."""
    try:
        facility = tenants.Facility(
            id=new.id,
            operator_id=operator.id,
            name=new.name.strip(),
            time_zone=new.time_zone,
            currency=operator.currency,
            **settings.model_dump(),
        )
        saved = tenants.save_facility(db, facility, create=True)
    except tenants.FacilityExists as exc:
        raise errors.conflict(str(exc), "facility_exists") from exc
    except ValidationError as exc:
        raise invalid(exc, "invalid_facility") from exc
    except ValueError as exc:
        raise errors.bad_request(str(exc), "invalid_facility") from exc
    tenants.clear_cache()
    after = saved.model_dump(by_alias=True, mode="json", exclude={"tariffs", "name_key"})
    return Change(f"facilities/{saved.id}", {}, after)


# --- Tariff versions -------------------------------------------------------------------------


def minor_units(text: str | None, label: str, required: bool = False) -> int | None:
    """ "3", "3.00" or "3,5" (a decimal amount) -> minor units; None for an empty field."""
    raw = (text or "").strip().replace(",", ".").replace("€", "").strip()
    if not raw:
        if required:
            raise errors.bad_request(f"{label} is required", "invalid_amount")
        return None
    try:
        cents = Decimal(raw) * 100
    except InvalidOperation:
        raise errors.bad_request(
            f"{label} must be an amount, e.g. 3.00", "invalid_amount"
        ) from None
    if cents != cents.to_integral_value() or cents < 0:
        raise errors.bad_request(f"{label} must be a positive amount in cents", "invalid_amount")
    return int(cents)


def parse_bands(text: str | None) -> list[dict[str, Any]]:
    """One band a line: `name | price | HH:MM-HH:MM | days` (days optional: "1-5", "6,7")."""
    bands = []
    for number, line in enumerate(_lines(text), start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) not in (3, 4):
            raise errors.bad_request(
                f"Band line {number}: write name | price | 22:00-07:00 | days", "invalid_band"
            )
        start, _, end = parts[2].partition("-")
        band: dict[str, Any] = {
            "name": parts[0],
            "price": minor_units(parts[1], f"Band {number} price", required=True),
            "start": start.strip(),
            "end": end.strip(),
        }
        if len(parts) == 4 and parts[3]:
            band["days"] = _days(parts[3], number)
        bands.append(band)
    return bands


def _days(text: str, number: int) -> list[int]:
    days: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            days.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise errors.bad_request(
            f"Band line {number}: days are ISO weekdays 1-7, e.g. 1-5 or 6,7", "invalid_band"
        ) from None
    return days


def draft_from_form(form: Mapping[str, str], zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The version an admin typed, as stored fields (without number, zone and currency).

    `valid_from` is wall-clock time in the facility's zone; empty means now.
    """
    raw_from = (form.get("valid_from") or "").strip()
    if raw_from:
        try:
            valid_from = datetime.fromisoformat(raw_from)
        except ValueError:
            raise errors.bad_request("Valid from must be a date and time", "invalid_time") from None
        if valid_from.tzinfo is None:
            valid_from = valid_from.replace(tzinfo=zone)
    else:
        valid_from = now
    draft: dict[str, Any] = {
        "validFrom": valid_from.astimezone(UTC),
        "periodMinutes": _integer(form, "period_minutes", "Period length", 60),
        "periodPrice": minor_units(form.get("period_price"), "Period price", required=True),
        "bands": parse_bands(form.get("bands")),
        "exitGraceMinutes": _integer(form, "exit_grace_minutes", "Exit grace", 0),
        "minimumFee": minor_units(form.get("minimum_fee"), "Minimum fee"),
        "maximumFee": minor_units(form.get("maximum_fee"), "Maximum fee"),
    }
    free_minutes = _integer(form, "free_minutes", "Free period")
    if free_minutes:
        draft["freePeriod"] = {
            "minutes": free_minutes,
            "mode": form.get("free_mode") or "all_or_nothing",
        }
    first_minutes = _integer(form, "first_minutes", "First period length")
    if first_minutes:
        price = minor_units(form.get("first_price"), "First period price", required=True)
        draft["firstPeriod"] = {"minutes": first_minutes, "price": price}
    cap = minor_units(form.get("cap_amount"), "Cap")
    if cap is not None:
        draft["cap"] = {"amount": cap, "window": form.get("cap_window") or "calendar_day"}
    return draft


def form_of(version: tariffs.TariffVersion | None, zone: ZoneInfo) -> dict[str, str]:
    """A version's fields as the editor's form shows them (the editor starts from the
    version in force, so a change is one edit)."""
    if version is None:
        return {"period_minutes": "60", "free_mode": "all_or_nothing", "cap_window": "calendar_day"}

    def amount(value: int | None) -> str:
        return "" if value is None else f"{Decimal(value) / 100:.2f}"

    def band_line(band: tariffs.Band) -> str:
        days = ",".join(str(d) for d in band.days)
        return f"{band.name} | {amount(band.price)} | {band.start:%H:%M}-{band.end:%H:%M} | {days}"

    return {
        "period_minutes": str(version.period_minutes),
        "period_price": amount(version.period_price),
        "free_minutes": str(version.free_period.minutes) if version.free_period else "",
        "free_mode": str(version.free_period.mode) if version.free_period else "all_or_nothing",
        "first_minutes": str(version.first_period.minutes) if version.first_period else "",
        "first_price": amount(version.first_period.price) if version.first_period else "",
        "cap_amount": amount(version.cap.amount) if version.cap else "",
        "cap_window": str(version.cap.window) if version.cap else "calendar_day",
        "minimum_fee": amount(version.minimum_fee),
        "maximum_fee": amount(version.maximum_fee),
        "exit_grace_minutes": str(version.exit_grace_minutes),
        "bands": "\n".join(band_line(b) for b in version.bands),
    }


def versions_of(facility: tenants.Facility) -> list[tariffs.TariffVersion]:
    """The facility's versions, oldest first."""
    found = [tariffs.TariffVersion.model_validate(v) for v in facility.tariffs]
    return sorted(found, key=lambda v: (v.valid_from, v.version))


def in_force(facility: tenants.Facility, at: datetime) -> tariffs.TariffVersion | None:
    try:
        return tariffs.select_version(versions_of(facility), at)
    except tariffs.TariffError:
        return None


def plan_version(
    facility: tenants.Facility, draft: dict[str, Any], now: datetime
) -> tariffs.TariffVersion:
    """The next version of the facility's tariff, checked by the tariff engine against the
    versions it already has: the next number, the facility's one zone and currency, a start
    not in the past (a stay already priced keeps its version) and not shared with another."""
    existing = versions_of(facility)
    number = max((v.version for v in existing), default=0) + 1
    try:
        version = tariffs.TariffVersion.model_validate(
            {
                **draft,
                "version": number,
                "timeZone": facility.time_zone,
                "currency": facility.currency,
            }
        )
    except ValidationError as exc:
        raise invalid(exc, "invalid_tariff") from exc
    if version.valid_from < now.replace(microsecond=0) - timedelta(seconds=1):
        raise errors.bad_request(
            "A new version starts now or later: stays already priced keep their version",
            "valid_from_in_past",
        )
    try:
        tariffs.Tariff(facility_id=facility.id, versions=(*existing, version))
        tenants.Facility.model_validate(
            {
                **facility.model_dump(),
                "tariffs": [*facility.tariffs, version.model_dump(by_alias=True, mode="json")],
            }
        )
    except ValidationError as exc:
        raise invalid(exc, "invalid_tariff") from exc
    return version


def add_tariff_version(
    db: Client, operator_id: str, facility_id: str, draft: dict[str, Any], now: datetime
) -> tuple[tariffs.TariffVersion, Change]:
    """Append a version in one transaction; the stored versions are copied unchanged."""
    ref = _facility_ref(db, facility_id)

    @firestore.transactional
    def write(transaction: Transaction) -> tariffs.TariffVersion:
        facility = _owned(ref.get(transaction=transaction), operator_id)
        version = plan_version(facility, draft, now)
        stored = version.model_dump(by_alias=True, mode="json")
        transaction.update(ref, {"tariffs": [*facility.tariffs, stored]})
        return version

    version = write(db.transaction())
    tenants.clear_cache()
    after = version.model_dump(by_alias=True, mode="json")
    return version, Change(f"facilities/{facility_id}/tariffs/{version.version}", {}, after)


@dataclass(frozen=True)
class SampleStay:
    label: str
    entry_at: datetime
    exit_at: datetime
    fee: tariffs.Fee
    current_fee: tariffs.Fee | None


def _next_local(start: datetime, zone: ZoneInfo, at: time) -> datetime:
    local = start.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(UTC)


def next_offset_change(start: datetime, zone: ZoneInfo, within_days: int = 400) -> datetime | None:
    """The first instant after `start` at which the zone's UTC offset changes (a DST
    change), to the hour; None if there is none within `within_days`."""
    hour = timedelta(hours=1)
    probe = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    offset = probe.astimezone(zone).utcoffset()
    day = timedelta(days=1)
    for _ in range(within_days):
        later = probe + day
        if later.astimezone(zone).utcoffset() != offset:
            while probe.astimezone(zone).utcoffset() == offset:
                probe += hour
            return probe
        probe = later
    return None


def sample_stays(
    version: tariffs.TariffVersion, current: tariffs.TariffVersion | None = None
) -> list[SampleStay]:
    """What typical stays cost under `version` (and under `current`, for comparison): 15 min,
    16 min, 2 h 5 min from a 10:00 start, overnight 18:00 to 08:00, and 4 hours across the
    next daylight-saving change of the facility's zone (when it has one)."""
    zone = version.zone
    morning = _next_local(version.valid_from, zone, PREVIEW_START)
    evening = _next_local(version.valid_from, zone, time(18, 0))
    next_morning = _next_local(evening, zone, time(8, 0))
    stays = [
        ("15 min", morning, morning + timedelta(minutes=15)),
        ("16 min", morning, morning + timedelta(minutes=16)),
        ("2 h 5 min", morning, morning + timedelta(hours=2, minutes=5)),
        ("Overnight 18:00–08:00", evening, next_morning),
    ]
    change = next_offset_change(version.valid_from, zone)
    if change is not None:
        stays.append(
            (
                "4 h across the daylight-saving change",
                change - timedelta(hours=2),
                change + timedelta(hours=2),
            )
        )
    samples = []
    for label, entry_at, exit_at in stays:
        fee = tariffs.compute_fee(version, entry_at, exit_at)
        before = tariffs.compute_fee(current, entry_at, exit_at) if current else None
        samples.append(SampleStay(label, entry_at, exit_at, fee, before))
    return samples
