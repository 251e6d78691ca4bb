"""Figures kept by triggers: the increments a session or payment write makes to the
dashboard's aggregate documents, so a page reads a few documents instead of counting.

    dailyStats/{operatorId}__{YYYY-MM-DD}   one local day (the operator's time zone):
        gross, platformFee, refunded, payments   collected that day (by paidAt)
        charged, collected                       payments created that day
        sessions                                 stays recorded that day (superseded left out)
    operatorStats/{operatorId}              now:
        unpaidAmount, unpaidCount                still owed
        invoices.{status}.count / .amount        invoice workflow
        inside.{facilityId}                      open stays per facility

`deltas` is pure: the figures of the document after the write minus those before, so any
write (create, update, delete, a status going back) moves the totals by exactly its effect.
`apply_deltas` writes them as Firestore increments. Not yet wired: the sessions and payments
triggers call `apply_deltas(db, deltas(...))` once the session triggers share one dispatcher;
a redelivered trigger must be recognised (event id) before applying, increments are not
idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from google.cloud import firestore
from google.cloud.firestore import Client

from parkingdone.models import payments, sessions
from parkingdone.models.daily_stats import COLLECTION as DAILY
from parkingdone.models.operator_stats import COLLECTION as TOTALS

Kind = Literal["session", "payment"]


@dataclass(frozen=True)
class Increment:
    collection: str
    doc_id: str
    field: str  # dotted path inside the document
    value: int


def day_id(operator_id: str, at: datetime, zone: str) -> str:
    return f"{operator_id}__{at.astimezone(ZoneInfo(zone)).date().isoformat()}"


def _session_figures(doc: dict[str, Any], zone: str) -> dict[tuple[str, str, str], int]:
    figures: dict[tuple[str, str, str], int] = {}
    operator_id, status = doc.get("operatorId"), doc.get("status")
    if not operator_id or status not in sessions.LISTED_STATUSES:
        return figures
    created = doc.get("createdAt")
    if isinstance(created, datetime):
        figures[(DAILY, day_id(operator_id, created, zone), "sessions")] = 1
    if status == "open" and doc.get("facilityId"):
        figures[(TOTALS, operator_id, f"inside.{doc['facilityId']}")] = 1
    return figures


def _payment_figures(doc: dict[str, Any], zone: str) -> dict[tuple[str, str, str], int]:
    figures: dict[tuple[str, str, str], int] = defaultdict(int)
    operator_id, status = doc.get("operatorId"), doc.get("status")
    if not operator_id or not status:
        return {}
    amount = int(doc.get("amount") or 0)
    paid_at, created = doc.get("paidAt"), doc.get("createdAt")
    if status in payments.COLLECTED and isinstance(paid_at, datetime):
        day = day_id(operator_id, paid_at, zone)
        figures[(DAILY, day, "gross")] += amount
        figures[(DAILY, day, "platformFee")] += int(doc.get("platformFee") or 0)
        figures[(DAILY, day, "refunded")] += int(doc.get("refundedAmount") or 0)
        figures[(DAILY, day, "payments")] += 1
    if isinstance(created, datetime):
        day = day_id(operator_id, created, zone)
        figures[(DAILY, day, "charged")] += amount
        if status in payments.COLLECTED:
            figures[(DAILY, day, "collected")] += amount
    if status in payments.OPEN_UNPAID:
        figures[(TOTALS, operator_id, "unpaidAmount")] += amount
        figures[(TOTALS, operator_id, "unpaidCount")] += 1
    if doc.get("provider") == "invoice" and status in payments.INVOICE_STATUSES:
        figures[(TOTALS, operator_id, f"invoices.{status}.count")] += 1
        figures[(TOTALS, operator_id, f"invoices.{status}.amount")] += amount
    return dict(figures)


def figures(kind: Kind, doc: dict[str, Any] | None, zone: str) -> dict[tuple[str, str, str], int]:
    """What one document contributes to the aggregates."""
    if not doc:
        return {}
    return _session_figures(doc, zone) if kind == "session" else _payment_figures(doc, zone)


def deltas(
    kind: Kind,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    zone: str = "Europe/Helsinki",
) -> list[Increment]:
    """The increments a write from `before` to `after` makes (none when nothing counted)."""
    old, new = figures(kind, before, zone), figures(kind, after, zone)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        value = new.get(key, 0) - old.get(key, 0)
        if value:
            changes.append(Increment(*key, value))
    return changes


def _nested(field: str, value: Any) -> dict[str, Any]:
    head, _, rest = field.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def apply_deltas(db: Client, increments: list[Increment]) -> None:
    """Write the increments in one batch (one write per aggregate document)."""
    if not increments:
        return
    documents: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for inc in increments:
        body = documents[(inc.collection, inc.doc_id)]
        _merge(body, _nested(inc.field, firestore.Increment(inc.value)))
    batch = db.batch()
    for (collection, doc_id), body in documents.items():
        operator_id, _, day = doc_id.partition("__")
        body = {**body, "operatorId": operator_id, **({"date": day} if day else {})}
        batch.set(db.collection(collection).document(doc_id), body, merge=True)
    batch.commit()
