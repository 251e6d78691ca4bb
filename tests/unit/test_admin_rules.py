"""The admin dashboard's pure rules: portals, sign-in throttling, CSRF tokens, plate
look-alikes, CSV cells, money and time display, correction refusals, the timeline order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkingdone import tariffs
from parkingdone.admin import (
    auth,
    csv_export,
    formatting,
    kpis,
    portal,
    queries,
    throttle,
    timeline,
)
from parkingdone.models.enforcement_checks import CheckDoc
from parkingdone.models.facilities import FacilityDoc
from parkingdone.models.sessions import SessionDoc
from parkingdone.sessions import corrections

T0 = datetime(2026, 3, 30, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/admin", ("/admin", "/", None)),
        ("/admin/", ("/admin", "/", None)),
        ("/admin/sessions", ("/admin", "/sessions", None)),
        ("/admin/o/demo", ("/admin/o/demo", "/", "demo")),
        ("/admin/o/demo/sessions/s_1", ("/admin/o/demo", "/sessions/s_1", "demo")),
        ("/api/health", None),
        ("/administrator", None),
    ],
)
def test_portal_paths(path, expected):
    assert portal.split_path(path) == expected


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("demo.parkingdone.com", "demo"),
        ("other.parkingdone.test:5000", "other"),
        ("www.parkingdone.com", None),
        ("127.0.0.1:5001", None),
        ("demo.evil.com", None),
        ("a.b.parkingdone.com", None),
    ],
)
def test_portal_from_host(host, slug):
    assert portal.slug_from_host(host) == slug


def test_throttle_first_failures_are_free_then_delays_double_up_to_a_cap():
    assert [throttle.delay_seconds(n) for n in range(5)] == [0] * 5
    assert throttle.delay_seconds(5) == 15
    assert throttle.delay_seconds(6) == 30
    assert throttle.delay_seconds(50) == throttle.MAX_DELAY_SECONDS
    assert throttle.wait_seconds(5, T0, T0 + timedelta(seconds=5)) == 10
    assert throttle.wait_seconds(5, T0, T0 + timedelta(seconds=15)) == 0
    assert throttle.wait_seconds(99, T0, T0 + throttle.WINDOW + timedelta(seconds=1)) == 0
    assert throttle.wait_seconds(7, None, T0) == 0


def test_csrf_token_is_bound_to_the_session_cookie():
    token = auth.csrf_token("cookie-a")
    assert auth.csrf_valid("cookie-a", token)
    assert not auth.csrf_valid("cookie-b", token)
    assert not auth.csrf_valid("cookie-a", None)
    assert not auth.csrf_valid("", auth.csrf_token(""))


def test_principal_roles():
    staff = auth.Principal.from_claims({"uid": "u", "role": "operator_staff", "operatorId": "op"})
    assert staff.is_staff and staff.is_staff_of("op") and not staff.is_admin_of("op")
    assert not staff.is_staff_of("other")
    driver = auth.Principal.from_claims({"uid": "d", "role": "driver"})
    assert not driver.is_staff
    orphan = auth.Principal.from_claims({"uid": "x", "role": "operator_admin"})
    assert not orphan.is_staff  # an operator role without an operator sees nothing
    boss = auth.Principal.from_claims({"uid": "s", "role": "super_admin"})
    assert boss.is_admin_of("any") and boss.is_staff_of("any")


def test_plate_variants_find_look_alikes():
    variants = queries.plate_variants("B0S123")
    assert variants[0] == "B0S123"
    assert {"8OS123", "BOS123", "B05123", "80S1Z3"} & set(variants) >= {"8OS123", "BOS123"}
    assert len(variants) == len(set(variants)) <= queries.MAX_VARIANTS
    assert queries.plate_variants("XYW") == ["XYW"]
    assert queries.plate_variants("XYZ") == ["XYZ", "XY2"]


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10))
def test_every_variant_is_a_look_alike(plate):
    from parkingdone import plates

    for variant in queries.plate_variants(plate):
        assert plates.skeleton(variant) == plates.skeleton(plate)


def test_filters_are_validated():
    f = queries.Filters.parse({"plate": "abc 123", "status": "open", "from": "2026-03-01"})
    assert f.plate == "ABC123" and f.status == "open"
    assert f.as_args() == {"plate": "ABC123", "status": "open", "from": "2026-03-01"}
    for bad in ({"status": "x"}, {"from": "yesterday"}, {"flag": "x"}, {"payment_status": "x"}):
        with pytest.raises(queries.FilterError):
            queries.Filters.parse(bad)


@pytest.mark.parametrize("text", ["=1+2", "+31", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_would_run_as_formulas_are_neutralised(text):
    assert csv_export.neutralise(text) == "'" + text


@given(st.text())
def test_csv_neutralised_cell_never_starts_a_formula(text):
    cell = csv_export.neutralise(text)
    assert not cell.startswith(csv_export.FORMULA_STARTS)
    assert cell.removeprefix("'") == text or cell == text


def _session(**fields) -> SessionDoc:
    base = {
        "id": "s_1",
        "operatorId": "op",
        "facilityId": "f1",
        "plate": "ABC123",
        "plateRaw": "ABC-123",
        "status": "closed",
        "entry": {"at": T0, "eventId": "ev_in"},
        "exit": {"at": T0 + timedelta(minutes=100), "eventId": "ev_out"},
        "fee": {"total": 600, "currency": "EUR"},
        "payment": {"status": "succeeded", "amount": 600, "currency": "EUR"},
    }
    return SessionDoc.model_validate({**base, **fields})


def test_csv_row_has_local_times_with_offset_and_decimal_money():
    row = dict(
        zip(
            csv_export.HEADER,
            csv_export.row(_session(), "Kamppi P1", "Europe/Helsinki"),
            strict=True,
        )
    )
    assert row["entry_local"] == "2026-03-30T14:00:00+03:00"
    assert row["exit_local"] == "2026-03-30T15:40:00+03:00"
    assert (row["fee"], row["paid"], row["currency"]) == ("6.00", "6.00", "EUR")


def test_money_and_times_for_pages():
    assert formatting.money(123456, "EUR") == "€1234.56"
    assert formatting.money(-5, "EUR") == "-€0.05"
    assert formatting.money(None) == "–"
    assert formatting.decimal_amount(500, "JPY") == "500"
    assert formatting.local(T0, "Europe/Helsinki") == "2026-03-30 14:00:00 EEST"
    assert formatting.duration(T0, T0 + timedelta(minutes=125)) == "2 h 05 min"


def test_local_midnight_is_the_operators_calendar_day():
    late = datetime(2026, 3, 30, 22, 30, tzinfo=UTC)  # already 31 March in Helsinki
    assert kpis.local_midnight(late, "Europe/Helsinki") == datetime(2026, 3, 30, 21, 0, tzinfo=UTC)
    week = kpis.local_midnight(late, "Europe/Helsinki", 6)
    assert week.astimezone(UTC) == datetime(2026, 3, 24, 22, 0, tzinfo=UTC)  # before DST


@pytest.mark.parametrize(
    ("payment", "refused"),
    [
        (None, False),
        ({"status": "to_invoice"}, False),
        ({"status": "failed"}, False),
        ({"status": "not_required"}, False),
        ({"status": "succeeded"}, True),
        ({"status": "succeeded", "refundStatus": "refunded"}, False),
        ({"status": "succeeded", "refundStatus": "partially_refunded"}, True),
        ({"status": "invoiced"}, True),
        ({"status": "pending"}, True),
        ({"status": "settling"}, True),
        ({"status": "review_required"}, True),
    ],
)
def test_correction_refused_where_money_moved_on_the_wrong_plate(payment, refused):
    reason = corrections.refusal({"status": "closed", "plate": "A8C123", "payment": payment})
    assert (reason is not None) == refused
    if payment and payment["status"] == "succeeded" and refused:
        assert "refund the payment first" in reason


def test_superseded_stay_is_never_corrected():
    assert corrections.refusal({"status": "superseded"})


def test_timeline_orders_the_evidence_chain():
    facility = FacilityDoc.model_validate(
        {
            "id": "f1",
            "operatorId": "op",
            "name": "Kamppi P1",
            "tariffs": [
                v.model_dump(by_alias=True, mode="json") for v in tariffs.demo_tariff().versions
            ],
        }
    )
    check = CheckDoc.model_validate(
        {
            "operatorId": "op",
            "facilityId": "f1",
            "plate": "ABC123",
            "at": T0 + timedelta(minutes=30),
            "status": "paid",
            "shouldFine": False,
        }
    )
    session = _session(
        corrections=[
            {
                "fromPlate": "A8C123",
                "toPlate": "ABC123",
                "reason": "misread",
                "by": "u",
                "at": T0 + timedelta(minutes=40),
            }
        ]
    )
    items = timeline.build(session, facility, timeline.Evidence({}, [], [check], []))
    assert [i.kind for i in items] == ["entry", "free_period", "check", "correction", "exit"]
    assert items[1].at == T0 + timedelta(minutes=15)
    assert "shouldFine false" in items[2].detail
