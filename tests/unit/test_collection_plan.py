"""Who pays what, and how: the pure decision the charging claim acts on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkingdone import tenants
from parkingdone.payments import ledger, rules
from parkingdone.payments.models import DriverPaymentProfile, SessionView
from parkingdone.payments.rules import Collection

FACILITY = tenants.Facility(
    id="kamppi-p1", operator_id="op", name="Kamppi P1", review_threshold_minor=10_000
)
CARD_HOLDER = DriverPaymentProfile(stripe_customer_id="cus_1", default_payment_method_id="pm_1")


def stay(uid: str | None = "u1", flags: tuple[str, ...] = ()) -> SessionView:
    return SessionView.model_validate(
        {
            "id": "s1",
            "operatorId": "op",
            "facilityId": "kamppi-p1",
            "status": "closed",
            "driverUid": uid,
            "flags": list(flags),
            "entry": {"at": datetime(2026, 3, 30, 10, tzinfo=UTC)},
            "exit": {"at": datetime(2026, 3, 30, 12, tzinfo=UTC)},
        }
    )


def plan(session=None, fee=600, profile=CARD_HOLDER, account="acct_1") -> rules.Plan:
    return rules.plan_collection(
        facility=FACILITY,
        session=session or stay(),
        fee_total=fee,
        profile=profile,
        provider_account_id=account,
    )


def test_a_registered_driver_with_a_card_is_charged_on_the_operator_account():
    decided = plan()
    assert decided.collection is Collection.CHARGE
    assert decided.card == rules.Card("cus_1", "pm_1", "acct_1")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"fee": 0}, Collection.NOT_REQUIRED),
        ({"fee": 10_001}, Collection.REVIEW),
        ({"session": stay(flags=("over_max_stay",))}, Collection.REVIEW),
        ({"session": stay(uid=None), "profile": None}, Collection.INVOICE),
        ({"profile": None}, Collection.INVOICE),
        ({"account": None}, Collection.INVOICE_NO_PROVIDER),
        (
            {"profile": DriverPaymentProfile(stripe_customer_id="cus_1")},
            Collection.NO_PAYMENT_METHOD,
        ),
    ],
)
def test_each_way_of_collecting(kwargs, expected):
    decided = plan(**kwargs)
    assert decided.collection is expected
    assert (decided.card is not None) == (expected is Collection.CHARGE)


def test_review_comes_before_everything_else():
    decided = plan(session=stay(uid=None, flags=("over_max_stay",)), fee=0, profile=None)
    assert decided.collection is Collection.REVIEW
    assert decided.review_reason == rules.REVIEW_OVER_MAX_STAY


@given(
    fee=st.integers(min_value=1, max_value=10_000), bps=st.integers(min_value=0, max_value=10_000)
)
def test_a_ledger_entry_splits_the_fee_between_platform_and_operator(fee, bps):
    subject = ledger.Subject("session", "op", "kamppi-p1", session_id="s1", uid="u1")
    now = datetime(2026, 3, 30, tzinfo=UTC)
    entry = ledger.new_entry(
        "s_s1_1", subject, amount=fee, currency="EUR", fee_bps=bps, now=now, card=plan().card
    )
    assert entry.platform_fee + entry.operator_share == fee
    assert (entry.provider, entry.status) == ("stripe", "pending")
    request = ledger.charge_request("s_s1_1", entry)
    assert request.idempotency_key == rules.idempotency_key("s_s1_1")
    assert request.application_fee == entry.platform_fee
    assert request.metadata["sessionId"] == "s1"


def test_an_invoiced_entry_cannot_be_charged():
    subject = ledger.Subject("session", "op", "kamppi-p1", session_id="s1")
    now = datetime(2026, 3, 30, tzinfo=UTC)
    entry = ledger.new_entry("s_s1_1", subject, amount=600, currency="EUR", fee_bps=500, now=now)
    assert (entry.provider, entry.status, entry.idempotency_key) == ("invoice", "to_invoice", None)
    with pytest.raises(rules.PaymentInvariantError):
        ledger.charge_request("s_s1_1", entry)
