"""The session list as CSV: one row per stay, local times with their zone, money as decimals
with the currency, and every cell that a spreadsheet would run as a formula neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from parkingdone.admin.formatting import decimal_amount, local_iso
from parkingdone.models.sessions import SessionDoc

HEADER = (
    "session_id",
    "facility_id",
    "facility",
    "plate",
    "plate_as_read",
    "status",
    "entry_local",
    "exit_local",
    "time_zone",
    "fee",
    "payment_status",
    "paid",
    "refunded",
    "currency",
    "receipt_number",
    "flags",
    "review_required",
    "registered_driver",
)
# A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row(doc: SessionDoc, facility_name: str, zone: str) -> list[str]:
    payment = doc.payment
    currency = (payment.currency if payment and payment.currency else None) or (
        (doc.fee or {}).get("currency") or "EUR"
    )
    fee_total = (doc.fee or {}).get("total")
    paid = payment.amount if payment and payment.status in ("succeeded", "paid") else None
    values = [
        doc.id,
        doc.facility_id,
        facility_name,
        doc.plate,
        doc.plate_raw,
        doc.status,
        local_iso(doc.entry.at if doc.entry else None, zone),
        local_iso(doc.exit.at if doc.exit else None, zone),
        zone,
        decimal_amount(fee_total, currency) if isinstance(fee_total, int) else "",
        payment.status if payment and payment.status else "",
        decimal_amount(paid, currency),
        decimal_amount(payment.refunded_amount, currency)
        if payment and payment.refunded_amount
        else "",
        currency,
        payment.receipt_number if payment and payment.receipt_number else "",
        " ".join(doc.flags),
        "yes" if doc.review_required else "no",
        "yes" if doc.driver_uid else "no",
    ]
    return [neutralise(v) for v in values]


def lines(docs: Iterable[SessionDoc], facilities: dict[str, tuple[str, str]]) -> Iterator[str]:
    """CSV text in chunks: the header, then one line per session."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield buffer.getvalue()
    for doc in docs:
        buffer.seek(0)
        buffer.truncate()
        name, zone = facilities.get(doc.facility_id, (doc.facility_id, "UTC"))
        writer.writerow(row(doc, name, zone))
        yield buffer.getvalue()


def stream(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Any list as CSV text in chunks (the ticket export uses it): every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(header))
    yield buffer.getvalue()
    for values in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(v) for v in values])
        yield buffer.getvalue()
