"""Examples for the tariff engine, most of them on the demo facility Kamppi P1.

Helsinki is UTC+2 in winter and UTC+3 in summer; DST starts 2026-03-29 (03:00 → 04:00
local) and ends 2026-10-25 (04:00 → 03:00 local), both at 01:00 UTC.
"""

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from parkingdone.tariffs import (
    DEMO_FACILITY_ID,
    Band,
    Cap,
    CapWindow,
    Fee,
    FirstPeriod,
    FreeMode,
    FreePeriod,
    LineKind,
    Tariff,
    TariffError,
    TariffVersion,
    compute_fee,
    demo_tariff,
    exit_covered_by_payment,
    select_version,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "tariffs.md"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HELSINKI)


def demo_version(**changes: object) -> TariffVersion:
    """The demo version with some fields replaced, to test one rule at a time."""
    return demo_tariff().versions[0].model_copy(update=changes)


def day_totals(fee: Fee) -> dict[date, int]:
    totals: dict[date, int] = {}
    for line in fee.lines:
        if line.local_day is not None:
            totals[line.local_day] = totals.get(line.local_day, 0) + line.amount
    return totals


# --- The demo tariff --------------------------------------------------------------------


def test_demo_tariff_is_kamppi_p1_version_1() -> None:
    tariff = demo_tariff()
    assert tariff.facility_id == DEMO_FACILITY_ID == "kamppi-p1"
    [v1] = tariff.versions
    assert (v1.version, v1.valid_from, v1.currency) == (1, utc("2026-01-01T00:00"), "EUR")
    assert v1.time_zone == "Europe/Helsinki"


def test_integration_page_example_costs_two_started_hours() -> None:
    fee = compute_fee(demo_tariff(), utc("2026-03-30T14:23"), utc("2026-03-30T16:05"))
    assert fee.total == 600
    assert fee.currency == "EUR"
    assert fee.tariff_version == 1
    [line] = fee.lines
    assert (line.kind, line.quantity, line.unit_price, line.amount) == (
        LineKind.PERIOD,
        2,
        300,
        600,
    )
    assert line.starts_at == utc("2026-03-30T14:23")
    assert line.local_day == date(2026, 3, 30)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(0, 0), (14, 0), (15, 0), (16, 300), (60, 300), (61, 600), (120, 600), (121, 900)],
)
def test_free_quarter_hour_is_all_or_nothing(minutes: int, expected: int) -> None:
    entry = utc("2026-03-30T14:23")
    fee = compute_fee(demo_tariff(), entry, entry + timedelta(minutes=minutes))
    assert fee.total == expected


def test_free_stay_has_a_zero_free_line() -> None:
    entry = utc("2026-03-30T14:23")
    fee = compute_fee(demo_tariff(), entry, entry + timedelta(minutes=15))
    [line] = fee.lines
    assert (line.kind, line.amount, line.starts_at) == (LineKind.FREE, 0, entry)


def test_seconds_count_towards_the_next_period() -> None:
    entry = utc("2026-03-30T14:23")
    fee = compute_fee(demo_tariff(), entry, entry + timedelta(minutes=60, seconds=1))
    assert fee.total == 600


def test_three_day_stay_is_capped_per_local_day() -> None:
    # Periods start at hh:23 UTC = hh:23+3 local; the stay is exactly 72 started hours.
    fee = compute_fee(demo_tariff(), utc("2026-03-30T14:23"), utc("2026-04-02T14:23"))
    assert day_totals(fee) == {
        date(2026, 3, 30): 2000,  # 7 hours from 17:23 local = 2100, capped
        date(2026, 3, 31): 2000,
        date(2026, 4, 1): 2000,
        date(2026, 4, 2): 2000,  # 17 hours from 00:23 local = 5100, capped
    }
    assert fee.total == 8000
    cap_lines = [line for line in fee.lines if line.kind is LineKind.CAP]
    assert [line.amount for line in cap_lines] == [-100, -5200, -5200, -3100]


def test_cap_splits_at_local_midnight_not_utc_midnight() -> None:
    # 22:30 local on Monday to 22:00 local on Tuesday: Monday has two started hours (the
    # one starting 23:30 counts on Monday although it ends on Tuesday); Tuesday is capped.
    fee = compute_fee(demo_tariff(), local("2026-03-30T22:30"), local("2026-03-31T22:00"))
    assert day_totals(fee) == {date(2026, 3, 30): 600, date(2026, 3, 31): 2000}
    assert fee.total == 2600


def test_spring_forward_periods_are_real_hours() -> None:
    # 02:30 to 04:30 on the wall clock is one real hour on 2026-03-29. (Subtracting two
    # datetimes sharing a ZoneInfo gives wall-clock time, so compare in UTC.)
    entry, exit_at = local("2026-03-29T02:30"), local("2026-03-29T04:30")
    assert exit_at.astimezone(UTC) - entry.astimezone(UTC) == timedelta(hours=1)
    assert compute_fee(demo_tariff(), entry, exit_at).total == 300


def test_fall_back_periods_are_real_hours() -> None:
    # 02:30 summer time to 03:30 winter time on 2026-10-25 is two real hours.
    entry = utc("2026-10-24T23:30")  # 02:30 EEST
    exit_at = utc("2026-10-25T01:30")  # 03:30 EET
    assert exit_at.astimezone(HELSINKI).hour == 3
    assert compute_fee(demo_tariff(), entry, exit_at).total == 600


@pytest.mark.parametrize(
    ("day", "entry", "exit_at", "hours"),
    [
        # The local day of 2026-03-29 has 23 real hours, that of 2026-10-25 has 25.
        (date(2026, 3, 29), "2026-03-28T22:00", "2026-03-29T21:00", 23),
        (date(2026, 10, 25), "2026-10-24T21:00", "2026-10-25T22:00", 25),
    ],
)
def test_dst_days_have_their_real_number_of_periods(
    day: date, entry: str, exit_at: str, hours: int
) -> None:
    uncapped = demo_version(cap=None)
    fee = compute_fee(uncapped, utc(entry), utc(exit_at))
    assert fee.total == hours * 300
    assert day_totals(fee) == {day: hours * 300}
    capped = compute_fee(demo_tariff(), utc(entry), utc(exit_at))
    assert day_totals(capped) == {day: 2000}


def test_dst_day_cap_counts_the_period_on_its_local_start_day() -> None:
    # Entry 23:30 local on 2026-10-24; the second period starts 00:30 local on 10-25.
    fee = compute_fee(demo_tariff(), utc("2026-10-24T20:30"), utc("2026-10-24T22:00"))
    assert day_totals(fee) == {date(2026, 10, 24): 300, date(2026, 10, 25): 300}


# --- Refusals ---------------------------------------------------------------------------


def test_naive_times_are_refused() -> None:
    naive = datetime(2026, 3, 30, 14, 23)
    aware = utc("2026-03-30T16:05")
    with pytest.raises(TariffError, match="timezone-aware"):
        compute_fee(demo_tariff(), naive, aware)
    with pytest.raises(TariffError, match="timezone-aware"):
        compute_fee(demo_tariff(), aware - timedelta(hours=3), naive)
    with pytest.raises(TariffError, match="timezone-aware"):
        select_version(demo_tariff().versions, naive)
    with pytest.raises(TariffError, match="timezone-aware"):
        exit_covered_by_payment(demo_version(), naive, aware)


def test_exit_before_entry_is_refused() -> None:
    with pytest.raises(TariffError, match="before entry"):
        compute_fee(demo_tariff(), utc("2026-03-30T16:05"), utc("2026-03-30T14:23"))


def test_other_offsets_are_the_same_instant() -> None:
    entry = datetime(2026, 3, 30, 17, 23, tzinfo=HELSINKI)
    exit_at = datetime(2026, 3, 30, 16, 5, tzinfo=UTC)
    assert compute_fee(demo_tariff(), entry, exit_at).total == 600


# --- Bands ------------------------------------------------------------------------------

NIGHT = Band(name="Night rate", price=100, start=time(22), end=time(7))
WEEKEND = Band(name="Weekend rate", price=200, days=(6, 7))


def banded(*bands: Band) -> TariffVersion:
    return demo_version(cap=None, free_period=None, bands=bands)


def test_night_band_prices_periods_starting_at_night() -> None:
    # Monday 20:30 to Tuesday 08:00 local: starts 20:30, 21:30 day rate; 22:30 ... 06:30
    # night rate (9 periods); 07:30 day rate again.
    fee = compute_fee(banded(NIGHT), local("2026-03-30T20:30"), local("2026-03-31T08:00"))
    summary = [(line.description, line.quantity, line.amount) for line in fee.lines]
    assert summary == [
        ("Parking", 2, 600),
        ("Night rate", 2, 200),  # 22:30 and 23:30 on Monday
        ("Night rate", 7, 700),  # 00:30 ... 06:30 on Tuesday
        ("Parking", 1, 300),
    ]
    assert fee.total == 1800


def test_band_is_chosen_by_the_local_time_the_period_starts() -> None:
    # The period starting 21:59 runs mostly at night but is priced at the day rate.
    fee = compute_fee(banded(NIGHT), local("2026-03-30T21:59"), local("2026-03-30T22:30"))
    assert fee.total == 300


def test_weekend_band_and_first_matching_band_wins() -> None:
    saturday_noon, saturday_night = local("2026-04-04T12:00"), local("2026-04-04T23:00")
    one_hour = timedelta(hours=1)
    weekend_first = banded(WEEKEND, NIGHT)
    night_first = banded(NIGHT, WEEKEND)
    assert compute_fee(weekend_first, saturday_noon, saturday_noon + one_hour).total == 200
    assert compute_fee(weekend_first, saturday_night, saturday_night + one_hour).total == 200
    assert compute_fee(night_first, saturday_night, saturday_night + one_hour).total == 100
    monday = local("2026-04-06T12:00")
    assert compute_fee(weekend_first, monday, monday + one_hour).total == 300


def test_night_band_on_the_spring_forward_night() -> None:
    # 01:30 local, then the clock jumps: the next period starts 03:30 real = 04:30 local.
    entry = local("2026-03-29T01:30").astimezone(UTC)  # add real hours, not wall-clock
    fee = compute_fee(banded(NIGHT), entry, entry + timedelta(hours=6))
    # Starts 01:30, 02:30, 04:30, 05:30, 06:30 night; 07:30 day.
    assert fee.total == 5 * 100 + 300


# --- Caps, free period variants, first period, session limits ---------------------------


def test_rolling_24h_cap_counts_windows_from_entry() -> None:
    rolling = demo_version(cap=Cap(amount=2000, window=CapWindow.ROLLING_24H))
    entry = utc("2026-03-30T14:23")
    fee = compute_fee(rolling, entry, entry + timedelta(hours=30))
    caps = [line for line in fee.lines if line.kind is LineKind.CAP]
    assert [(line.amount, line.starts_at) for line in caps] == [(-5200, entry)]
    assert fee.total == 2000 + 6 * 300
    # The calendar-day cap would split the same stay differently.
    assert compute_fee(demo_tariff(), entry, entry + timedelta(hours=30)).total == 4000


def test_deductible_free_period_is_never_charged() -> None:
    deductible = demo_version(free_period=FreePeriod(minutes=15, mode=FreeMode.DEDUCTIBLE))
    entry = utc("2026-03-30T14:23")
    for minutes, expected in [(15, 0), (16, 300), (75, 300), (76, 600)]:
        fee = compute_fee(deductible, entry, entry + timedelta(minutes=minutes))
        assert fee.total == expected, minutes
        assert fee.lines[0].kind is LineKind.FREE
    # The same 75 minutes with the demo's all-or-nothing free period: two started hours.
    assert compute_fee(demo_tariff(), entry, entry + timedelta(minutes=75)).total == 600


def test_special_first_period() -> None:
    first = demo_version(free_period=None, first_period=FirstPeriod(minutes=30, price=100))
    entry = utc("2026-03-30T08:00")
    totals = [
        compute_fee(first, entry, entry + timedelta(minutes=m)).total for m in (20, 30, 31, 91)
    ]
    assert totals == [100, 100, 400, 700]
    fee = compute_fee(first, entry, entry + timedelta(minutes=91))
    assert [line.kind for line in fee.lines] == [LineKind.FIRST_PERIOD, LineKind.PERIOD]
    assert fee.lines[1].starts_at == entry + timedelta(minutes=30)


def test_session_minimum_tops_up_a_charged_stay_only() -> None:
    with_minimum = demo_version(period_price=100, minimum_fee=500)
    entry = utc("2026-03-30T08:00")
    fee = compute_fee(with_minimum, entry, entry + timedelta(minutes=30))
    assert fee.total == 500
    assert (fee.lines[-1].kind, fee.lines[-1].amount) == (LineKind.MINIMUM, 400)
    # Within the all-or-nothing free period nothing is charged, not even the minimum.
    assert compute_fee(with_minimum, entry, entry + timedelta(minutes=10)).total == 0


def test_session_maximum_reduces_after_the_daily_cap() -> None:
    with_maximum = demo_version(maximum_fee=3000)
    fee = compute_fee(with_maximum, utc("2026-03-30T14:23"), utc("2026-04-02T14:23"))
    assert fee.total == 3000
    assert (fee.lines[-1].kind, fee.lines[-1].amount) == (LineKind.MAXIMUM, -5000)


def test_exit_grace_after_in_app_payment() -> None:
    version = demo_version(exit_grace_minutes=15)
    paid = utc("2026-03-30T16:00")
    assert exit_covered_by_payment(version, paid, paid - timedelta(minutes=5))
    assert exit_covered_by_payment(version, paid, paid + timedelta(minutes=15))
    assert not exit_covered_by_payment(version, paid, paid + timedelta(minutes=15, seconds=1))
    assert not exit_covered_by_payment(
        demo_version(exit_grace_minutes=0), paid, paid + timedelta(seconds=1)
    )


# --- Versions ---------------------------------------------------------------------------


def two_version_tariff() -> Tariff:
    v1 = demo_version()
    v2 = demo_version(version=2, valid_from=utc("2026-06-01T00:00"), period_price=400)
    return Tariff(facility_id=DEMO_FACILITY_ID, versions=(v2, v1))


def test_version_in_force_at_entry_prices_the_whole_stay() -> None:
    tariff = two_version_tariff()
    assert select_version(tariff.versions, utc("2026-05-31T23:59")).version == 1
    assert select_version(tariff.versions, utc("2026-06-01T00:00")).version == 2
    # Entered under version 1, left under version 2: all of it at version 1 prices.
    fee = compute_fee(tariff, utc("2026-05-31T23:00"), utc("2026-06-01T01:00"))
    assert (fee.tariff_version, fee.total) == (1, 600)
    fee = compute_fee(tariff, utc("2026-06-01T00:00"), utc("2026-06-01T01:00"))
    assert (fee.tariff_version, fee.total) == (2, 400)


def test_no_version_in_force_is_an_error() -> None:
    with pytest.raises(TariffError, match="no tariff version"):
        compute_fee(demo_tariff(), utc("2025-12-31T23:00"), utc("2026-01-01T01:00"))


def test_explicit_version() -> None:
    tariff = two_version_tariff()
    entry = utc("2026-07-01T08:00")
    assert compute_fee(tariff, entry, entry + timedelta(hours=1), version=1).total == 300
    with pytest.raises(TariffError, match="no tariff version 3"):
        compute_fee(tariff, entry, entry + timedelta(hours=1), version=3)
    v2 = tariff.get_version(2)
    assert compute_fee(v2, entry, entry + timedelta(hours=1)).total == 400
    with pytest.raises(TariffError, match="asked for version 1"):
        compute_fee(v2, entry, entry + timedelta(hours=1), version=1)


# --- Validation and JSON ----------------------------------------------------------------


def full_tariff() -> Tariff:
    """A tariff that uses every feature, for round-trip tests."""
    return Tariff(
        facility_id="test-facility",
        versions=(
            demo_version(
                free_period=FreePeriod(minutes=10, mode=FreeMode.DEDUCTIBLE),
                first_period=FirstPeriod(minutes=30, price=150),
                period_minutes=20,
                bands=(NIGHT, WEEKEND),
                cap=Cap(amount=1500, window=CapWindow.ROLLING_24H),
                minimum_fee=200,
                maximum_fee=10_000,
            ),
        ),
    )


@pytest.mark.parametrize("tariff", [demo_tariff(), full_tariff()], ids=["demo", "full"])
def test_tariff_json_round_trip(tariff: Tariff) -> None:
    stored = json.loads(json.dumps(tariff.model_dump(by_alias=True, mode="json")))
    assert Tariff.model_validate(stored) == tariff
    assert stored["facilityId"] == tariff.facility_id
    assert "validFrom" in stored["versions"][0]


def test_fee_json_round_trip() -> None:
    fee = compute_fee(full_tariff(), utc("2026-04-03T20:00"), utc("2026-04-06T09:10"))
    stored = json.loads(json.dumps(fee.model_dump(by_alias=True, mode="json")))
    assert stored["tariffVersion"] == 1
    assert {"unitPrice", "startsAt", "localDay"} <= set(stored["lines"][1])
    assert Fee.model_validate(stored) == fee


def test_fee_refuses_lines_that_do_not_sum_to_the_total() -> None:
    fee = compute_fee(demo_tariff(), utc("2026-03-30T14:23"), utc("2026-03-30T16:05"))
    stored = fee.model_dump(by_alias=True, mode="json")
    stored["total"] = 500
    with pytest.raises(ValidationError, match="do not sum"):
        Fee.model_validate(stored)


def test_snake_case_names_are_accepted_too() -> None:
    version = TariffVersion.model_validate(
        {
            "version": 1,
            "valid_from": "2026-01-01T00:00:00Z",
            "currency": "EUR",
            "time_zone": "Europe/Helsinki",
            "period_price": 300,
        }
    )
    assert version.period_minutes == 60


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timeZone": "Europe/Atlantis"}, "unknown time zone"),
        ({"currency": "eur"}, "pattern"),
        ({"validFrom": "2026-01-01T00:00:00"}, "timezone"),
        ({"periodMinutes": 0}, "greater than 0"),
        ({"periodPrice": -1}, "greater than or equal to 0"),
        ({"minimumFee": 500, "maximumFee": 400}, "minimumFee is above maximumFee"),
        ({"bands": [{"name": "Night", "price": 1, "days": []}]}, "at least one weekday"),
        ({"bands": [{"name": "Night", "price": 1, "days": [0]}]}, "greater than or equal to 1"),
        ({"unknownField": 1}, "Extra inputs"),
    ],
)
def test_invalid_versions_are_rejected(change: dict[str, object], message: str) -> None:
    data = demo_version().model_dump(by_alias=True, mode="json") | change
    with pytest.raises(ValidationError, match=message):
        TariffVersion.model_validate(data)


def test_ambiguous_versions_are_rejected() -> None:
    v1 = demo_version()
    with pytest.raises(ValidationError, match="version numbers must be unique"):
        Tariff(
            facility_id="x",
            versions=(v1, v1.model_copy(update={"valid_from": utc("2027-01-01T00:00")})),
        )
    with pytest.raises(ValidationError, match="validFrom must be unique"):
        Tariff(facility_id="x", versions=(v1, v1.model_copy(update={"version": 2})))


def test_docs_examples_are_what_the_code_does() -> None:
    text = DOCS.read_text(encoding="utf-8")
    demo_block = re.search(r"<!-- demo-tariff -->\s*```json\n(.*?)```", text, re.DOTALL)
    assert demo_block, "docs/tariffs.md has no demo tariff JSON block"
    assert Tariff.model_validate(json.loads(demo_block.group(1))) == demo_tariff()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]
    assert len(blocks) == 3
    midnight_stay = compute_fee(demo_tariff(), utc("2026-03-30T19:30"), utc("2026-03-31T19:00"))
    assert Fee.model_validate(blocks[1]) == midnight_stay
    TariffVersion.model_validate(blocks[2])
