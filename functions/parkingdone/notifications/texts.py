"""Every push text of the driver app, in English and Finnish, in this one module. Pure.

Callers pass facts (facility name, amount in minor units, receipt number); this module turns
them into the driver's language. Each kind has a pydantic model of the facts it needs, so a
caller that forgets one gets a clear error instead of a push with a hole in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from babel.numbers import format_decimal, get_currency_precision
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

Language = Literal["en", "fi"]
LANGUAGES: tuple[Language, ...] = ("en", "fi")
DEFAULT_LANGUAGE: Language = "en"

Kind = Literal[
    "entry",
    "free_period_ending",
    "payment_succeeded",
    "payment_action_required",
    "payment_failed",
    "unpaid_warning",
    "support_reply",
    "exit_charge_scheduled",
    "payment_refunded",
    "payment_extra_charged",
]

# The notificationPrefs switch that silences a kind. None: always sent, because the driver
# must act on it (money is at stake).
PREF_OF_KIND: dict[str, str | None] = {
    "entry": "entry",
    "free_period_ending": "freePeriodEnding",
    "payment_succeeded": "payments",
    "payment_action_required": None,
    "payment_failed": None,
    "unpaid_warning": None,
    "support_reply": "support",
    "exit_charge_scheduled": "payments",
    # Money moved after the fact: always told.
    "payment_refunded": None,
    "payment_extra_charged": None,
}


class TextError(ValueError):
    """Unknown kind or missing/invalid facts for a kind."""


class _Facts(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    # Ids the app uses to open the right screen; sent as FCM data, never shown as text.
    session_id: str | None = None
    pass_id: str | None = None
    receipt_id: str | None = None
    payment_id: str | None = None
    ticket_id: str | None = None


class EntryFacts(_Facts):
    facility_name: str = Field(min_length=1)
    free_minutes: int = Field(default=0, ge=0)
    driver_notice: str = ""


class FreePeriodEndingFacts(_Facts):
    facility_name: str = Field(min_length=1)
    minutes_left: int = Field(ge=0)


class MoneyFacts(_Facts):
    facility_name: str = Field(min_length=1)
    amount: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class PaymentSucceededFacts(MoneyFacts):
    # A pass bought in the app may be confirmed before its receipt number exists.
    receipt_number: str | None = None


class ExitChargeFacts(MoneyFacts):
    # Minutes until the stay is charged (the facility's settle window).
    charge_in_minutes: int = Field(ge=0)


class SupportReplyFacts(_Facts):
    ticket_number: str = Field(min_length=1)


FACTS: dict[str, type[_Facts]] = {
    "entry": EntryFacts,
    "free_period_ending": FreePeriodEndingFacts,
    "payment_succeeded": PaymentSucceededFacts,
    "payment_action_required": MoneyFacts,
    "payment_failed": MoneyFacts,
    "unpaid_warning": MoneyFacts,
    "support_reply": SupportReplyFacts,
    "exit_charge_scheduled": ExitChargeFacts,
    "payment_refunded": MoneyFacts,
    "payment_extra_charged": MoneyFacts,
}

# (title, body) templates per kind and language. Placeholders: facility, free, minutes,
# amount (already formatted for the language), receipt, ticket, charge_in.
TEMPLATES: dict[str, dict[Language, tuple[str, str]]] = {
    "entry": {
        "en": ("Welcome to {facility}", "Parking started."),
        "fi": ("Tervetuloa: {facility}", "Pysäköinti alkoi."),
    },
    "free_period_ending": {
        "en": (
            "Free parking ends soon",
            "Your free parking at {facility} ends in {minutes} min. "
            "After that the stay is charged.",
        ),
        "fi": (
            "Maksuton pysäköinti päättyy pian",
            "Maksuton pysäköinti kohteessa {facility} päättyy {minutes} min kuluttua. "
            "Sen jälkeen pysäköinti on maksullista.",
        ),
    },
    "payment_succeeded": {
        "en": ("Payment received", "{amount} paid for parking at {facility}."),
        "fi": ("Maksu onnistui", "{amount} maksettu pysäköinnistä kohteessa {facility}."),
    },
    "payment_action_required": {
        "en": (
            "Confirm your payment",
            "Your bank asks you to confirm the {amount} payment for parking at {facility}. "
            "Open the app to confirm.",
        ),
        "fi": (
            "Vahvista maksu",
            "Pankkisi pyytää vahvistamaan {amount} maksun pysäköinnistä kohteessa {facility}. "
            "Vahvista maksu sovelluksessa.",
        ),
    },
    "payment_failed": {
        "en": (
            "Payment failed",
            "We could not charge {amount} for parking at {facility}. "
            "Please update your payment method in the app.",
        ),
        "fi": (
            "Maksu epäonnistui",
            "Emme voineet veloittaa {amount} pysäköinnistä kohteessa {facility}. "
            "Päivitä maksutapasi sovelluksessa.",
        ),
    },
    "unpaid_warning": {
        "en": (
            "Unpaid parking",
            "Your parking at {facility} ({amount}) is still unpaid. "
            "Pay in the app to avoid a parking control fee.",
        ),
        "fi": (
            "Maksamaton pysäköinti",
            "Pysäköintisi kohteessa {facility} ({amount}) on yhä maksamatta. "
            "Maksa sovelluksessa välttääksesi tarkastusmaksun.",
        ),
    },
    "support_reply": {
        "en": ("New reply from support", "Support replied to your request {ticket}."),
        "fi": ("Uusi vastaus asiakastuelta", "Asiakastuki vastasi pyyntöösi {ticket}."),
    },
    "exit_charge_scheduled": {
        "en": (
            "Parking ended",
            "You left {facility}. {amount} will be charged to your card in {charge_in} min.",
        ),
        "fi": (
            "Pysäköinti päättyi",
            "Poistuit kohteesta {facility}. {amount} veloitetaan kortiltasi "
            "{charge_in} min kuluttua.",
        ),
    },
    "payment_refunded": {
        "en": (
            "Parking fee corrected",
            "Your parking at {facility} was corrected: {amount} is refunded to your card.",
        ),
        "fi": (
            "Pysäköintimaksu korjattu",
            "Pysäköintiäsi kohteessa {facility} korjattiin: {amount} palautetaan kortillesi.",
        ),
    },
    "payment_extra_charged": {
        "en": (
            "Parking fee corrected",
            "Your parking at {facility} was corrected: {amount} more was charged to your card.",
        ),
        "fi": (
            "Pysäköintimaksu korjattu",
            "Pysäköintiäsi kohteessa {facility} korjattiin: kortiltasi veloitettiin "
            "lisäksi {amount}.",
        ),
    },
}

# Sentences added to the entry push depending on the free period.
ENTRY_FREE = {
    "en": "The first {free} min are free.",
    "fi": "Ensimmäiset {free} min ovat maksuttomia.",
}
RECEIPT = {"en": "Receipt {receipt}.", "fi": "Kuitti {receipt}."}
ENTRY_CHARGED = {
    "en": "The fee is charged automatically when you leave.",
    "fi": "Maksu veloitetaan automaattisesti, kun poistut.",
}

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "SEK": "kr", "NOK": "kr", "DKK": "kr"}


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    # FCM data payload: string values only (FCM's rule).
    data: dict[str, str]


def language_of(value: object) -> Language:
    """The push language for a stored preference ("fi", "fi-FI", None...)."""
    if isinstance(value, str) and value.strip().lower().startswith("fi"):
        return "fi"
    return DEFAULT_LANGUAGE


def format_money(amount: int, currency: str, language: str) -> str:
    """Minor units as the language writes them: en "€3.00", fi "3,00 €".

    The currency's decimals (0 for JPY, 2 for EUR...) and the digit grouping and decimal
    sign come from CLDR through babel; the symbol is ours: "€", "$", "£", "kr" for the
    Nordic crowns, the ISO code otherwise.
    """
    lang = language_of(language)
    decimals = get_currency_precision(currency)
    value = Decimal(abs(amount)).scaleb(-decimals)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    number = format_decimal(value, format=pattern, locale=lang, decimal_quantization=True)
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(currency, currency)
    if lang == "fi":
        return f"{sign}{number}\u00a0{symbol}"
    if len(symbol) == 1:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {symbol}"


def parse_facts(kind: str, params: dict) -> _Facts:
    if kind not in FACTS:
        raise TextError(f"unknown notification kind {kind!r}")
    try:
        return FACTS[kind].model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise TextError(f"notification {kind!r} needs valid facts: {problems}") from exc


def render(kind: str, language: str, params: dict) -> Rendered:
    """The title, body and data payload of one push, in `language` (falls back to English)."""
    facts = parse_facts(kind, params)
    lang = language_of(language)
    values: dict[str, object] = {
        "facility": getattr(facts, "facility_name", ""),
        "minutes": getattr(facts, "minutes_left", ""),
        "receipt": getattr(facts, "receipt_number", "") or "",
        "ticket": getattr(facts, "ticket_number", ""),
        "free": getattr(facts, "free_minutes", 0),
        "charge_in": getattr(facts, "charge_in_minutes", ""),
        "amount": "",
    }
    if isinstance(facts, MoneyFacts):
        values["amount"] = format_money(facts.amount, facts.currency, lang)
    title_template, body_template = TEMPLATES[kind][lang]
    title = title_template.format(**values)
    body = body_template.format(**values)
    if isinstance(facts, EntryFacts):
        extra = ENTRY_FREE[lang] if facts.free_minutes else ENTRY_CHARGED[lang]
        body = f"{body} {extra.format(**values)}"
        if facts.driver_notice.strip():
            body = f"{body} {facts.driver_notice.strip()}"
    if isinstance(facts, PaymentSucceededFacts) and facts.receipt_number:
        body = f"{body} {RECEIPT[lang].format(**values)}"
    data = {"kind": kind, "language": lang}
    for name in ("session_id", "pass_id", "receipt_id", "payment_id", "ticket_id"):
        value = getattr(facts, name)
        if value:
            data[to_camel(name)] = value
    return Rendered(title=title, body=body, data=data)
