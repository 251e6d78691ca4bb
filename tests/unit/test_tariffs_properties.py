"""Properties of the tariff engine over generated tariffs and stays (hypothesis).

Stays are drawn around DST changes as well as ordinary days, in zones with one-hour and
half-hour (Lord Howe) DST shifts.
"""

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from parkingdone.tariffs import (
    Band,
    Cap,
    CapWindow,
    Fee,
    FirstPeriod,
    FreeMode,
    FreePeriod,
    LineKind,
    TariffVersion,
    compute_fee,
    demo_tariff,
)

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)

ZONES = ["Europe/Helsinki", "America/New_York", "Australia/Lord_Howe", "UTC"]
# Instants near DST changes (Helsinki, New York, Lord Howe) and one ordinary day.
ANCHORS = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 4, 4, 15, tzinfo=UTC),
    datetime(2026, 6, 17, 12, tzinfo=UTC),
]

prices = st.integers(min_value=0, max_value=1000)
clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))

bands = st.builds(
    Band,
    name=st.sampled_from(["Night", "Weekend", "Peak"]),
    price=prices,
    start=clock_times,
    end=clock_times,
    days=st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True).map(tuple),
)


@st.composite
def versions(draw: st.DrawFn) -> TariffVersion:
    minimum = draw(st.none() | st.integers(0, 2000))
    maximum = draw(st.none() | st.integers(minimum or 0, 20_000))
    return TariffVersion(
        version=1,
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
        currency="EUR",
        time_zone=draw(st.sampled_from(ZONES)),
        period_minutes=draw(st.sampled_from([1, 15, 20, 30, 60, 90])),
        period_price=draw(prices),
        free_period=draw(
            st.none()
            | st.builds(FreePeriod, minutes=st.integers(1, 90), mode=st.sampled_from(FreeMode))
        ),
        first_period=draw(
            st.none() | st.builds(FirstPeriod, minutes=st.integers(1, 180), price=prices)
        ),
        bands=tuple(draw(st.lists(bands, max_size=3))),
        cap=draw(
            st.none()
            | st.builds(Cap, amount=st.integers(0, 5000), window=st.sampled_from(CapWindow))
        ),
        minimum_fee=minimum,
        maximum_fee=maximum,
    )


entries = st.builds(
    lambda anchor, offset: anchor + timedelta(minutes=offset),
    st.sampled_from(ANCHORS),
    st.integers(-36 * 60, 12 * 60),
)
stays = st.integers(min_value=0, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m))


def is_charged(fee: Fee) -> bool:
    return any(line.kind in (LineKind.FIRST_PERIOD, LineKind.PERIOD) for line in fee.lines)


@PROPERTY_SETTINGS
@given(versions(), entries, stays, st.integers(min_value=1, max_value=6 * 60))
def test_fee_never_decreases_as_exit_moves_later(
    version: TariffVersion, entry: datetime, stay: timedelta, later_by: int
) -> None:
    exit_at = entry + stay
    earlier = compute_fee(version, entry, exit_at)
    later = compute_fee(version, entry, exit_at + timedelta(minutes=later_by))
    assert later.total >= earlier.total


@PROPERTY_SETTINGS
@given(versions(), entries, stays)
def test_lines_sum_to_total_in_the_tariff_currency(
    version: TariffVersion, entry: datetime, stay: timedelta
) -> None:
    fee = compute_fee(version, entry, entry + stay)
    assert sum(line.amount for line in fee.lines) == fee.total
    assert fee.total >= 0
    assert (fee.currency, fee.tariff_version) == ("EUR", 1)


@PROPERTY_SETTINGS
@given(versions(), entries, stays, st.integers(0, 5000))
def test_calendar_day_cap_holds_for_every_local_day(
    version: TariffVersion, entry: datetime, stay: timedelta, cap: int
) -> None:
    version = version.model_copy(update={"cap": Cap(amount=cap, window=CapWindow.CALENDAR_DAY)})
    fee = compute_fee(version, entry, entry + stay)
    per_day: dict[date, int] = {}
    for line in fee.lines:
        if line.local_day is not None:
            per_day[line.local_day] = per_day.get(line.local_day, 0) + line.amount
    assert all(amount <= cap for amount in per_day.values())
    # Every period line is attributed to the local day its first period starts on.
    for line in fee.lines:
        if line.kind in (LineKind.FIRST_PERIOD, LineKind.PERIOD):
            assert line.starts_at is not None
            assert line.local_day == line.starts_at.astimezone(version.zone).date()


@PROPERTY_SETTINGS
@given(versions(), entries, stays, st.integers(0, 5000))
def test_rolling_cap_holds_for_every_24h_window_from_entry(
    version: TariffVersion, entry: datetime, stay: timedelta, cap: int
) -> None:
    version = version.model_copy(update={"cap": Cap(amount=cap, window=CapWindow.ROLLING_24H)})
    fee = compute_fee(version, entry, entry + stay)
    per_window: dict[int, int] = {}
    for line in fee.lines:
        if line.kind in (LineKind.FIRST_PERIOD, LineKind.PERIOD, LineKind.CAP):
            assert line.starts_at is not None
            window = (line.starts_at - entry) // timedelta(hours=24)
            per_window[window] = per_window.get(window, 0) + line.amount
    assert all(amount <= cap for amount in per_window.values())


@PROPERTY_SETTINGS
@given(versions(), entries, st.integers(1, 90), st.integers(0, 90))
def test_all_or_nothing_free_period_is_free(
    version: TariffVersion, entry: datetime, free_minutes: int, stay_minutes: int
) -> None:
    free = FreePeriod(minutes=free_minutes, mode=FreeMode.ALL_OR_NOTHING)
    version = version.model_copy(update={"free_period": free})
    fee = compute_fee(version, entry, entry + timedelta(minutes=min(stay_minutes, free_minutes)))
    assert fee.total == 0
    assert [line.kind for line in fee.lines] == [LineKind.FREE]


@PROPERTY_SETTINGS
@given(versions(), entries, stays)
def test_charged_total_is_within_session_minimum_and_maximum(
    version: TariffVersion, entry: datetime, stay: timedelta
) -> None:
    fee = compute_fee(version, entry, entry + stay)
    if is_charged(fee):
        assert version.minimum_fee is None or fee.total >= version.minimum_fee
        assert version.maximum_fee is None or fee.total <= version.maximum_fee
    else:
        assert fee.total == 0


@PROPERTY_SETTINGS
@given(entries, stays)
def test_demo_tariff_matches_its_plain_words(entry: datetime, stay: timedelta) -> None:
    # An independent statement of the demo rule: started hours from entry at 300, at most
    # 2000 per Helsinki day on which an hour starts, nothing for 15 minutes or less.
    tariff = demo_tariff()
    fee = compute_fee(tariff, entry, entry + stay)
    if stay <= timedelta(minutes=15):
        assert fee.total == 0
        return
    zone = tariff.versions[0].zone
    hours = -(-stay // timedelta(hours=1))
    per_day: dict[date, int] = {}
    for n in range(hours):
        day = (entry + timedelta(hours=n)).astimezone(zone).date()
        per_day[day] = per_day.get(day, 0) + 300
    assert fee.total == sum(min(amount, 2000) for amount in per_day.values())


@PROPERTY_SETTINGS
@given(versions(), entries, stays)
def test_fee_round_trips_through_json(
    version: TariffVersion, entry: datetime, stay: timedelta
) -> None:
    fee = compute_fee(version, entry, entry + stay)
    assert Fee.model_validate(fee.model_dump(by_alias=True, mode="json")) == fee
    assert TariffVersion.model_validate(version.model_dump(by_alias=True, mode="json")) == version
