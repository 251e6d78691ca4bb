"""The canonical entry/exit event: the webhook body of the integration page, validated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from parkingdone import plates
from parkingdone.timestamps import IsoTimestamp

# Cameras' clocks drift; an event a little in the future is believable, more is a bug.
FUTURE_TOLERANCE = timedelta(minutes=5)


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
