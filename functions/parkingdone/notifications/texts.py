"""The driver app's pushes: which facts each kind needs and how they become a push. Pure.

Callers pass facts (facility name, amount in minor units, receipt number); this module turns
them into the driver's language with the texts of the catalogue (messages.py). Each kind has
a pydantic model of the facts it needs, so a caller that forgets one gets a clear error
instead of a push with a hole in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from parkingdone.messages import (
    CATALOGUE,
    LANGUAGES,
    Language,
    format_money,
    language_of,
    text,
)

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
    "wallet_paid",
    "wallet_topped_up",
    "wallet_credited",
    "dispute_accepted",
    "dispute_rejected",
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
    "wallet_paid": "payments",
    "wallet_topped_up": "payments",
    # Money moved by someone else, or a decision on the driver's own request: always told.
    "wallet_credited": None,
    "dispute_accepted": None,
    "dispute_rejected": None,
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
    dispute_id: str | None = None


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


class DisputeRejectedFacts(_Facts):
    facility_name: str = Field(min_length=1)
    reason: str = Field(min_length=1)


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
    "wallet_paid": MoneyFacts,
    "wallet_topped_up": MoneyFacts,
    "wallet_credited": MoneyFacts,
    "dispute_accepted": MoneyFacts,
    "dispute_rejected": DisputeRejectedFacts,
}

# (title, body) per kind and language, from the catalogue (messages.py). Placeholders:
# facility, free, minutes, amount (already formatted for the language), receipt, ticket,
# charge_in.
TEMPLATES: dict[str, dict[Language, tuple[str, str]]] = {
    kind: {
        lang: (CATALOGUE[f"push.{kind}.title"][lang], CATALOGUE[f"push.{kind}.body"][lang])
        for lang in LANGUAGES
    }
    for kind in FACTS
}


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    # FCM data payload: string values only (FCM's rule).
    data: dict[str, str]


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
        "reason": getattr(facts, "reason", ""),
        "amount": "",
    }
    if isinstance(facts, MoneyFacts):
        values["amount"] = format_money(facts.amount, facts.currency, lang)
    title_template, body_template = TEMPLATES[kind][lang]
    title = title_template.format(**values)
    body = body_template.format(**values)
    if isinstance(facts, EntryFacts):
        extra = "push.entry.free" if facts.free_minutes else "push.entry.charged"
        body = f"{body} {text(extra, lang, **values)}"
        if facts.driver_notice.strip():
            body = f"{body} {facts.driver_notice.strip()}"
    if isinstance(facts, PaymentSucceededFacts) and facts.receipt_number:
        body = f"{body} {text('push.receipt', lang, **values)}"
    data = {"kind": kind, "language": lang}
    for name in ("session_id", "pass_id", "receipt_id", "payment_id", "ticket_id", "dispute_id"):
        value = getattr(facts, name)
        if value:
            data[to_camel(name)] = value
    return Rendered(title=title, body=body, data=data)
