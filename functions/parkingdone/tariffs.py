"""The tariff engine: what a parking stay costs. Pure: no I/O, no Firebase.

A facility's `Tariff` holds numbered `TariffVersion`s; the version in force at entry prices
the whole stay (`select_version`). `compute_fee` turns one stay into a `Fee` whose lines
sum exactly to its total. Modelled on the OCPI 2.2 tariff module; docs/tariffs.md explains
every field with the demo tariff as example.

Time rules, in one place:
- periods are measured in real elapsed time from entry (a DST change does not lengthen or
  shorten a period);
- the facility's local time only decides which band prices a period and on which local
  day it counts, both read at the local time the period STARTS;
- naive datetimes are refused; stored datetimes are UTC.

Money is integer minor units (cents) of the version's ISO 4217 currency.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import groupby
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from parkingdone import messages
from parkingdone.timestamps import TimeZoneName

__all__ = [
    "DEMO_FACILITY_ID",
    "Band",
    "Cap",
    "CapWindow",
    "Fee",
    "FeeLine",
    "FirstPeriod",
    "FreeMode",
    "FreePeriod",
    "LineKind",
    "Tariff",
    "TariffError",
    "TariffVersion",
    "compute_fee",
    "demo_tariff",
    "exit_covered_by_payment",
    "select_version",
]

DEMO_FACILITY_ID = "kamppi-p1"

_DAY = timedelta(hours=24)
_ALL_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)

Money = Annotated[int, Field(ge=0)]
"""An amount in minor units (cents); never negative in a tariff."""

Minutes = Annotated[int, Field(gt=0)]


class TariffError(ValueError):
    """A stay or a tariff that cannot be priced: naive time, exit before entry, no version."""


class _Model(BaseModel):
    # Stored in Firestore as JSON with camelCase keys; Python code uses snake_case names.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class FreeMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    """A stay within the free period costs nothing; a longer one is charged from entry."""
    DEDUCTIBLE = "deductible"
    """The first minutes of every stay are never charged; charging starts after them."""


class FreePeriod(_Model):
    minutes: Minutes
    mode: FreeMode = FreeMode.ALL_OR_NOTHING

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.minutes)


class FirstPeriod(_Model):
    """A special first charged period with its own length and price (e.g. first 30 min €1)."""

    minutes: Minutes
    price: Money


class Band(_Model):
    """A price per period for periods starting in a local time-of-day window on some weekdays.

    `start` is inclusive and `end` exclusive; `end` before `start` wraps past midnight
    (22:00-07:00), and `start == end` means the whole day. `days` are ISO weekdays
    (1 = Monday ... 7 = Sunday) of the local date on which the period starts.
    """

    name: str = Field(min_length=1)
    price: Money
    start: time = time(0, 0)
    end: time = time(0, 0)
    days: tuple[Annotated[int, Field(ge=1, le=7)], ...] = _ALL_WEEKDAYS

    @field_validator("start", "end")
    @classmethod
    def _naive_wall_clock(cls, value: time) -> time:
        # A band is local wall-clock time in the facility's zone, never an offset.
        if value.tzinfo is not None:
            raise ValueError("band times are local wall-clock times without an offset")
        return value

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("a band needs at least one weekday")
        return tuple(sorted(set(value)))

    def applies_at(self, local: datetime) -> bool:
        """Whether a period starting at this local wall-clock time is priced by this band."""
        if local.isoweekday() not in self.days:
            return False
        clock = local.time()
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


class CapWindow(StrEnum):
    CALENDAR_DAY = "calendar_day"
    """Each local calendar day; a period counts on the local day on which it starts."""
    ROLLING_24H = "rolling_24h"
    """Consecutive 24 h windows from entry; a period counts in the window in which it starts."""


class Cap(_Model):
    amount: Money
    window: CapWindow = CapWindow.CALENDAR_DAY


class TariffVersion(_Model):
    """One version of a facility's tariff; everything needed to price a stay."""

    version: int = Field(ge=1)
    valid_from: AwareDatetime
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    time_zone: TimeZoneName
    period_minutes: Minutes = 60
    period_price: Money
    """Price per started period when no band applies."""
    free_period: FreePeriod | None = None
    first_period: FirstPeriod | None = None
    bands: tuple[Band, ...] = ()
    """Checked in order; the first band that applies prices the period."""
    cap: Cap | None = None
    minimum_fee: Money | None = None
    maximum_fee: Money | None = None
    """Session minimum and maximum, applied after the cap to a stay that is charged."""
    exit_grace_minutes: Annotated[int, Field(ge=0)] = 0
    """How long after an in-app payment the driver may still leave without paying more."""

    @model_validator(mode="after")
    def _minimum_not_above_maximum(self) -> Self:
        if (
            self.minimum_fee is not None
            and self.maximum_fee is not None
            and self.minimum_fee > self.maximum_fee
        ):
            raise ValueError("minimumFee is above maximumFee")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Tariff(_Model):
    """All versions of one facility's tariff."""

    facility_id: str = Field(min_length=1)
    versions: tuple[TariffVersion, ...] = Field(min_length=1)

    @field_validator("versions")
    @classmethod
    def _unambiguous(cls, value: tuple[TariffVersion, ...]) -> tuple[TariffVersion, ...]:
        # Two versions with the same number or start would make the price depend on order.
        if len({v.version for v in value}) != len(value):
            raise ValueError("version numbers must be unique")
        if len({v.valid_from for v in value}) != len(value):
            raise ValueError("validFrom must be unique across versions")
        return tuple(sorted(value, key=lambda v: v.valid_from))

    def get_version(self, number: int) -> TariffVersion:
        for candidate in self.versions:
            if candidate.version == number:
                return candidate
        raise TariffError(f"facility {self.facility_id} has no tariff version {number}")


class LineKind(StrEnum):
    FREE = "free"
    FIRST_PERIOD = "first_period"
    PERIOD = "period"
    CAP = "cap"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"


class FeeLine(_Model):
    """One receipt line. Period lines group consecutive periods with the same price.

    `description` is English; `text_key` and `text_values` name the same text in the
    catalogue (messages.py) so a receipt can be written in the driver's language. A band's
    line has no key: its name is the operator's own wording.
    """

    kind: LineKind
    description: str
    text_key: str | None = None
    text_values: dict[str, str | int] = Field(default_factory=dict)
    amount: int
    """Minor units; negative for a cap or maximum reduction."""
    quantity: int | None = None
    unit_price: int | None = None
    starts_at: AwareDatetime | None = None
    """UTC start of the first period in the line, or of the cap window."""
    local_day: date | None = None
    """The facility-local day the line counts on (for the calendar-day cap)."""


class Fee(_Model):
    total: Money
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tariff_version: int
    lines: tuple[FeeLine, ...] = ()

    @model_validator(mode="after")
    def _lines_sum_to_total(self) -> Self:
        if sum(line.amount for line in self.lines) != self.total:
            raise ValueError("fee lines do not sum to the total")
        return self


# --- Version selection ------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise TariffError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def select_version(versions: Sequence[TariffVersion], entry_at: datetime) -> TariffVersion:
    """The version in force at entry: the latest `valid_from` not after `entry_at`."""
    entry_at = _require_aware(entry_at, "entry_at")
    in_force = [v for v in versions if v.valid_from <= entry_at]
    if not in_force:
        raise TariffError(f"no tariff version in force at {entry_at.isoformat()}")
    return max(in_force, key=lambda v: (v.valid_from, v.version))


def _resolve_version(
    tariff: Tariff | TariffVersion, entry_at: datetime, number: int | None
) -> TariffVersion:
    if isinstance(tariff, TariffVersion):
        if number is not None and number != tariff.version:
            raise TariffError(f"asked for version {number} but was given {tariff.version}")
        return tariff
    if number is not None:
        return tariff.get_version(number)
    return select_version(tariff.versions, entry_at)


# --- Fee computation --------------------------------------------------------------------


_Bucket = date | int
"""The cap window a period counts in: its local start day, or its 24 h window index."""


@dataclass(frozen=True, slots=True)
class _Label:
    """A line's text: English, and its catalogue key with the facts it needs (None for a
    band's own name)."""

    description: str
    key: str | None = None
    values: tuple[tuple[str, str | int], ...] = ()

    def fields(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "text_key": self.key,
            "text_values": dict(self.values),
        }


def _label(key: str, **values: str | int) -> _Label:
    return _Label(messages.text(key, "en", **values), key, tuple(sorted(values.items())))


@dataclass(frozen=True, slots=True)
class _Period:
    """One started, charged period before caps."""

    kind: LineKind
    label: _Label
    price: int
    starts_at: datetime
    local_day: date
    cap_bucket: _Bucket


def _bucket_of(period: _Period) -> _Bucket:
    return period.cap_bucket


def _line_of(period: _Period) -> tuple[LineKind, _Label, int, date]:
    """Consecutive periods with the same key share one receipt line."""
    return (period.kind, period.label, period.price, period.local_day)


def _periods(version: TariffVersion, entry_at: datetime, exit_at: datetime) -> Iterator[_Period]:
    """Every started charged period of the stay, in order, with its price."""
    charge_from = entry_at
    free = version.free_period
    if free is not None and free.mode is FreeMode.DEDUCTIBLE:
        charge_from = entry_at + free.duration

    def period(kind: LineKind, label: _Label, price: int, start: datetime) -> _Period:
        local_day = start.astimezone(version.zone).date()
        if version.cap is not None and version.cap.window is CapWindow.ROLLING_24H:
            bucket: _Bucket = (start - entry_at) // _DAY
        else:
            bucket = local_day
        return _Period(kind, label, price, start, local_day, bucket)

    start = charge_from
    first = version.first_period
    if first is not None and start < exit_at:
        label = _label("receipt.first_period", minutes=first.minutes)
        yield period(LineKind.FIRST_PERIOD, label, first.price, start)
        start += timedelta(minutes=first.minutes)

    step = timedelta(minutes=version.period_minutes)
    while start < exit_at:
        local = start.astimezone(version.zone)
        band = next((b for b in version.bands if b.applies_at(local)), None)
        if band is None:
            yield period(LineKind.PERIOD, _label("receipt.parking"), version.period_price, start)
        else:
            yield period(LineKind.PERIOD, _Label(band.name), band.price, start)
        start += step


def _cap_line(version: TariffVersion, entry_at: datetime, bucket: _Bucket, spent: int) -> FeeLine:
    """The negative line that brings one cap window down to the cap."""
    if version.cap is None:
        raise TariffError(f"version {version.version} has no cap to apply")
    reduction = version.cap.amount - spent
    if isinstance(bucket, date):
        return FeeLine(
            kind=LineKind.CAP,
            **_label("receipt.daily_maximum", day=bucket.isoformat()).fields(),
            amount=reduction,
            local_day=bucket,
        )
    return FeeLine(
        kind=LineKind.CAP,
        **_label("receipt.rolling_maximum", day=bucket + 1).fields(),
        amount=reduction,
        starts_at=entry_at + bucket * _DAY,
    )


def _period_lines(version: TariffVersion, entry_at: datetime, exit_at: datetime) -> list[FeeLine]:
    """Period lines grouped by price and cap window, each window followed by its cap line."""
    lines: list[FeeLine] = []
    for bucket, in_bucket in groupby(_periods(version, entry_at, exit_at), key=_bucket_of):
        spent = 0
        for _, same in groupby(in_bucket, key=_line_of):
            run = list(same)
            head = run[0]
            lines.append(
                FeeLine(
                    kind=head.kind,
                    **head.label.fields(),
                    amount=head.price * len(run),
                    quantity=len(run),
                    unit_price=head.price,
                    starts_at=head.starts_at,
                    local_day=head.local_day,
                )
            )
            spent += head.price * len(run)
        if version.cap is not None and spent > version.cap.amount:
            lines.append(_cap_line(version, entry_at, bucket, spent))
    return lines


def _session_limit_line(version: TariffVersion, subtotal: int) -> FeeLine | None:
    """A top-up to the session minimum or a reduction to the session maximum, if needed."""
    if version.minimum_fee is not None and subtotal < version.minimum_fee:
        return FeeLine(
            kind=LineKind.MINIMUM,
            **_label("receipt.minimum").fields(),
            amount=version.minimum_fee - subtotal,
        )
    if version.maximum_fee is not None and subtotal > version.maximum_fee:
        return FeeLine(
            kind=LineKind.MAXIMUM,
            **_label("receipt.maximum").fields(),
            amount=version.maximum_fee - subtotal,
        )
    return None


def compute_fee(
    tariff: Tariff | TariffVersion,
    entry_at: datetime,
    exit_at: datetime,
    *,
    version: int | None = None,
) -> Fee:
    """The fee for a stay from `entry_at` to `exit_at`.

    With a `Tariff`, the version in force at entry prices the stay unless `version` names
    one explicitly (e.g. to reproduce an old receipt).
    """
    entry_at = _require_aware(entry_at, "entry_at")
    exit_at = _require_aware(exit_at, "exit_at")
    if exit_at < entry_at:
        raise TariffError(f"exit {exit_at.isoformat()} is before entry {entry_at.isoformat()}")
    chosen = _resolve_version(tariff, entry_at, version)
    stay = exit_at - entry_at

    lines: list[FeeLine] = []
    free = chosen.free_period
    if free is not None and (stay <= free.duration or free.mode is FreeMode.DEDUCTIBLE):
        # All-or-nothing grants the free minutes only to a stay within them; deductible
        # grants them to every stay (_periods then starts charging after them).
        lines.append(
            FeeLine(
                kind=LineKind.FREE,
                **_label("receipt.free", minutes=free.minutes).fields(),
                amount=0,
                starts_at=entry_at,
            )
        )
    if free is None or stay > free.duration:
        period_lines = _period_lines(chosen, entry_at, exit_at)
        lines.extend(period_lines)
        # Session minimum and maximum apply only to a stay that is charged at all.
        if period_lines:
            limit = _session_limit_line(chosen, sum(line.amount for line in period_lines))
            if limit is not None:
                lines.append(limit)

    return Fee(
        total=sum(line.amount for line in lines),
        currency=chosen.currency,
        tariff_version=chosen.version,
        lines=tuple(lines),
    )


def exit_covered_by_payment(version: TariffVersion, paid_at: datetime, exit_at: datetime) -> bool:
    """Whether an exit at `exit_at` is covered by an in-app payment made at `paid_at`.

    The payment covers the stay up to `paid_at` plus the version's exit grace; a later
    exit owes the difference between the fee at exit and what was paid.
    """
    paid_at = _require_aware(paid_at, "paid_at")
    exit_at = _require_aware(exit_at, "exit_at")
    return exit_at <= paid_at + timedelta(minutes=version.exit_grace_minutes)


# --- The demo facility ------------------------------------------------------------------


def demo_tariff() -> Tariff:
    """Kamppi P1: 15 min free (all or nothing), €3.00 per started hour, €20.00 a local day."""
    return Tariff(
        facility_id=DEMO_FACILITY_ID,
        versions=(
            TariffVersion(
                version=1,
                valid_from=datetime(2026, 1, 1, tzinfo=UTC),
                currency="EUR",
                time_zone="Europe/Helsinki",
                free_period=FreePeriod(minutes=15, mode=FreeMode.ALL_OR_NOTHING),
                period_minutes=60,
                period_price=300,
                cap=Cap(amount=2000, window=CapWindow.CALENDAR_DAY),
                exit_grace_minutes=15,
            ),
        ),
    )
