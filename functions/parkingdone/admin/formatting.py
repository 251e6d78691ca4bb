"""How the dashboard shows money and times: decimals with the currency, local times with
their zone (the facility's or the operator's). Pure functions, also used by the CSV export."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

# ISO 4217 currencies without minor units; every other one we handle has two.
ZERO_DECIMAL = frozenset({"JPY", "KRW", "ISK", "CLP", "VND"})
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "SEK": "SEK ", "NOK": "NOK ", "DKK": "DKK "}


def decimal_amount(minor: int | None, currency: str) -> str:
    """12345, EUR -> "123.45"; empty for no amount."""
    if minor is None:
        return ""
    digits = 0 if currency.upper() in ZERO_DECIMAL else 2
    value = Decimal(minor).scaleb(-digits)
    return f"{value:.{digits}f}"


def money(minor: int | None, currency: str | None = "EUR") -> str:
    """For pages: "€123.45" (or "SEK 123.45"); "–" for no amount."""
    if minor is None:
        return "–"
    code = (currency or "EUR").upper()
    symbol = SYMBOLS.get(code, f"{code} ")
    sign = "-" if minor < 0 else ""
    return f"{sign}{symbol}{decimal_amount(abs(minor), code)}"


def local(value: datetime | None, zone: str = "Europe/Helsinki", with_zone: bool = True) -> str:
    """An instant in local time: "2026-03-30 17:23:00 EEST" ("–" for none)."""
    if value is None:
        return "–"
    moment = value.astimezone(ZoneInfo(zone))
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} {moment.tzname()}" if with_zone else text


def local_iso(value: datetime | None, zone: str) -> str:
    """For CSV: ISO 8601 local time with its offset, "2026-03-30T17:23:00+03:00"."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "–"
    minutes = int((end - start).total_seconds() // 60)
    hours, minutes = divmod(max(minutes, 0), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def label(value: str | None) -> str:
    """snake_case status -> "Snake case"."""
    return (value or "–").replace("_", " ").capitalize()


FILTERS = {"money": money, "local": local, "label": label, "duration": duration}
