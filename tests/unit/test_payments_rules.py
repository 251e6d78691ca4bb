"""Pure rules of the payments part: fees, VAT, receipt lines, status transitions, refunds."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkingdone import tariffs, tenants
from parkingdone.errors import ApiError
from parkingdone.payments import invoices, receipts, refunds, retry, rules
from parkingdone.payments.models import LedgerEntry, RefundRecord, SessionView
from parkingdone.payments.provider import ChargeResult, platform_fee

NOW = datetime(2026, 3, 30, 14, 0, tzinfo=UTC)


def test_platform_fee_is_five_percent_of_the_demo_fee():
    assert platform_fee(600, 500) == 30
    assert platform_fee(2000, 500) == 100
    assert platform_fee(0, 500) == 0
    assert platform_fee(9, 500) == 0  # 0.45 cents rounds to 0
    assert platform_fee(10, 500) == 1  # 0.5 rounds half up


@given(st.integers(min_value=0, max_value=10_000_000), st.integers(min_value=0, max_value=10_000))
def test_platform_fee_never_exceeds_the_amount(amount, bps):
    fee = platform_fee(amount, bps)
    assert 0 <= fee <= amount
    assert abs(fee * 10000 - amount * bps) <= 5000


def test_vat_included_in_a_gross_price():
    # 25.5 % Finnish VAT inside €6.00: 600 * 25.5 / 125.5 = 121.9...
    assert receipts.vat_included(600, 2550) == 122
    assert receipts.vat_included(1000, 2400) == 194
    assert receipts.vat_included(0, 2550) == 0
    assert receipts.vat_included(600, 0) == 0


@given(st.integers(min_value=1, max_value=10_000_000), st.integers(min_value=1, max_value=5000))
def test_vat_share_is_the_rounded_exact_share(total, bps):
    vat = receipts.vat_included(total, bps)
    exact = total * bps / (10000 + bps)
    assert abs(vat - exact) <= 0.5
    assert 0 <= vat < total


def test_receipt_lines_come_from_the_fee_breakdown():
    fee = tariffs.compute_fee(
        tariffs.demo_tariff(),
        datetime(2026, 3, 30, 11, 23, tzinfo=UTC),
        datetime(2026, 3, 30, 13, 5, tzinfo=UTC),
    )
    doc = fee.model_dump(by_alias=True, mode="json")
    lines = receipts.lines_from_fee(doc, "Parking", fee.total)
    assert sum(line.amount for line in lines) == fee.total == 600
    assert lines[0].quantity == 2 and lines[0].unit_price == 300


def test_receipt_for_a_pass_is_one_line():
    lines = receipts.lines_from_fee(None, "Monthly pass", 9000)
    assert [(ln.description, ln.amount) for ln in lines] == [("Monthly pass", 9000)]


def test_receipt_build_numbers_and_vat():
    receipt = receipts.build(
        operator_id="demo-operator",
        seller_name="Demo Parking Oy",
        facility_id="kamppi-p1",
        payment_id="s_x_1",
        number=42,
        issued_at=NOW,
        currency="EUR",
        total=600,
        vat_rate_bps=2550,
        lines=receipts.lines_from_fee(None, "Parking", 600),
    )
    assert receipt.receipt_number == "DEMO-OPERATOR-000042"
    assert receipt.vat_amount + receipt.net_amount == receipt.total


def test_only_the_closing_write_triggers_charging():
    assert rules.is_close_transition({"status": "open"}, {"status": "closed"})
    assert rules.is_close_transition(None, {"status": "closed"})
    # Our own writes of fee and payment on a closed session: no re-trigger.
    assert not rules.is_close_transition({"status": "closed"}, {"status": "closed"})
    assert not rules.is_close_transition({"status": "open"}, {"status": "missing_exit"})
    assert not rules.is_close_transition({"status": "open"}, {"status": "anomaly"})
    assert not rules.is_close_transition({"status": "closed"}, None)


def test_outcome_statuses():
    assert rules.status_for(ChargeResult("succeeded")) == "succeeded"
    assert rules.status_for(ChargeResult("requires_action")) == "requires_action"
    assert rules.status_for(ChargeResult("processing")) == "pending"
    assert rules.status_for(ChargeResult("canceled")) == "failed"
    assert rules.status_for(ChargeResult("failed")) == "failed"


@pytest.mark.parametrize("new", ["failed", "requires_action", "pending"])
def test_a_success_is_never_undone(new):
    assert not rules.outcome_applies("succeeded", new)


def test_outcomes_move_open_payments():
    assert rules.outcome_applies("pending", "succeeded")
    assert rules.outcome_applies("requires_action", "succeeded")
    assert rules.outcome_applies("failed", "succeeded")  # late success webhook wins
    assert rules.outcome_applies("pending", "requires_action")
    for closed in ("not_required", "to_invoice", "invoiced", "paid", "cancelled"):
        assert not rules.outcome_applies(closed, "succeeded")


def test_payment_ids_and_keys_derive_from_the_session():
    pid = rules.session_payment_id("sess1", 1)
    assert pid == rules.session_payment_id("sess1", 1)
    assert pid != rules.session_payment_id("sess1", 2)
    assert rules.idempotency_key(pid) == rules.idempotency_key(pid)


def test_session_fee_uses_the_facility_tariff():
    facility = tenants.Facility(
        id="kamppi-p1",
        operator_id="demo-operator",
        name="Kamppi P1",
        tariffs=[v.model_dump(by_alias=True, mode="json") for v in tariffs.demo_tariff().versions],
    )
    session = SessionView.model_validate(
        {
            "operatorId": "demo-operator",
            "facilityId": "kamppi-p1",
            "status": "closed",
            "entry": {"at": datetime(2026, 3, 30, 11, 23, tzinfo=UTC)},
            "exit": {"at": datetime(2026, 3, 30, 13, 5, tzinfo=UTC)},
        }
    )
    assert rules.compute_session_fee(facility, session).total == 600
    short = session.model_copy(update={"exit": session.entry.model_copy()})
    assert rules.compute_session_fee(facility, short).total == 0


def test_invoice_transitions():
    assert invoices.next_status("to_invoice", "mark_invoiced") == "invoiced"
    assert invoices.next_status("invoiced", "mark_paid") == "paid"
    assert invoices.next_status("invoiced", "cancel") == "cancelled"
    assert invoices.next_status("to_invoice", "cancel") == "cancelled"
    assert invoices.next_status("paid", "mark_paid") is None  # repeated: no-op
    for current, action in [
        ("to_invoice", "mark_paid"),
        ("paid", "cancel"),
        ("cancelled", "mark_invoiced"),
        ("succeeded", "mark_invoiced"),
        (None, "mark_invoiced"),
    ]:
        with pytest.raises(ApiError):
            invoices.next_status(current, action)
    with pytest.raises(ApiError):
        invoices.next_status("to_invoice", "delete")


def _entry(**extra) -> LedgerEntry:
    return LedgerEntry(
        operator_id="demo-operator",
        facility_id="kamppi-p1",
        kind="session",
        session_id="s",
        provider="stripe",
        status="succeeded",
        amount=600,
        currency="EUR",
        platform_fee=30,
        operator_share=570,
        net_amount=600,
        created_at=NOW,
        updated_at=NOW,
        **extra,
    )


def _refund(rid, amount, status):
    return RefundRecord(id=rid, amount=amount, status=status, created_at=NOW)


def test_refundable_counts_done_and_pending_refunds():
    entry = _entry(
        refunds=[
            _refund("a", 100, "succeeded"),
            _refund("b", 50, "pending"),
            _refund("c", 400, "failed"),
        ]
    )
    assert refunds.refundable(entry) == 450
    assert refunds.refundable(entry, exclude="b") == 500


def test_refund_totals_and_fee_share():
    entry = _entry(refunds=[_refund("a", 300, "succeeded")])
    assert refunds.fee_share(entry, 300) == 15
    sums = refunds.totals(entry)
    assert sums["refundedAmount"] == 300
    assert sums["netAmount"] == 300
    assert sums["refundStatus"] == "partially_refunded"
    entry.refunds.append(_refund("b", 300, "succeeded"))
    assert refunds.totals(entry)["refundStatus"] == "refunded"
    assert refunds.totals(_entry())["refundStatus"] is None


def test_refund_ids_derive_from_the_request():
    assert refunds.refund_id_for("p", "req-1") == refunds.refund_id_for("p", "req-1")
    assert refunds.refund_id_for("p", "req-1") != refunds.refund_id_for("p", "req-2")


def test_retry_message_decoding():
    import base64
    import json

    raw = base64.b64encode(json.dumps({"kind": "session", "sessionId": "x"}).encode()).decode()
    assert retry.decode(raw) == {"kind": "session", "sessionId": "x"}
    assert retry.decode(None) == {}
    assert retry.decode("not base64 json") == {}
    assert retry.handle_message({"kind": "other"}) == "ignored"


def test_tariff_error_for_a_session_without_exit():
    facility = tenants.Facility(id="f", operator_id="o", name="F", tariffs=[])
    session = SessionView.model_validate(
        {
            "operatorId": "o",
            "facilityId": "f",
            "status": "closed",
            "entry": {"at": NOW - timedelta(hours=1)},
        }
    )
    with pytest.raises(tariffs.TariffError):
        rules.compute_session_fee(facility, session)


def test_a_settle_task_waits_only_briefly_for_its_charge_time():
    """The Cloud Tasks emulator dispatches at once: a task a little early waits in its
    handler, an earlier one is retried by Cloud Tasks (never holding a worker for the whole
    window); a late one, or a stay without a charge time, charges at once."""
    from parkingdone import settings
    from parkingdone.payments import charging

    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    limit = settings.SETTLE_TASK_MAX_WAIT_SECONDS
    assert charging.early_wait_seconds(None, now) == 0
    assert charging.early_wait_seconds(now - timedelta(seconds=5), now) == 0
    assert charging.early_wait_seconds(now + timedelta(seconds=limit), now) == limit
    with pytest.raises(charging.RetryLater):
        charging.early_wait_seconds(now + timedelta(seconds=limit + 1), now)
    # Cloud Tasks' retries (30 s, then 60 s) reach a default window's charge time in time.
    arrivals = [0, 30, 90]
    window = settings.CHARGE_SETTLE_SECONDS
    waits = []
    for at in arrivals:
        try:
            waits.append(
                charging.early_wait_seconds(
                    now + timedelta(seconds=window), now + timedelta(seconds=at)
                )
            )
        except charging.RetryLater:
            waits.append(None)
    assert waits == [None, None, window - 90]
    # The emulator's 60 s dispatch deadline is never reached by a wait.
    assert limit < 60
