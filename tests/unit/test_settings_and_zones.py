"""One time zone per facility, settings defaults, passes to the end of the local day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from parkingdone import settings, tariffs, tenants
from parkingdone.payments.models import PassProduct
from parkingdone.payments.passes import validity

HELSINKI = ZoneInfo("Europe/Helsinki")


def version_in(zone: str) -> dict:
    demo = tariffs.demo_tariff().versions[0]
    return {**demo.model_dump(by_alias=True, mode="json"), "timeZone": zone}


def test_a_facility_and_its_tariff_versions_share_one_time_zone():
    facility = tenants.Facility(
        id="f", operator_id="op", name="F", tariffs=[version_in("Europe/Helsinki")]
    )
    assert facility.zone == HELSINKI
    with pytest.raises(ValidationError, match="one time zone"):
        tenants.Facility(id="f", operator_id="op", name="F", tariffs=[version_in("Europe/Oslo")])
    with pytest.raises(ValidationError, match="unknown time zone"):
        tenants.Facility(id="f", operator_id="op", name="F", time_zone="Europe/Atlantis")


def test_defaults_come_from_the_settings_module():
    operator = tenants.Operator(id="op", name="Op")
    assert (operator.vat_rate_bps, operator.platform_fee_bps) == (2550, 500)
    assert operator.vat_rate_bps == settings.VAT_RATE_BPS
    assert tenants.Facility(id="f", operator_id="op", name="F").time_zone == "Europe/Helsinki"
    assert timedelta(days=730) == settings.CHECK_LOG_RETENTION


def product(days: int) -> PassProduct:
    return PassProduct(
        operator_id="op", facility_id="f", name="P", validity_days=days, price=100, currency="EUR"
    )


def test_a_weekly_pass_ends_at_local_midnight():
    start = datetime(2026, 3, 23, 12, 0, tzinfo=UTC)  # Monday 14:00 in Helsinki (EET)
    valid_from, valid_until = validity(product(7), start, HELSINKI)
    assert valid_from == start
    # Monday 30 March ends at 24:00 EEST (summer time began on the 29th): 21:00 UTC.
    assert valid_until == datetime(2026, 3, 30, 21, 0, tzinfo=UTC)


@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=1, max_value=400),
    zone=st.sampled_from(["Europe/Helsinki", "Europe/Stockholm", "America/New_York", "UTC"]),
)
def test_pass_validity_is_whole_local_days_never_shorter_than_promised(start, days, zone):
    tz = ZoneInfo(zone)
    valid_from, valid_until = validity(product(days), start, tz)
    local_end = valid_until.astimezone(tz)
    assert (local_end.hour, local_end.minute, local_end.second) == (0, 0, 0)
    assert local_end.date() == start.astimezone(tz).date() + timedelta(days=days + 1)
    assert valid_until - valid_from >= timedelta(days=days) - timedelta(hours=1)
    assert valid_until - valid_from <= timedelta(days=days + 1, hours=1)
