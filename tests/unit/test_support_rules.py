"""Support tickets' pure rules: status machine, SLA targets, numbers, search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkingdone import settings
from parkingdone.support import rules


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("open", "pending"),
        ("open", "resolved"),
        ("pending", "open"),
        ("pending", "resolved"),
        ("resolved", "closed"),
        ("resolved", "open"),
        ("closed", "open"),
        ("open", "open"),
    ],
)
def test_support_may_move_a_ticket_along_its_path(current, target):
    rules.check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target", "code"),
    [
        ("closed", "pending", "invalid_transition"),
        ("closed", "resolved", "invalid_transition"),
        ("resolved", "pending", "invalid_transition"),
        ("open", "archived", "invalid_status"),
    ],
)
def test_other_moves_are_refused(current, target, code):
    with pytest.raises(rules.RuleError) as refused:
        rules.check_transition(current, target)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("current", "reopened"),
    [("open", False), ("pending", False), ("resolved", True), ("closed", True)],
)
def test_a_requesters_message_reopens_the_ticket(current, reopened):
    assert rules.after_requester_message(current) == ("open", reopened)


def test_first_response_targets_default_operator_override_and_parkingdone_line():
    assert rules.first_response_target("critical", "driver") == timedelta(hours=1)
    assert rules.first_response_target("normal", "driver") == timedelta(hours=24)
    own = {"normalMinutes": 120, "criticalMinutes": 15}
    assert rules.first_response_target("normal", "driver", own) == timedelta(hours=2)
    assert rules.first_response_target("critical", "driver", own) == timedelta(minutes=15)
    # Nonsense in the operator's document falls back to the default.
    bad = {"normalMinutes": -5, "criticalMinutes": True}
    assert rules.first_response_target("normal", "driver", bad) == timedelta(hours=24)
    assert rules.first_response_target("critical", "driver", bad) == timedelta(hours=1)
    # The operators' line to ParkingDone keeps ParkingDone's own promise.
    assert (
        rules.first_response_target("critical", "operator", own)
        == settings.PARKINGDONE_FIRST_RESPONSE["critical"]
    )
    with pytest.raises(rules.RuleError):
        rules.first_response_target("urgent", "driver")


def test_numbers_carry_the_operator_the_line_and_six_digits():
    assert rules.number(rules.prefix_of("demo", "demo-operator"), "driver", 42) == "DEMO-T-000042"
    assert rules.number(rules.prefix_of(None, "other-operator"), "operator", 3) == (
        "OTHEROPERATOR-P-000003"
    )


@given(st.lists(st.integers(min_value=1, max_value=999_999), min_size=2, unique=True))
def test_distinct_sequences_give_distinct_numbers_in_order(seqs):
    numbers = [rules.number("DEMO", "driver", s) for s in sorted(seqs)]
    assert len(set(numbers)) == len(numbers)
    assert numbers == sorted(numbers)


def _terms():
    return rules.search_terms(
        number="DEMO-T-000042",
        seq=42,
        email="Driver@Example.test",
        plate="ABC123",
        texts=("Wrong fee at Kamppi", "I was charged twice!"),
    )


@pytest.mark.parametrize(
    "query",
    [
        "DEMO-T-000042",
        "demo-t-000042",
        "42",
        "000042",
        "abc-123",
        "ABC 123",
        "driver@example.test",
        "kamppi",
        "charged twice",
        "Wrong FEE",
    ],
)
def test_a_ticket_is_found_by_number_plate_email_and_words(query):
    terms = _terms()
    assert set(rules.query_terms(query)) & set(terms)
    assert rules.matches(terms, query)


@pytest.mark.parametrize("query", ["43", "XYZ-789", "other@example.test", "refund", "wrong refund"])
def test_other_queries_do_not_match(query):
    assert not rules.matches(_terms(), query)


def test_search_terms_are_bounded():
    many = rules.search_terms(
        number="DEMO-T-000001",
        seq=1,
        email=None,
        plate=None,
        texts=[" ".join(f"word{i}" for i in range(2000))],
    )
    assert len(many) == rules.MAX_SEARCH_TERMS
    assert many[:2] == ["demo-t-000001", "1"]


def test_median_and_share():
    assert rules.median_seconds([]) is None
    assert rules.median_seconds([60, 600, 6000]) == 600
    assert rules.share(3, 4) == 0.75
    assert rules.share(0, 0) is None
