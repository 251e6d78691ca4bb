"""The operations dashboard's figures. Periods are local calendar days in the operator's time
zone. Nothing here reads sessions or payments one by one.

The dashboard reads the figures the triggers keep (`kept_*`, admin/aggregates.py): a bounded
batch of shard documents by id per render, whatever the history. The same figures from
Firestore aggregation queries (`figures`, `revenue_trend`, `occupancy`, `invoices`: a count or
sum over an index, one read per 1,000 entries, cost growing with the history) remain as the
reference the tests compare the kept figures with.
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

from parkingdone import settings
from parkingdone.models import activity_feed, facilities, payments, sessions
from parkingdone.models import figures as stored
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


def session_items(doc: sessions.SessionDoc) -> list[FeedItem]:
    """A stay's feed items (pure)."""
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


def payment_items(doc: payments.PaymentDoc) -> list[FeedItem]:
    """A payment's feed items: paid or failed, and each succeeded refund (pure)."""
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
            items.extend(session_items(doc))
    payment_snapshots = payment_docs.result()
    for snapshot in payment_snapshots:
        doc = payments.PaymentDoc.from_snapshot(snapshot)
        if doc is not None:
            items.extend(payment_items(doc))
    cost.queries += 2
    cost.reads += max(1, len(snapshots)) + max(1, len(payment_snapshots))
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]


# --- from the trigger-kept figures (admin/aggregates.py): what the dashboard shows ---------


def _sum_into(into: dict[str, Any], doc: dict[str, Any]) -> None:
    """Add a shard document's numbers into `into`, map by map."""
    for key, value in doc.items():
        if isinstance(value, dict):
            _sum_into(into.setdefault(key, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool):
            into[key] = into.get(key, 0) + value


def _trend_starts(now: datetime, zone: str) -> list[datetime]:
    return [local_midnight(now, zone, back) for back in range(TREND_DAYS - 1, -1, -1)]


def _day_paths(operator_id: str, starts: list[datetime]) -> list[tuple[str, str]]:
    months = sorted({s.date().isoformat()[:7] for s in starts})
    return [
        (stored.DAILY, stored.daily_shard_id(operator_id, month, shard))
        for month in months
        for shard in range(settings.FIGURE_SHARDS)
    ]


def _totals_paths(operator_id: str) -> list[tuple[str, str]]:
    return [
        (stored.TOTALS, stored.totals_shard_id(operator_id, shard))
        for shard in range(settings.FIGURE_SHARDS)
    ]


def _read(db: Client, paths: list[tuple[str, str]], cost: Cost) -> list[dict[str, Any]]:
    cost.queries += 1  # one batch get
    cost.reads += len(paths)
    return stored.read_shards(db, paths)


def _days(docs: list[dict[str, Any]], starts: list[datetime]) -> list[dict[str, int]]:
    """Each day's figures summed over the month shard documents."""
    months: dict[str, dict[str, Any]] = {}
    for doc in docs:
        _sum_into(months.setdefault(str(doc.get("month", "")), {}), doc.get("days") or {})
    days = []
    for start in starts:
        iso = start.date().isoformat()
        days.append(months.get(iso[:7], {}).get(iso[8:], {}))
    return days


def _totals(docs: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for doc in docs:
        _sum_into(total, {k: v for k, v in doc.items() if k != "shard"})
    return total


def kept_figures(db: Client, operator_id: str, zone: str, currency: str, now: datetime) -> Figures:
    """The KPIs from the stored figures: the shards of at most two months and the totals'
    shards, in one batch get, whatever the history."""
    cost = Cost()
    starts = _trend_starts(now, zone)
    day_paths, totals_paths = _day_paths(operator_id, starts), _totals_paths(operator_id)
    docs = _read(db, day_paths + totals_paths, cost)
    days = _days(docs[: len(day_paths)], starts)
    totals = _totals(docs[len(day_paths) :])
    periods = []
    for label, length in PERIODS:
        p = PeriodFigures(label, starts[-length])
        for day in days[-length:]:
            p.gross += int(day.get("gross", 0))
            p.platform_fee += int(day.get("platformFee", 0))
            p.refunded += int(day.get("refunded", 0))
            p.payments += int(day.get("payments", 0))
            p.sessions += int(day.get("sessions", 0))
            p.charged += int(day.get("charged", 0))
            p.collected += int(day.get("collected", 0))
        periods.append(p)
    unpaid, unpaid_count = int(totals.get("unpaidAmount", 0)), int(totals.get("unpaidCount", 0))
    return Figures(currency, periods, unpaid, unpaid_count, cost)


def kept_trend(
    db: Client, operator_id: str, zone: str, now: datetime, cost: Cost | None = None
) -> list[tuple[date, int]]:
    """Gross revenue collected per local day, the last 30 days, oldest first."""
    cost = cost if cost is not None else Cost()
    starts = _trend_starts(now, zone)
    days = _days(_read(db, _day_paths(operator_id, starts), cost), starts)
    return [(s.date(), int(d.get("gross", 0))) for s, d in zip(starts, days, strict=True)]


def kept_occupancy(db: Client, operator_id: str, cost: Cost | None = None) -> list[Occupancy]:
    """Cars inside now per facility against capacity: the facilities and the totals' shards."""
    cost = cost if cost is not None else Cost()
    all_facilities = facilities.of_operator(db, operator_id)
    cost.queries += 1
    cost.reads += max(1, len(all_facilities))
    inside = _totals(_read(db, _totals_paths(operator_id), cost)).get("inside") or {}
    return [Occupancy(f, int(inside.get(f.id, 0))) for f in all_facilities]


def kept_invoices(db: Client, operator_id: str, cost: Cost | None = None) -> list[InvoiceLine]:
    cost = cost if cost is not None else Cost()
    lines = _totals(_read(db, _totals_paths(operator_id), cost)).get("invoices") or {}
    return [
        InvoiceLine(
            s, int(lines.get(s, {}).get("count", 0)), int(lines.get(s, {}).get("amount", 0))
        )
        for s in payments.INVOICE_STATUSES
    ]


def kept_today(
    db: Client, operators_and_zones: list[tuple[str, str]], now: datetime
) -> dict[str, tuple[dict[str, int], dict[str, Any]]]:
    """Each operator's figures of its local today and its running totals, from the stored
    shards of every operator in one batch get (the super admin's operators list)."""
    cost = Cost()
    plan = []
    for operator_id, zone in operators_and_zones:
        starts = [local_midnight(now, zone)]
        plan.append(
            (operator_id, starts, _day_paths(operator_id, starts), _totals_paths(operator_id))
        )
    docs = _read(db, [p for _, _, days, totals in plan for p in days + totals], cost)
    result, at = {}, 0
    for operator_id, starts, days, totals in plan:
        day_docs, at = docs[at : at + len(days)], at + len(days)
        totals_docs, at = docs[at : at + len(totals)], at + len(totals)
        result[operator_id] = (_days(day_docs, starts)[0], _totals(totals_docs))
    return result


def merge_feed(shards: list[list[activity_feed.FeedEntry]], limit: int) -> list[FeedItem]:
    """The newest `limit` items of the feed's shards, newest first (pure)."""
    entries = sorted(
        (e for shard in shards for e in shard), key=lambda e: (e.at, e.key), reverse=True
    )
    return [FeedItem(e.at, e.kind, e.text, e.session_id) for e in entries[:limit]]


def kept_activity(
    db: Client, operator_id: str, limit: int | None = None, cost: Cost | None = None
) -> list[FeedItem]:
    """The activity feed from its trigger-kept shards (admin/aggregates.py): one batch get of
    FIGURE_SHARDS documents by id, whatever the history."""
    cost = cost if cost is not None else Cost()
    cost.queries += 1
    cost.reads += settings.FIGURE_SHARDS
    docs = activity_feed.read_all(db, operator_id, settings.FIGURE_SHARDS)
    return merge_feed([d.items for d in docs], limit or settings.ACTIVITY_FEED_ITEMS)
