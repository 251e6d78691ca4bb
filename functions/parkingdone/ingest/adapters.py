"""Operator payload formats: configuration, not code.

A webhook credential's `adapter` dict says how that operator's JSON maps onto the canonical
event. None means the operator sends the canonical format itself. See
docs/onboarding-operator.md for a worked example.

    {
      "type": "mapping",
      "fields": {"event": "data.direction", "plate": "data.vehicle.plate",
                 "facility_id": "site.code", "timestamp": "data.ts",
                 "image_url": "data.images[0].url", "event_id": "id"},
      "events": {"IN": "entry", "OUT": "exit"},
      "facilities": {"GATE-7": "kamppi-p1"},
      "timestamp_format": "epoch_ms",
      "constants": {"country": "FI"}
    }
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from parkingdone.timestamps import TimeZoneName

CANONICAL_FIELDS = (
    "event",
    "plate",
    "facility_id",
    "timestamp",
    "image_url",
    "event_id",
    "country",
)
REQUIRED_FIELDS = ("event", "plate", "facility_id", "timestamp")
_PATH = re.compile(r"^[A-Za-z0-9_\-$@]+(\[\d+\])*(\.[A-Za-z0-9_\-$@]+(\[\d+\])*)*$")
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class AdapterError(ValueError):
    """The payload does not fit the operator's configured format (a 400 for the caller)."""


class MappingAdapter(BaseModel):
    """A field-mapping adapter: paths into the operator's JSON plus value translations."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["mapping"] = "mapping"
    # Canonical field -> dotted path with optional [index] steps, e.g. "data.images[0].url".
    fields: dict[str, str]
    # The operator's event names -> "entry" | "exit" (case-insensitive match).
    events: dict[str, Literal["entry", "exit"]] = Field(default_factory=dict)
    # The operator's facility codes -> our facility ids or names.
    facilities: dict[str, str] = Field(default_factory=dict)
    # "iso" (ISO 8601), "epoch_ms", "epoch_s", or a strptime pattern such as
    # "%d.%m.%Y %H:%M:%S".
    timestamp_format: str = "iso"
    # The zone of timestamps that carry no offset (only used for such formats).
    timezone: TimeZoneName | None = None
    # Fixed values for canonical fields the operator never sends (e.g. country).
    constants: dict[str, str] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(CANONICAL_FIELDS)
        if unknown:
            raise ValueError(f"unknown canonical fields: {sorted(unknown)}")
        bad = [path for path in value.values() if not _PATH.match(path)]
        if bad:
            raise ValueError(f"malformed field paths: {bad}")
        return value

    @model_validator(mode="after")
    def _required_covered(self) -> MappingAdapter:
        missing = [f for f in REQUIRED_FIELDS if f not in self.fields and f not in self.constants]
        if missing:
            raise ValueError(f"no path or constant for required fields: {missing}")
        if self.timestamp_format not in ("iso", "epoch_ms", "epoch_s") and "%" not in (
            self.timestamp_format
        ):
            raise ValueError(
                "timestamp_format must be iso, epoch_ms, epoch_s or a strptime pattern"
            )
        return self

    def to_canonical(self, payload: Any) -> dict[str, Any]:
        """The canonical body for `payload`; validation of values is CanonicalEvent's job."""
        out: dict[str, Any] = dict(self.constants)
        for name, path in self.fields.items():
            value = extract(payload, path)
            if value is not None:
                out[name] = value
        missing = [f for f in REQUIRED_FIELDS if out.get(f) in (None, "")]
        if missing:
            paths = {f: self.fields.get(f, "(constant)") for f in missing}
            raise AdapterError(f"missing fields in the operator payload: {paths}")
        out["event"] = self._event_name(out["event"])
        if "facility_id" in out and str(out["facility_id"]) in self.facilities:
            out["facility_id"] = self.facilities[str(out["facility_id"])]
        out["timestamp"] = self._timestamp(out["timestamp"])
        for name in ("plate", "facility_id", "event_id", "country"):
            if name in out and isinstance(out[name], int | float):
                out[name] = str(out[name])
        return out

    def _event_name(self, value: Any) -> Any:
        if not self.events:
            return value
        by_name = {k.casefold(): v for k, v in self.events.items()}
        key = str(value).casefold()
        if key not in by_name:
            raise AdapterError(f"unknown event type {value!r}; known: {sorted(self.events)}")
        return by_name[key]

    def _timestamp(self, value: Any) -> Any:
        fmt = self.timestamp_format
        try:
            if fmt in ("epoch_ms", "epoch_s"):
                if isinstance(value, bool) or not isinstance(value, int | float | str):
                    raise AdapterError("timestamp must be a number")
                seconds = float(value) / (1000 if fmt == "epoch_ms" else 1)
                return datetime.fromtimestamp(seconds, UTC).isoformat()
            if fmt == "iso":
                if self.timezone and isinstance(value, str):
                    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                    return self._localise(parsed).isoformat()
                return value  # CanonicalEvent parses ISO and rejects naive values
            return self._localise(datetime.strptime(str(value), fmt)).isoformat()
        except (ValueError, OverflowError, OSError) as exc:
            raise AdapterError(f"timestamp {value!r} does not match format {fmt!r}") from exc

    def _localise(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            return value
        if self.timezone is None:
            # Left naive on purpose: the canonical validation answers 400 for it.
            return value
        return value.replace(tzinfo=ZoneInfo(self.timezone))


def extract(payload: Any, path: str) -> Any:
    """The value at a dotted path like "data.images[0].url", or None when absent."""
    current = payload
    for name, index in _SEGMENT.findall(path):
        if name:
            if not isinstance(current, dict) or name not in current:
                return None
            current = current[name]
        else:
            position = int(index)
            if not isinstance(current, list) or position >= len(current):
                return None
            current = current[position]
    return current


def load(config: dict[str, Any] | None) -> MappingAdapter | None:
    """The adapter of a credential; raises pydantic.ValidationError for a broken config."""
    if not config:
        return None
    return MappingAdapter.model_validate(config)


def to_canonical(config: dict[str, Any] | None, payload: Any) -> Any:
    adapter = load(config)
    return payload if adapter is None else adapter.to_canonical(payload)
