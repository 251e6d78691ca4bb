"""The wallet's part of who pays: the wallet first, the saved card the rest (pure), and the
folded search fields of the customer lookup."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parkingdone.admin import customers
from parkingdone.payments import rules
from parkingdone.payments.models import DriverPaymentProfile
from parkingdone.payments.rules import Collection
from tests.unit.test_collection_plan import CARD_HOLDER, FACILITY, stay

NO_CARD = DriverPaymentProfile()


def plan(fee=600, balance=0, profile=CARD_HOLDER, account="acct_1", uid="u1") -> rules.Plan:
    return rules.plan_collection(
        facility=FACILITY,
        session=stay(uid=uid),
        fee_total=fee,
        profile=profile,
        provider_account_id=account,
        wallet_balance=balance,
    )


def test_a_wallet_that_covers_the_fee_pays_it_all():
    decided = plan(balance=1000)
    assert (decided.collection, decided.from_wallet, decided.card) == (Collection.WALLET, 600, None)


def test_a_wallet_that_covers_part_pays_first_and_the_card_the_rest():
    decided = plan(balance=200)
    assert (decided.collection, decided.from_wallet) == (Collection.CHARGE, 200)
    assert decided.card is not None


def test_without_a_card_a_short_wallet_is_left_alone():
    decided = plan(balance=200, profile=NO_CARD)
    assert (decided.collection, decided.from_wallet) == (Collection.NO_PAYMENT_METHOD, 0)


def test_a_full_wallet_pays_even_without_a_card_or_a_provider_account():
    decided = plan(balance=600, profile=NO_CARD, account=None)
    assert (decided.collection, decided.from_wallet) == (Collection.WALLET, 600)


def test_held_free_and_anonymous_stays_never_touch_the_wallet():
    assert plan(fee=10_001, balance=50_000).from_wallet == 0
    assert plan(fee=0, balance=500).collection is Collection.NOT_REQUIRED
    assert plan(balance=5000, uid=None, profile=None).collection is Collection.INVOICE


@given(
    fee=st.integers(min_value=0, max_value=100_000),
    balance=st.integers(min_value=-100, max_value=100_000),
    has_card=st.booleans(),
)
def test_the_split_adds_up_and_never_overdraws(fee, balance, has_card):
    split = rules.split_with_wallet(fee, balance, has_card=has_card)
    assert split.from_wallet + split.from_card == fee
    assert 0 <= split.from_wallet <= max(balance, 0)
    assert split.from_card >= 0
    if not has_card:
        # Without a card the wallet pays all or nothing.
        assert split.from_wallet in (0, fee)


def test_folding_for_the_lookup():
    assert customers.fold("  Äijä   ÖBERG ") == "aija oberg"
    assert customers.search_fields({"displayName": "Anna", "email": "Anna@X.fi"}) == {
        "searchName": "anna",
        "searchEmail": "anna@x.fi",
    }
    assert customers.search_fields(None) == {"searchName": "", "searchEmail": ""}
