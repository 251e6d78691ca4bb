"""Receipts: per-operator sequential numbers, VAT per the operator's rate, fee lines.

A receipt is written in the same transaction that marks its payment paid, together with the
operator's counter (receiptCounters/{operatorId}); numbers therefore have no gaps and no
duplicates, and a replayed outcome finds the receipt already there and writes nothing.
Prices are consumer prices including VAT; the VAT share is computed from the gross total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_document import DocumentSnapshot

from parkingdone import messages
from parkingdone.payments import lookups
from parkingdone.payments.models import RECEIPT_COUNTERS, RECEIPTS, Receipt, ReceiptLine


def vat_included(total: int, vat_rate_bps: int) -> int:
    """The VAT contained in a gross `total` at `vat_rate_bps` (2550 = 25.5 %), half up."""
    if total <= 0 or vat_rate_bps <= 0:
        return 0
    numerator = total * vat_rate_bps
    denominator = 10000 + vat_rate_bps
    return (2 * numerator + denominator) // (2 * denominator)


def receipt_number(operator_id: str, number: int) -> str:
    return f"{operator_id.upper()}-{number:06d}"


def lines_from_fee(
    fee: Mapping[str, Any] | None, fallback: str | None, total: int, language: str = "en"
) -> list[ReceiptLine]:
    """Receipt lines from a stored fee breakdown (zero-amount free lines are shown too), in
    `language` (the driver's) where the catalogue has the line's text. `fallback` names the
    one line of a pass or of a fee without breakdown (None: "Parking" in `language`)."""
    lines = [
        ReceiptLine(
            description=_line_text(line, language),
            quantity=line.get("quantity"),
            unit_price=line.get("unitPrice"),
            amount=int(line.get("amount", 0)),
        )
        for line in (fee or {}).get("lines", [])
    ]
    if sum(line.amount for line in lines) != total or not lines:
        # A pass, or a fee without breakdown: one line for the whole amount.
        text = fallback or messages.text("receipt.parking", language)
        lines = [ReceiptLine(description=text, quantity=1, unit_price=total, amount=total)]
    return lines


def _line_text(line: Mapping[str, Any], language: str) -> str:
    key = line.get("textKey")
    if isinstance(key, str) and key in messages.CATALOGUE:
        return messages.text(key, language, **(line.get("textValues") or {}))
    return str(line.get("description", ""))


def build(
    *,
    operator_id: str,
    seller_name: str,
    facility_id: str,
    payment_id: str,
    number: int,
    issued_at: datetime,
    currency: str,
    total: int,
    vat_rate_bps: int,
    lines: Iterable[ReceiptLine],
    session_id: str | None = None,
    pass_id: str | None = None,
    uid: str | None = None,
    plate: str | None = None,
    language: str = "en",
) -> Receipt:
    vat = vat_included(total, vat_rate_bps)
    return Receipt(
        operator_id=operator_id,
        facility_id=facility_id,
        payment_id=payment_id,
        session_id=session_id,
        pass_id=pass_id,
        uid=uid,
        plate=plate,
        number=number,
        receipt_number=receipt_number(operator_id, number),
        issued_at=issued_at,
        currency=currency,
        total=total,
        vat_rate_bps=vat_rate_bps,
        vat_amount=vat,
        net_amount=total - vat,
        lines=list(lines),
        seller_name=seller_name,
        language=messages.language_of(language),
    )


def language_for(db: Client, uid: str | None, operator_language: str) -> str:
    """A receipt is written in its driver's language; without a driver (an invoiced stay),
    in the operator's."""
    profile = lookups.driver_profile(db, uid)
    return profile.language if profile is not None else operator_language


def counter_snapshot(db: Client, transaction: Transaction, operator_id: str) -> DocumentSnapshot:
    """Read the operator's counter inside `transaction` (before any of its writes)."""
    return db.collection(RECEIPT_COUNTERS).document(operator_id).get(transaction=transaction)


def next_number(counter: DocumentSnapshot) -> int:
    return int((counter.to_dict() or {}).get("last", 0)) + 1 if counter.exists else 1


def write(
    db: Client, transaction: Transaction, receipt: Receipt, receipt_id: str, now: datetime
) -> None:
    """Write the receipt and advance the counter (after `counter_snapshot` in the same txn)."""
    transaction.set(
        db.collection(RECEIPT_COUNTERS).document(receipt.operator_id),
        {"operatorId": receipt.operator_id, "last": receipt.number, "updatedAt": now},
    )
    transaction.set(db.collection(RECEIPTS).document(receipt_id), receipt.to_doc())
