"""The catalogue of every text a person reads: both languages, same facts, used by all."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest

from parkingdone import messages, tariffs
from parkingdone.enforcement.decision import build_plate_status, check
from parkingdone.payments import receipts


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(messages.CATALOGUE))
def test_every_text_is_written_in_every_language_with_the_same_facts(key):
    variants = messages.CATALOGUE[key]
    assert set(variants) == set(messages.LANGUAGES)
    assert all(text.strip() for text in variants.values())
    assert placeholders(variants["en"]) == placeholders(variants["fi"])


def test_unknown_keys_and_languages():
    with pytest.raises(messages.UnknownText):
        messages.text("nothing.here", "en")
    assert messages.text("receipt.parking", "sv") == "Parking"  # falls back to English
    assert messages.text("receipt.parking", "fi-FI") == "Pysäköinti"


def test_a_finnish_driver_gets_a_finnish_receipt():
    entry = datetime(2026, 3, 30, 19, 30, tzinfo=UTC)
    fee = tariffs.compute_fee(tariffs.demo_tariff(), entry, entry + timedelta(hours=23, minutes=30))
    stored = fee.model_dump(by_alias=True, mode="json")
    english = receipts.lines_from_fee(stored, None, fee.total, "en")
    finnish = receipts.lines_from_fee(stored, None, fee.total, "fi")
    assert [line.description for line in english] == [line.description for line in fee.lines]
    assert [line.description for line in finnish] == [
        "Pysäköinti",
        "Pysäköinti",
        "Vuorokausihinta 2026-03-31",
    ]
    assert [line.amount for line in finnish] == [line.amount for line in english]
    # A pass's line is the operator's product name; a fee without breakdown is "Parking".
    assert receipts.lines_from_fee(None, "Kuukausilupa", 9000, "fi")[0].description == (
        "Kuukausilupa"
    )
    assert receipts.lines_from_fee(None, None, 600, "fi")[0].description == "Pysäköinti"


def test_officer_summary_in_finnish_and_english_unchanged():
    now = datetime(2026, 3, 30, 11, 23, tzinfo=UTC)
    doc = build_plate_status(
        operator_id="op",
        facility_id="f",
        plate="ABC123",
        skeleton="A8C123",
        sessions=[
            (
                "s1",
                {
                    "status": "open",
                    "plateRaw": "ABC-123",
                    "entry": {"at": now},
                    "exit": None,
                    "payment": None,
                    "driverUid": None,
                    "fee": None,
                },
            )
        ],
        passes=[],
        grace_minutes=10,
        tariff_terms=lambda _entry: (15, 15),
        drivers_with_saved_card=set(),
        now=now,
    )
    later = now + timedelta(minutes=20)
    english = check("ABC123", [doc], later, "Europe/Helsinki")
    finnish = check("ABC123", [doc], later, "Europe/Helsinki", language="fi")
    assert english.summary == (
        "Vehicle is parked without payment but is within its free period or grace "
        "until 14:48 — do not fine yet."
    )
    assert finnish.summary == (
        "Ajoneuvo on pysäköity maksamatta, mutta sen maksuton aika tai varoaika kestää "
        "14:48 asti — älä määrää maksua vielä."
    )
    assert finnish.model_dump(exclude={"summary"}) == english.model_dump(exclude={"summary"})
