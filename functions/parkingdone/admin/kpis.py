"""The operations dashboard's figures, from Firestore aggregation queries.

Nothing here reads sessions or payments one by one: each figure is a count or sum the
database computes over an index (billed one read per 1,000 index entries). The queries of one
tile run concurrently. Periods are local calendar days in the operator's time zone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cachetools import TTLCache
from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone.models import facilities, payments, sessions
from parkingdone.models.facilities import FacilityDoc

PERIODS = (("today", 1), ("7 days", 7), ("30 days", 30))
TREND_DAYS = 30
_POOL = ThreadPoolExecutor(max_workers=12, thread_name_prefix="kpi")
# Past days' revenue changes only by a late refund: cached briefly per process.
_DAY_CACHE: TTLCache[tuple[str, date], int] = TTLCache(maxsize=4096, ttl=600.0)
_DAY_CACHE_LOCK = threading.Lock()


@dataclass
class Cost:
    """Firestore reads a render cost: aggregation queries bill one read per 1,000 entries."""

    queries: int = 0
    reads: int = 0

    def add(self, matched: int) -> None:
        self.queries += 1
        self.reads += max(1, -(-matched // 1000))


@dataclass
class PeriodFigures:
    label: str
    start: datetime
    gross: int = 0
    platform_fee: int = 0
    refunded: int = 0
    payments: int = 0
    sessions: int = 0
    charged: int = 0
    collected: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.refunded

    @property
    def collection_rate(self) -> float | None:
        return self.collected / self.charged if self.charged else None


@dataclass
class Figures:
    currency: str
    periods: list[PeriodFigures]
    open_unpaid: int
    open_unpaid_count: int
    cost: Cost = field(default_factory=Cost)


def local_midnight(now: datetime, zone: str, days_back: int = 0) -> datetime:
    """Start of the local calendar day `days_back` days before `now`'s, as an aware instant."""
    tz = ZoneInfo(zone)
    day = now.astimezone(tz).date() - timedelta(days=days_back)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _aggregate(query: Any, sums: tuple[str, ...] = ()) -> dict[str, int]:
    aggregation = query.count(alias="count")
    for name in sums:
        aggregation = aggregation.sum(name, alias=name)
    values: dict[str, int] = {}
    for row in aggregation.get():
        for result in row:
            values[result.alias] = int(result.value or 0)
    return values


def _payments(db: Client, operator_id: str) -> Any:
    return db.collection(payments.COLLECTION).where(
        filter=FieldFilter("operatorId", "==", operator_id)
    )


def _run(jobs: dict[str, Callable[[], dict[str, int]]], cost: Cost) -> dict[str, dict[str, int]]:
    futures = {name: _POOL.submit(job) for name, job in jobs.items()}
    results = {name: future.result() for name, future in futures.items()}
    for values in results.values():
        cost.add(values.get("count", 0))
    return results


def figures(db: Client, operator_id: str, zone: str, currency: str, now: datetime) -> Figures:
    cost = Cost()
    jobs: dict[str, Callable[[], dict[str, int]]] = {}
    periods = [PeriodFigures(label, local_midnight(now, zone, days - 1)) for label, days in PERIODS]
    for p in periods:
        base = _payments(db, operator_id)
        paid = base.where(filter=FieldFilter("status", "in", list(payments.COLLECTED)))
        jobs[f"revenue {p.label}"] = lambda q=paid, s=p.start: _aggregate(
            q.where(filter=FieldFilter("paidAt", ">=", s)),
            ("amount", "platformFee", "refundedAmount"),
        )
        jobs[f"charged {p.label}"] = lambda q=base, s=p.start: _aggregate(
            q.where(filter=FieldFilter("createdAt", ">=", s)), ("amount",)
        )
        jobs[f"collected {p.label}"] = lambda q=paid, s=p.start: _aggregate(
            q.where(filter=FieldFilter("createdAt", ">=", s)), ("amount",)
        )
        jobs[f"sessions {p.label}"] = lambda s=p.start: _aggregate(
            db.collection(sessions.COLLECTION)
            .where(filter=FieldFilter("operatorId", "==", operator_id))
            .where(filter=FieldFilter("status", "in", list(sessions.LISTED_STATUSES)))
            .where(filter=FieldFilter("createdAt", ">=", s))
        )
    jobs["open unpaid"] = lambda: _aggregate(
        _payments(db, operator_id).where(
            filter=FieldFilter("status", "in", list(payments.OPEN_UNPAID))
        ),
        ("amount",),
    )
    results = _run(jobs, cost)
    for p in periods:
        revenue = results[f"revenue {p.label}"]
        p.gross, p.platform_fee = revenue.get("amount", 0), revenue.get("platformFee", 0)
        p.refunded, p.payments = revenue.get("refundedAmount", 0), revenue.get("count", 0)
        p.charged = results[f"charged {p.label}"].get("amount", 0)
        p.collected = results[f"collected {p.label}"].get("amount", 0)
        p.sessions = results[f"sessions {p.label}"].get("count", 0)
    unpaid = results["open unpaid"]
    return Figures(currency, periods, unpaid.get("amount", 0), unpaid.get("count", 0), cost)


def revenue_trend(
    db: Client, operator_id: str, zone: str, now: datetime, cost: Cost | None = None
) -> list[tuple[date, int]]:
    """Gross revenue collected per local day, the last 30 days, oldest first."""
    cost = cost if cost is not None else Cost()
    days = [local_midnight(now, zone, back) for back in range(TREND_DAYS - 1, -1, -1)]
    today = days[-1].date()
    jobs: dict[str, Callable[[], dict[str, int]]] = {}
    values: dict[date, int] = {}
    for start in days:
        with _DAY_CACHE_LOCK:
            cached = _DAY_CACHE.get((operator_id, start.date()))
        if start.date() != today and cached is not None:
            values[start.date()] = cached
            continue
        end = local_midnight(start + timedelta(hours=36), zone)
        jobs[start.date().isoformat()] = lambda s=start, e=end: _aggregate(
            _payments(db, operator_id)
            .where(filter=FieldFilter("status", "in", list(payments.COLLECTED)))
            .where(filter=FieldFilter("paidAt", ">=", s))
            .where(filter=FieldFilter("paidAt", "<", e)),
            ("amount",),
        )
    for key, result in _run(jobs, cost).items():
        day = date.fromisoformat(key)
        values[day] = result.get("amount", 0)
        with _DAY_CACHE_LOCK:
            _DAY_CACHE[(operator_id, day)] = values[day]
    return [(start.date(), values[start.date()]) for start in days]


@dataclass
class Occupancy:
    facility: FacilityDoc
    inside: int

    @property
    def share(self) -> float | None:
        cap = self.facility.capacity
        return self.inside / cap if cap else None


def occupancy(db: Client, operator_id: str, cost: Cost | None = None) -> list[Occupancy]:
    """Cars inside now (open stays) per facility, against capacity where set."""
    cost = cost if cost is not None else Cost()
    cost.queries += 1
    all_facilities = facilities.of_operator(db, operator_id)
    cost.reads += max(1, len(all_facilities))
    jobs = {
        f.id: (
            lambda fid=f.id: _aggregate(
                db.collection(sessions.COLLECTION)
                .where(filter=FieldFilter("operatorId", "==", operator_id))
                .where(filter=FieldFilter("facilityId", "==", fid))
                .where(filter=FieldFilter("status", "==", "open"))
            )
        )
        for f in all_facilities
    }
    results = _run(jobs, cost)
    return [Occupancy(f, results[f.id].get("count", 0)) for f in all_facilities]


@dataclass
class InvoiceLine:
    status: str
    count: int
    amount: int


def invoices(db: Client, operator_id: str, cost: Cost | None = None) -> list[InvoiceLine]:
    cost = cost if cost is not None else Cost()
    jobs = {
        status: (
            lambda s=status: _aggregate(
                _payments(db, operator_id)
                .where(filter=FieldFilter("provider", "==", "invoice"))
                .where(filter=FieldFilter("status", "==", s)),
                ("amount",),
            )
        )
        for status in payments.INVOICE_STATUSES
    }
    results = _run(jobs, cost)
    return [
        InvoiceLine(s, results[s].get("count", 0), results[s].get("amount", 0))
        for s in payments.INVOICE_STATUSES
    ]


@dataclass
class FeedItem:
    at: datetime
    kind: str
    text: str
    session_id: str | None


def _session_items(doc: sessions.SessionDoc) -> list[FeedItem]:
    items: list[FeedItem] = []
    plate = doc.plate_raw or doc.plate
    if doc.entry is not None:
        items.append(FeedItem(doc.entry.at, "entry", f"{plate} entered", doc.id))
    if doc.exit is not None:
        items.append(FeedItem(doc.exit.at, "exit", f"{plate} left", doc.id))
    if doc.status in ("anomaly", "missing_exit") and doc.updated_at:
        what = "exit without entry" if doc.status == "anomaly" else "missing exit"
        items.append(FeedItem(doc.updated_at, "anomaly", f"{plate}: {what}", doc.id))
    return items


def _payment_items(doc: payments.PaymentDoc) -> list[FeedItem]:
    items: list[FeedItem] = []
    plate = doc.plate or ""
    amount = f"{doc.amount / 100:.2f} {doc.currency}"
    if doc.status in payments.COLLECTED and doc.paid_at:
        items.append(FeedItem(doc.paid_at, "payment", f"{plate} paid {amount}", doc.session_id))
    elif doc.status in ("failed", "requires_action") and doc.updated_at:
        items.append(
            FeedItem(
                doc.updated_at,
                "failure",
                f"{plate} payment {doc.status.replace('_', ' ')}",
                doc.session_id,
            )
        )
    for refund in doc.refunds:
        if refund.status == "succeeded" and (refund.updated_at or refund.created_at):
            at = refund.updated_at or refund.created_at
            assert at is not None
            text = f"{plate} refunded {refund.amount / 100:.2f} {doc.currency}"
            items.append(FeedItem(at, "refund", text, doc.session_id))
    return items


def activity(
    db: Client, operator_id: str, limit: int = 15, cost: Cost | None = None
) -> list[FeedItem]:
    """The newest entries, exits, payments, failures, refunds and anomalies, newest first."""
    cost = cost if cost is not None else Cost()
    recent_sessions = (
        db.collection(sessions.COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .order_by("updatedAt", direction=firestore.Query.DESCENDING)
        .limit(limit)
    )
    recent_payments = (
        _payments(db, operator_id)
        .order_by("updatedAt", direction=firestore.Query.DESCENDING)
        .limit(limit)
    )
    session_docs, payment_docs = (
        _POOL.submit(recent_sessions.get),
        _POOL.submit(recent_payments.get),
    )
    items: list[FeedItem] = []
    snapshots = session_docs.result()
    for snapshot in snapshots:
        doc = sessions.SessionDoc.from_snapshot(snapshot)
        if doc is not None and doc.status != sessions.SUPERSEDED:
            items.extend(_session_items(doc))
    payment_snapshots = payment_docs.result()
    for snapshot in payment_snapshots:
        doc = payments.PaymentDoc.from_snapshot(snapshot)
        if doc is not None:
            items.extend(_payment_items(doc))
    cost.queries += 2
    cost.reads += max(1, len(snapshots)) + max(1, len(payment_snapshots))
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]


def figures_from_aggregates(
    db: Client, operator_id: str, zone: str, currency: str, now: datetime
) -> tuple[Figures, list[tuple[date, int]]]:
    """The same figures and the 30-day trend from the trigger-kept aggregate documents
    (admin/aggregates.py): 31 reads by id, whatever the history."""
    from parkingdone.admin import aggregates

    cost = Cost()
    starts = [local_midnight(now, zone, back) for back in range(TREND_DAYS - 1, -1, -1)]
    refs = [
        db.collection(aggregates.DAILY).document(aggregates.day_id(operator_id, s, zone))
        for s in starts
    ] + [db.collection(aggregates.TOTALS).document(operator_id)]
    found = {s.reference.path: (s.to_dict() or {}) if s.exists else {} for s in db.get_all(refs)}
    cost.queries, cost.reads = 1, len(refs)
    days = [found.get(ref.path, {}) for ref in refs[:-1]]
    totals = found.get(refs[-1].path, {})
    periods = []
    for label, length in PERIODS:
        window = days[-length:]
        p = PeriodFigures(label, starts[-length])
        for day in window:
            p.gross += int(day.get("gross", 0))
            p.platform_fee += int(day.get("platformFee", 0))
            p.refunded += int(day.get("refunded", 0))
            p.payments += int(day.get("payments", 0))
            p.sessions += int(day.get("sessions", 0))
            p.charged += int(day.get("charged", 0))
            p.collected += int(day.get("collected", 0))
        periods.append(p)
    result = Figures(
        currency,
        periods,
        int(totals.get("unpaidAmount", 0)),
        int(totals.get("unpaidCount", 0)),
        cost,
    )
    trend = [(s.date(), int(d.get("gross", 0))) for s, d in zip(starts, days, strict=True)]
    return result, trend
