"""The canonical entry/exit event: the webhook body of the integration page, validated."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, PlainValidator, field_validator
from pydantic_core import PydanticCustomError

from parkingdone import plates

# Cameras' clocks drift; an event a little in the future is believable, more is a bug.
FUTURE_TOLERANCE = timedelta(minutes=5)
# A calendar date, "T" (or a space), a time: what ISO 8601 looks like before the offset.
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|z|[+-].+)?")


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 date and time with an offset ("2026-03-30T14:23:00Z"), in UTC.

    Numbers, numeric strings and other shapes are refused as error type "timestamp_format"
    (the webhook's `invalid_timestamp` code); a time without an offset as "timezone_aware"
    (`naive_timestamp`), since we cannot know which zone's wall clock it is. Instants that
    do not fit the calendar once converted to UTC (year 1 at +14:00) are refused too.
    """
    if not isinstance(value, str) or not _ISO_DATETIME.fullmatch(value.strip()):
        raise _format_error(
            "timestamp must be an ISO 8601 date and time with an offset, "
            "e.g. 2026-03-30T14:23:00Z or 2026-03-30T17:23:00+03:00"
        )
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError as exc:
        raise _format_error(f"timestamp {text!r} is not a valid date and time") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError(
            "timezone_aware",
            "timestamp must carry an offset (Z or ±hh:mm): {value}",
            {"value": text},
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise _format_error(f"timestamp {text!r} is out of range") from exc


def _format_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("timestamp_format", message)


# A field holding such a timestamp: `timestamp: IsoTimestamp`.
IsoTimestamp = Annotated[datetime, PlainValidator(parse_timestamp)]


class CanonicalEvent(BaseModel):
    """POST /webhook body. Unknown extra fields are ignored (operators add their own)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event: Literal["entry", "exit"]
    plate: str = Field(min_length=1, max_length=40)
    facility_id: str = Field(min_length=1, max_length=200)
    timestamp: IsoTimestamp
    image_url: HttpUrl | None = Field(default=None)
    event_id: str | None = Field(default=None, min_length=1, max_length=200)
    country: str | None = Field(default=None, min_length=1, max_length=3, pattern=r"^[A-Za-z]+$")

    @field_validator("plate")
    @classmethod
    def _plate_is_plate(cls, value: str) -> str:
        plates.normalise(value)  # raises InvalidPlate (a ValueError) with a clear message
        return value

    @field_validator("image_url")
    @classmethod
    def _http_only(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and (value.scheme not in ("http", "https") or len(str(value)) > 2048):
            raise ValueError("image_url must be an http or https URL of at most 2048 characters")
        return value

    @field_validator("timestamp")
    @classmethod
    def _not_in_future(cls, value: datetime) -> datetime:
        if value - datetime.now(UTC) > FUTURE_TOLERANCE:
            raise ValueError("timestamp is more than 5 minutes in the future")
        return value.astimezone(UTC)

    @property
    def normalised_plate(self) -> str:
        return plates.normalise(self.plate)

    @property
    def country_code(self) -> str | None:
        return self.country.upper() if self.country else None
