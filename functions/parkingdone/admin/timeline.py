"""A stay's evidence chain, in order: entry and photo, end of the free period, pushes,
every enforcement check of the plate there, payment attempts and invoices, refunds,
corrections, exit and photo. Each item has its time and its source; `build` is pure, `load`
does the reads (a handful of indexed queries for one stay)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.cloud.firestore import Client

from parkingdone import tariffs
from parkingdone.admin import formatting
from parkingdone.models import disputes, enforcement_checks, events, payments, pushes
from parkingdone.models.disputes import DisputeDoc
from parkingdone.models.enforcement_checks import CheckDoc
from parkingdone.models.events import EventDoc
from parkingdone.models.facilities import FacilityDoc
from parkingdone.models.payments import PaymentDoc
from parkingdone.models.pushes import PushDoc
from parkingdone.models.sessions import SessionDoc

CHECK_WINDOW_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Item:
    at: datetime
    kind: str
    title: str
    detail: str
    source: str
    photo: str | None = None  # "entry" | "exit": the stay has a stored image
    fine: bool | None = None


@dataclass
class Evidence:
    events: dict[str, EventDoc]
    pushes: list[PushDoc]
    checks: list[CheckDoc]
    payments: list[PaymentDoc]
    dispute: DisputeDoc | None = None


def free_until(facility: FacilityDoc, entry_at: datetime) -> datetime | None:
    """End of the free period of the tariff version in force at entry (None: no free time)."""
    try:
        versions = [tariffs.TariffVersion.model_validate(v) for v in facility.tariffs]
        version = tariffs.select_version(versions, entry_at)
    except (tariffs.TariffError, ValueError):
        return None
    minutes = version.free_period.minutes if version.free_period else 0
    return entry_at + timedelta(minutes=minutes) if minutes else None


def load(db: Client, session: SessionDoc, now: datetime | None = None) -> Evidence:
    now = now or datetime.now(UTC)
    keys = [m.event_id for m in (session.entry, session.exit) if m is not None and m.event_id]
    start = session.entry.at if session.entry else (session.exit.at if session.exit else now)
    end = (session.exit.at if session.exit else now) + CHECK_WINDOW_AFTER
    return Evidence(
        events=events.get_many(db, keys),
        pushes=pushes.of_session(db, session.id),
        checks=enforcement_checks.of_plate_between(
            db, session.facility_id, session.plate, start, end
        ),
        payments=payments.of_session(db, session.id),
        dispute=disputes.of_session(db, session.id),
    )


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency}"


def _event_source(event: EventDoc | None, fallback: str, zone: str) -> str:
    if event is None:
        return fallback
    parts = [event.source.upper() if event.source == "gps" else "ANPR camera (webhook)"]
    if event.external_id:
        parts.append(f"event {event.external_id}")
    if event.received_at:
        parts.append(f"received {formatting.local(event.received_at, zone)}")
    return ", ".join(parts)


def build(session: SessionDoc, facility: FacilityDoc, evidence: Evidence) -> list[Item]:
    items: list[Item] = []
    plate = session.plate_raw or session.plate
    if session.entry is not None:
        event = evidence.events.get(session.entry.event_id or "")
        items.append(
            Item(
                session.entry.at,
                "entry",
                "Entry",
                f"{plate} entered {facility.name}",
                _event_source(event, session.source, facility.time_zone),
                photo="entry" if session.image("entry") else None,
            )
        )
        ends = free_until(facility, session.entry.at)
        if ends is not None:
            items.append(
                Item(
                    ends,
                    "free_period",
                    "Free period ends",
                    "Charged from entry if still inside",
                    "tariff in force at entry",
                )
            )
    for push in evidence.pushes:
        if push.created_at is None:
            continue
        outcome = f"{push.status or 'recorded'}: {push.sent} device(s)"
        items.append(
            Item(
                push.created_at,
                "push",
                f"Push: {push.kind.replace('_', ' ')}",
                outcome,
                "push notification to the driver",
            )
        )
    for check in evidence.checks:
        if check.kind != "check":
            continue
        detail = f"answer {check.status}, shouldFine {str(bool(check.should_fine)).lower()}"
        if check.confusable_matches:
            detail += f"; look-alikes {', '.join(check.confusable_matches)}"
        items.append(
            Item(
                check.at,
                "check",
                "Enforcement check",
                detail,
                f"enforcement device {check.key_label or ''}".strip(),
                fine=check.should_fine,
            )
        )
    for payment in evidence.payments:
        currency = payment.currency
        if payment.created_at:
            attempt = f"attempt {payment.attempt} via {payment.provider or '–'}"
            items.append(
                Item(
                    payment.created_at,
                    "payment",
                    "Payment requested",
                    f"{_money(payment.amount, currency)}, {attempt}",
                    "payments",
                )
            )
        if payment.paid_at:
            items.append(
                Item(
                    payment.paid_at,
                    "payment",
                    "Paid",
                    f"{_money(payment.amount, currency)}"
                    + (f", receipt {payment.receipt_number}" if payment.receipt_number else ""),
                    "payments",
                )
            )
        elif payment.status in ("failed", "requires_action") and payment.updated_at:
            items.append(
                Item(
                    payment.updated_at,
                    "failure",
                    f"Payment {payment.status.replace('_', ' ')}",
                    payment.error_code or payment.error_message or "",
                    "payment provider",
                )
            )
        for step in payment.invoice_history:
            at = step.get("at")
            if isinstance(at, datetime):
                detail = " · ".join(str(x) for x in (step.get("reference"), step.get("note")) if x)
                items.append(
                    Item(
                        at,
                        "invoice",
                        f"Invoice: {str(step.get('action')).replace('_', ' ')}",
                        detail,
                        f"staff {step.get('by')}",
                    )
                )
        for refund in payment.refunds:
            at = refund.updated_at or refund.created_at
            if at is not None:
                items.append(
                    Item(
                        at,
                        "refund",
                        f"Refund {refund.status}",
                        f"{_money(refund.amount, currency)}"
                        + (f": {refund.reason}" if refund.reason else ""),
                        f"staff {refund.requested_by or ''}".strip(),
                    )
                )
    wallet_paid = session.payment.wallet_amount if session.payment else None
    if wallet_paid and session.payment:
        at = session.payment.paid_at or (session.exit.at if session.exit else None)
        if at is not None:
            items.append(
                Item(
                    at,
                    "payment",
                    "Paid from wallet",
                    _money(wallet_paid, session.payment.currency or "EUR"),
                    "driver's wallet",
                )
            )
    dispute = evidence.dispute
    if dispute is not None:
        items.append(
            Item(
                dispute.opened_at,
                "dispute",
                "Dispute opened",
                f"{dispute.reason.replace('_', ' ')}: {dispute.statement}".strip(": "),
                "driver" if dispute.opened_by_role == "driver" else f"staff {dispute.opened_by}",
            )
        )
        if dispute.resolution is not None:
            res = dispute.resolution
            refund = (
                f", {_money(res.refund_amount, dispute.currency)} refunded"
                if res.refund_amount
                else ""
            )
            items.append(
                Item(
                    res.at,
                    "dispute",
                    f"Dispute {res.decision}",
                    f"{res.reason}{refund}",
                    f"staff {res.by}",
                )
            )
    for correction in session.corrections:
        if not correction.is_plate_correction:
            continue  # a payment correction shows with the payments
        items.append(
            Item(
                correction.at,
                "correction",
                "Plate corrected",
                f"{correction.from_plate} → {correction.to_plate}: {correction.reason}",
                f"staff {correction.by_email or correction.by}",
            )
        )
    if session.exit is not None:
        event = evidence.events.get(session.exit.event_id or "")
        items.append(
            Item(
                session.exit.at,
                "exit",
                "Exit",
                f"{plate} left {facility.name}",
                _event_source(event, session.source, facility.time_zone),
                photo="exit" if session.image("exit") else None,
            )
        )
    order = {"entry": 0, "exit": 9}
    items.sort(key=lambda i: (i.at, order.get(i.kind, 5)))
    return items
