"""Every text a person reads, in English and Finnish, in one catalogue. Pure.

A text is named by a key and written once per language with `{placeholders}` for facts:

- `push.<kind>.title|body` and `push.entry.*`, `push.receipt`: the driver app's pushes
  (rendered by notifications/texts.py from the facts of each kind);
- `receipt.*`: receipt and fee lines (tariffs.py names them, receipts.py renders them in
  the driver's language);
- `officer.*`: the sentence an enforcement officer reads (enforcement/decision.py).

Drivers read their own language (`users/{uid}.language`); staff and officers read their
operator's (`operators/{id}.language`). Anything else falls back to English. The API's error
messages can move here under `error.<code>` keys: `text` needs nothing more.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from babel.numbers import format_decimal, get_currency_precision

Language = Literal["en", "fi"]
LANGUAGES: tuple[Language, ...] = ("en", "fi")
DEFAULT_LANGUAGE: Language = "en"

CATALOGUE: dict[str, dict[Language, str]] = {
    # --- pushes to the driver ---------------------------------------------------------------
    "push.entry.title": {"en": "Welcome to {facility}", "fi": "Tervetuloa: {facility}"},
    "push.entry.body": {"en": "Parking started.", "fi": "Pysäköinti alkoi."},
    "push.entry.free": {
        "en": "The first {free} min are free.",
        "fi": "Ensimmäiset {free} min ovat maksuttomia.",
    },
    "push.entry.charged": {
        "en": "The fee is charged automatically when you leave.",
        "fi": "Maksu veloitetaan automaattisesti, kun poistut.",
    },
    "push.receipt": {"en": "Receipt {receipt}.", "fi": "Kuitti {receipt}."},
    "push.free_period_ending.title": {
        "en": "Free parking ends soon",
        "fi": "Maksuton pysäköinti päättyy pian",
    },
    "push.free_period_ending.body": {
        "en": "Your free parking at {facility} ends in {minutes} min. "
        "After that the stay is charged.",
        "fi": "Maksuton pysäköinti kohteessa {facility} päättyy {minutes} min kuluttua. "
        "Sen jälkeen pysäköinti on maksullista.",
    },
    "push.payment_succeeded.title": {"en": "Payment received", "fi": "Maksu onnistui"},
    "push.payment_succeeded.body": {
        "en": "{amount} paid for parking at {facility}.",
        "fi": "{amount} maksettu pysäköinnistä kohteessa {facility}.",
    },
    "push.payment_action_required.title": {"en": "Confirm your payment", "fi": "Vahvista maksu"},
    "push.payment_action_required.body": {
        "en": "Your bank asks you to confirm the {amount} payment for parking at {facility}. "
        "Open the app to confirm.",
        "fi": "Pankkisi pyytää vahvistamaan {amount} maksun pysäköinnistä kohteessa {facility}. "
        "Vahvista maksu sovelluksessa.",
    },
    "push.payment_failed.title": {"en": "Payment failed", "fi": "Maksu epäonnistui"},
    "push.payment_failed.body": {
        "en": "We could not charge {amount} for parking at {facility}. "
        "Please update your payment method in the app.",
        "fi": "Emme voineet veloittaa {amount} pysäköinnistä kohteessa {facility}. "
        "Päivitä maksutapasi sovelluksessa.",
    },
    "push.unpaid_warning.title": {"en": "Unpaid parking", "fi": "Maksamaton pysäköinti"},
    "push.unpaid_warning.body": {
        "en": "Your parking at {facility} ({amount}) is still unpaid. "
        "Pay in the app to avoid a parking control fee.",
        "fi": "Pysäköintisi kohteessa {facility} ({amount}) on yhä maksamatta. "
        "Maksa sovelluksessa välttääksesi tarkastusmaksun.",
    },
    "push.support_reply.title": {
        "en": "New reply from support",
        "fi": "Uusi vastaus asiakastuelta",
    },
    "push.support_reply.body": {
        "en": "Support replied to your request {ticket}.",
        "fi": "Asiakastuki vastasi pyyntöösi {ticket}.",
    },
    "push.exit_charge_scheduled.title": {"en": "Parking ended", "fi": "Pysäköinti päättyi"},
    "push.exit_charge_scheduled.body": {
        "en": "You left {facility}. {amount} will be charged to your card in {charge_in} min.",
        "fi": "Poistuit kohteesta {facility}. {amount} veloitetaan kortiltasi "
        "{charge_in} min kuluttua.",
    },
    "push.payment_refunded.title": {
        "en": "Parking fee corrected",
        "fi": "Pysäköintimaksu korjattu",
    },
    "push.payment_refunded.body": {
        "en": "Your parking at {facility} was corrected: {amount} is refunded to your card.",
        "fi": "Pysäköintiäsi kohteessa {facility} korjattiin: {amount} palautetaan kortillesi.",
    },
    "push.payment_extra_charged.title": {
        "en": "Parking fee corrected",
        "fi": "Pysäköintimaksu korjattu",
    },
    "push.payment_extra_charged.body": {
        "en": "Your parking at {facility} was corrected: {amount} more was charged to your card.",
        "fi": "Pysäköintiäsi kohteessa {facility} korjattiin: kortiltasi veloitettiin "
        "lisäksi {amount}.",
    },
    "push.wallet_paid.title": {"en": "Paid from your wallet", "fi": "Maksettu lompakosta"},
    "push.wallet_paid.body": {
        "en": "{amount} for parking at {facility} was paid from your wallet.",
        "fi": "{amount} pysäköinnistä kohteessa {facility} maksettiin lompakostasi.",
    },
    "push.wallet_topped_up.title": {"en": "Wallet topped up", "fi": "Lompakko ladattu"},
    "push.wallet_topped_up.body": {
        "en": "{amount} was added to your {facility} wallet.",
        "fi": "{amount} lisättiin {facility}-lompakkoosi.",
    },
    "push.wallet_credited.title": {"en": "Credit to your wallet", "fi": "Hyvitys lompakkoosi"},
    "push.wallet_credited.body": {
        "en": "{facility} added {amount} to your wallet.",
        "fi": "{facility} lisäsi lompakkoosi {amount}.",
    },
    "push.dispute_accepted.title": {"en": "Dispute accepted", "fi": "Oikaisupyyntö hyväksytty"},
    "push.dispute_accepted.body": {
        "en": "Your dispute about parking at {facility} was accepted: {amount} is refunded.",
        "fi": "Oikaisupyyntösi pysäköinnistä kohteessa {facility} hyväksyttiin: {amount} "
        "palautetaan.",
    },
    "push.dispute_rejected.title": {"en": "Dispute rejected", "fi": "Oikaisupyyntö hylätty"},
    "push.dispute_rejected.body": {
        "en": "Your dispute about parking at {facility} was rejected: {reason}",
        "fi": "Oikaisupyyntösi pysäköinnistä kohteessa {facility} hylättiin: {reason}",
    },
    # --- receipt and fee lines --------------------------------------------------------------
    "receipt.parking": {"en": "Parking", "fi": "Pysäköinti"},
    "receipt.wallet_topup": {"en": "Wallet top-up", "fi": "Lompakon lataus"},
    "receipt.free": {"en": "First {minutes} min free", "fi": "Ensimmäiset {minutes} min maksutta"},
    "receipt.first_period": {"en": "First {minutes} min", "fi": "Ensimmäiset {minutes} min"},
    "receipt.daily_maximum": {"en": "Daily maximum {day}", "fi": "Vuorokausihinta {day}"},
    "receipt.rolling_maximum": {
        "en": "24 h maximum, day {day}",
        "fi": "24 h enimmäishinta, päivä {day}",
    },
    "receipt.minimum": {"en": "Minimum charge", "fi": "Vähimmäismaksu"},
    "receipt.maximum": {"en": "Maximum charge", "fi": "Enimmäismaksu"},
    # --- what an enforcement officer reads --------------------------------------------------
    "officer.pass_active": {
        "en": "Vehicle has an active pass valid until {until} — do not fine.",
        "fi": "Ajoneuvolla on voimassa oleva kausilupa {until} asti — älä määrää maksua.",
    },
    "officer.auto_payment": {
        "en": "Vehicle is covered by automatic payment — do not fine.",
        "fi": "Ajoneuvon pysäköinti maksetaan automaattisesti — älä määrää maksua.",
    },
    "officer.paid": {
        "en": "Vehicle has paid — do not fine.",
        "fi": "Ajoneuvon pysäköinti on maksettu — älä määrää maksua.",
    },
    "officer.similar_pass_active": {
        "en": "A similar plate, {similar}, has an active pass here; the camera may have "
        "misread the plate — check it carefully and do not fine on this answer.",
        "fi": "Samankaltaisella kilvellä {similar} on täällä voimassa oleva kausilupa; kamera "
        "on voinut lukea kilven väärin — tarkista kilpi huolellisesti äläkä määrää maksua "
        "tämän vastauksen perusteella.",
    },
    "officer.similar_paid": {
        "en": "A similar plate, {similar}, has paid here; the camera may have misread the "
        "plate — check it carefully and do not fine on this answer.",
        "fi": "Samankaltainen kilpi {similar} on maksanut täällä; kamera on voinut lukea "
        "kilven väärin — tarkista kilpi huolellisesti äläkä määrää maksua tämän vastauksen "
        "perusteella.",
    },
    "officer.pending": {
        "en": "Payment records for this plate are being updated — do not fine now; "
        "check again shortly.",
        "fi": "Kilven maksutietoja päivitetään — älä määrää maksua nyt; tarkista pian uudelleen.",
    },
    "officer.may_fine": {
        "en": "Vehicle is parked without payment and the free period and grace have "
        "passed — may be fined.",
        "fi": "Ajoneuvo on pysäköity maksamatta, ja maksuton aika ja varoaika ovat "
        "päättyneet — maksu voidaan määrätä.",
    },
    "officer.within_grace": {
        "en": "Vehicle is parked without payment but is within its free period or grace "
        "until {until} — do not fine yet.",
        "fi": "Ajoneuvo on pysäköity maksamatta, mutta sen maksuton aika tai varoaika kestää "
        "{until} asti — älä määrää maksua vielä.",
    },
    "officer.no_record": {
        "en": "No parking session, pass or recent payment for this plate here "
        "— no record to fine on.",
        "fi": "Kilvelle ei löydy täältä pysäköintiä, kausilupaa eikä tuoretta maksua "
        "— ei perustetta maksulle.",
    },
}


class UnknownText(KeyError):
    """A key missing from the catalogue (a programming error, caught by the unit tests)."""


def language_of(value: object) -> Language:
    """The language for a stored preference ("fi", "fi-FI", None...); English otherwise."""
    if isinstance(value, str) and value.strip().lower().startswith("fi"):
        return "fi"
    return DEFAULT_LANGUAGE


def text(key: str, language: object, /, **values: object) -> str:
    """The text `key` in `language` (falls back to English) with its placeholders filled."""
    try:
        variants = CATALOGUE[key]
    except KeyError as exc:
        raise UnknownText(key) from exc
    return variants[language_of(language)].format(**values)


def format_money(amount: int, currency: str, language: object) -> str:
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


_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "SEK": "kr", "NOK": "kr", "DKK": "kr"}
