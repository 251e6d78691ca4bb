"""Timestamps callers send: ISO 8601 strings with an offset, nothing else; and the one check
of a time zone name (IANA, as zoneinfo knows it).

The integration page promises ISO 8601 with an offset; pydantic alone would also take
numbers (as Unix time), numeric strings and instants that overflow once converted to UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, PlainValidator
from pydantic_core import PydanticCustomError

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


def known_zone(value: str) -> str:
    """`value` if it names a time zone zoneinfo knows ("Europe/Helsinki"), else ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


# A field holding a time zone name: facilities, tariff versions, adapters, onboarding.
TimeZoneName = Annotated[str, AfterValidator(known_zone)]
