"""The pure part of facility configuration: what an admin typed, a planned tariff version,
and the fee preview's sample stays (on the demo tariff: 15 min free all-or-nothing,
€3.00 per started hour, at most €20.00 per Helsinki calendar day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devstack import demo_data
from parkingdone import facilities, tariffs
from parkingdone.errors import ApiError

HELSINKI = ZoneInfo("Europe/Helsinki")
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

SETTINGS_FORM = {
    "rate_label": " €2.50 per hour ",
    "driver_notice": "Height limit 2.1 m",
    "rules": "No camping\n\n  Max 7 days  \n",
    "capacity": "250",
    "max_stay_minutes": "4320",
    "enforcement_grace_minutes": "5",
    "geofence": "60.1690, 24.9330\n60.1695; 24.9340\n60.1685, 24.9345",
}


def test_settings_form_is_parsed_into_stored_fields():
    parsed = facilities.settings_from_form(SETTINGS_FORM).stored()
    assert parsed["rateLabel"] == "€2.50 per hour"
    assert parsed["rules"] == ["No camping", "Max 7 days"]
    assert parsed["capacity"] == 250
    assert parsed["enforcementGraceMinutes"] == 5
    assert parsed["geofence"][1] == {"lat": 60.1695, "lng": 24.934}


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("geofence", "60.1, 24.9\n60.2, 24.9", "invalid_settings"),
        ("geofence", "north, east", "invalid_geofence"),
        ("geofence", "91, 24.9\n60.2, 24.9\n60.3, 25", "invalid_settings"),
        ("enforcement_grace_minutes", "-1", "invalid_settings"),
        ("max_stay_minutes", "ten", "invalid_number"),
        ("capacity", "0", "invalid_settings"),
        ("rate_label", "x" * 201, "invalid_settings"),
    ],
)
def test_settings_out_of_bounds_are_refused_with_the_reason(field, value, code):
    with pytest.raises(ApiError) as refused:
        facilities.settings_from_form({**SETTINGS_FORM, field: value})
    assert refused.value.status == 400
    assert refused.value.code == code


def test_difference_keeps_only_what_changed():
    before, after = facilities.difference({"a": 1, "b": [1]}, {"a": 1, "b": [2], "c": 3})
    assert before == {"b": [1], "c": None}
    assert after == {"b": [2], "c": 3}


def _facility(**extra) -> object:
    return demo_data.demo_facility().model_copy(update=extra)


TARIFF_FORM = {
    "valid_from": "2026-07-01T00:00",
    "period_minutes": "60",
    "period_price": "3,50",
    "free_minutes": "15",
    "free_mode": "all_or_nothing",
    "cap_amount": "25.00",
    "cap_window": "calendar_day",
    "exit_grace_minutes": "15",
    "bands": "Night | 1.00 | 22:00-07:00 | 1-5,7",
}


def test_a_new_version_gets_the_next_number_the_facility_zone_and_currency():
    facility = _facility()
    draft = facilities.draft_from_form(TARIFF_FORM, HELSINKI, NOW)
    version = facilities.plan_version(facility, draft, NOW)
    assert version.version == 2
    assert version.valid_from == datetime(2026, 6, 30, 21, 0, tzinfo=UTC)  # local midnight
    assert (version.time_zone, version.currency) == ("Europe/Helsinki", "EUR")
    assert version.period_price == 350 and version.cap.amount == 2500
    assert version.bands[0].days == (1, 2, 3, 4, 5, 7)


def test_the_editor_starts_from_the_version_in_force_and_reproduces_it():
    facility = _facility()
    current = facilities.in_force(facility, NOW)
    form = {**facilities.form_of(current, HELSINKI), "valid_from": "2026-07-01T00:00"}
    version = facilities.plan_version(
        facility, facilities.draft_from_form(form, HELSINKI, NOW), NOW
    )
    stored = current.model_dump(exclude={"version", "valid_from"})
    assert version.model_dump(exclude={"version", "valid_from"}) == stored


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"valid_from": "2026-05-31T12:00"}, "valid_from_in_past"),
        ({"period_price": "abc"}, "invalid_amount"),
        ({"period_price": "1.005"}, "invalid_amount"),
        ({"period_minutes": "0"}, "invalid_tariff"),
        ({"bands": "Night | 1.00"}, "invalid_band"),
        ({"bands": "Night | 1.00 | 25:00-07:00"}, "invalid_tariff"),
        ({"minimum_fee": "10", "maximum_fee": "5"}, "invalid_tariff"),
        ({"free_mode": "sometimes"}, "invalid_tariff"),
    ],
)
def test_a_version_the_engine_cannot_use_is_refused(change, code):
    with pytest.raises(ApiError) as refused:
        draft = facilities.draft_from_form({**TARIFF_FORM, **change}, HELSINKI, NOW)
        facilities.plan_version(_facility(), draft, NOW)
    assert (refused.value.status, refused.value.code) == (400, code)


def test_two_versions_never_start_at_the_same_instant():
    facility = _facility()
    taken = facility.tariffs[0]["validFrom"]
    draft = {**facilities.draft_from_form(TARIFF_FORM, HELSINKI, NOW)}
    draft["validFrom"] = datetime.fromisoformat(taken.replace("Z", "+00:00"))
    with pytest.raises(ApiError) as refused:
        facilities.plan_version(facility, draft, datetime(2025, 12, 1, tzinfo=UTC))
    assert "validFrom must be unique" in refused.value.message


def test_next_daylight_saving_change():
    assert facilities.next_offset_change(NOW, HELSINKI) == datetime(2026, 10, 25, 1, tzinfo=UTC)
    assert facilities.next_offset_change(NOW, ZoneInfo("UTC")) is None


def test_sample_stays_on_the_demo_tariff():
    demo = tariffs.demo_tariff().versions[0]
    version = demo.model_copy(update={"valid_from": NOW, "version": 2})
    samples = {s.label: s for s in facilities.sample_stays(version, demo)}
    totals = {label: s.fee.total for label, s in samples.items()}
    assert totals == {
        "15 min": 0,
        "16 min": 300,
        "2 h 5 min": 900,
        # 18:00-24:00 six hours on the first day, 00:00-08:00 eight (€24.00, capped at €20.00).
        "Overnight 18:00–08:00": 1800 + 2000,
        # 4 real hours on 2026-10-25, 02:00 summer time to 05:00 winter time: 4 periods.
        "4 h across the daylight-saving change": 1200,
    }
    dst = samples["4 h across the daylight-saving change"]
    assert dst.exit_at - dst.entry_at == timedelta(hours=4)
    assert dst.entry_at.astimezone(HELSINKI).hour == 2
    assert dst.exit_at.astimezone(HELSINKI).hour == 5
    assert samples["16 min"].entry_at.astimezone(HELSINKI).hour == 10
    # The comparison column prices the same stays with the version in force now.
    assert all(s.current_fee.total == s.fee.total for s in samples.values())
    assert {s.current_fee.tariff_version for s in samples.values()} == {1}
