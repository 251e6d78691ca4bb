"""Push texts: every kind in English and Finnish, money in each language's format."""

from __future__ import annotations

import pytest

from parkingdone.notifications import texts

FACTS = {
    "entry": {"facilityName": "Kamppi P1", "freeMinutes": 15, "driverNotice": "Max 7 days."},
    "free_period_ending": {"facilityName": "Kamppi P1", "minutesLeft": 5},
    "payment_succeeded": {
        "facilityName": "Kamppi P1",
        "amount": 300,
        "currency": "EUR",
        "receiptNumber": "R-2026-000001",
    },
    "payment_action_required": {"facilityName": "Kamppi P1", "amount": 600, "currency": "EUR"},
    "payment_failed": {"facilityName": "Kamppi P1", "amount": 2000, "currency": "EUR"},
    "unpaid_warning": {"facilityName": "Kamppi P1", "amount": 1250, "currency": "EUR"},
    "support_reply": {"ticketNumber": "T-42"},
    "exit_charge_scheduled": {
        "facilityName": "Kamppi P1",
        "amount": 600,
        "currency": "EUR",
        "chargeInMinutes": 2,
    },
    "payment_refunded": {"facilityName": "Kamppi P1", "amount": 300, "currency": "EUR"},
    "payment_extra_charged": {"facilityName": "Kamppi P1", "amount": 600, "currency": "EUR"},
    "wallet_paid": {"facilityName": "Kamppi P1", "amount": 600, "currency": "EUR"},
    "wallet_topped_up": {"facilityName": "Demo Parking Oy", "amount": 2000, "currency": "EUR"},
    "wallet_credited": {"facilityName": "Demo Parking Oy", "amount": 500, "currency": "EUR"},
    "dispute_accepted": {
        "facilityName": "Kamppi P1",
        "amount": 300,
        "currency": "EUR",
        "disputeId": "d_s1",
    },
    "dispute_rejected": {
        "facilityName": "Kamppi P1",
        "reason": "The camera photo shows the car inside.",
        "disputeId": "d_s1",
    },
}


def test_every_kind_has_facts_templates_and_a_preference_entry() -> None:
    kinds = set(texts.Kind.__args__)
    assert set(texts.FACTS) == kinds
    assert set(texts.TEMPLATES) == kinds
    assert set(texts.PREF_OF_KIND) == kinds
    assert set(FACTS) == kinds
    for kind in kinds:
        assert set(texts.TEMPLATES[kind]) == set(texts.LANGUAGES)


@pytest.mark.parametrize("kind", sorted(FACTS))
@pytest.mark.parametrize("language", texts.LANGUAGES)
def test_each_kind_renders_without_placeholders(kind: str, language: str) -> None:
    rendered = texts.render(kind, language, FACTS[kind])
    assert rendered.title and rendered.body
    assert "{" not in rendered.title + rendered.body
    assert rendered.data["kind"] == kind
    assert rendered.data["language"] == language
    assert all(isinstance(v, str) for v in rendered.data.values())


@pytest.mark.parametrize("kind", sorted(FACTS))
def test_finnish_and_english_differ(kind: str) -> None:
    en = texts.render(kind, "en", FACTS[kind])
    fi = texts.render(kind, "fi", FACTS[kind])
    assert en.title != fi.title
    assert en.body != fi.body


def test_entry_push_names_facility_free_period_and_notice() -> None:
    en = texts.render("entry", "en", FACTS["entry"])
    assert en.title == "Welcome to Kamppi P1"
    assert en.body == "Parking started. The first 15 min are free. Max 7 days."
    fi = texts.render("entry", "fi", FACTS["entry"])
    assert fi.body == "Pysäköinti alkoi. Ensimmäiset 15 min ovat maksuttomia. Max 7 days."


def test_entry_without_free_period_says_the_fee_is_charged_on_exit() -> None:
    rendered = texts.render("entry", "en", {"facilityName": "Kamppi P1", "freeMinutes": 0})
    assert rendered.body == "Parking started. The fee is charged automatically when you leave."


def test_payment_succeeded_carries_amount_and_receipt_in_each_language() -> None:
    en = texts.render("payment_succeeded", "en", FACTS["payment_succeeded"])
    assert en.body == "€3.00 paid for parking at Kamppi P1. Receipt R-2026-000001."
    fi = texts.render("payment_succeeded", "fi", FACTS["payment_succeeded"])
    assert (
        fi.body == "3,00\u00a0€ maksettu pysäköinnistä kohteessa Kamppi P1. Kuitti R-2026-000001."
    )


def test_payment_succeeded_without_receipt_number_leaves_the_sentence_out() -> None:
    facts = {k: v for k, v in FACTS["payment_succeeded"].items() if k != "receiptNumber"}
    assert texts.render("payment_succeeded", "en", facts).body.endswith("at Kamppi P1.")


@pytest.mark.parametrize(
    ("amount", "currency", "en", "fi"),
    [
        (0, "EUR", "€0.00", "0,00\u00a0€"),
        (5, "EUR", "€0.05", "0,05\u00a0€"),
        (300, "EUR", "€3.00", "3,00\u00a0€"),
        (123456, "EUR", "€1,234.56", "1\u00a0234,56\u00a0€"),
        (9900, "SEK", "99.00 kr", "99,00\u00a0kr"),
        (500, "JPY", "500 JPY", "500\u00a0JPY"),
        (-250, "EUR", "-€2.50", "-2,50\u00a0€"),
    ],
)
def test_format_money(amount: int, currency: str, en: str, fi: str) -> None:
    assert texts.format_money(amount, currency, "en") == en
    assert texts.format_money(amount, currency, "fi") == fi


@pytest.mark.parametrize(
    ("stored", "language"),
    [("fi", "fi"), ("fi-FI", "fi"), ("FI", "fi"), ("en", "en"), ("sv", "en"), (None, "en")],
)
def test_language_falls_back_to_english(stored: object, language: str) -> None:
    assert texts.language_of(stored) == language


def test_ids_go_to_the_data_payload_not_the_text() -> None:
    rendered = texts.render("entry", "en", {**FACTS["entry"], "sessionId": "s_evt1"})
    assert rendered.data["sessionId"] == "s_evt1"
    assert "s_evt1" not in rendered.body


def test_missing_facts_are_a_clear_error() -> None:
    with pytest.raises(texts.TextError, match="amount"):
        texts.render("payment_failed", "en", {"facilityName": "Kamppi P1", "currency": "EUR"})


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(texts.TextError, match="unknown notification kind"):
        texts.render("lottery_win", "en", {})


def test_bad_currency_is_refused() -> None:
    with pytest.raises(texts.TextError, match="currency"):
        texts.render("payment_failed", "en", {**FACTS["payment_failed"], "currency": "euro"})
