"""Figures kept by triggers: what each stay and pass (with its payments) adds to the
dashboard's figures, so a page reads a few shard documents instead of counting.

Logical figures (`figures`, `deltas`, pure):
    {operatorId}__{YYYY-MM-DD} (DAILY), one local day in the operator's time zone:
        gross, platformFee, refunded, payments   collected that day (by paidAt)
        charged, collected                       payments created that day
        sessions                                 stays recorded that day (superseded left out)
    {operatorId} (TOTALS), now:
        unpaidAmount, unpaidCount                still owed
        invoices.{status}.count / .amount        invoice workflow
        inside.{facilityId}                      open stays per facility

Stored (models/figures.py): each subject (a stay or a pass) always adds into one of
settings.FIGURE_SHARDS shards, chosen by its id, so no single document takes every write; a
day's figures sit in its month's shard document (`days.{DD}.{field}`), so the 30 days of the
dashboard are at most two months x shards. A figure is the sum over the shards.

Exactly once under at-least-once triggers: `refresh` recomputes a subject's whole
contribution from its current documents and adds only the difference from the contribution
it last applied (kept in figureContributions). The stay (or pass) and its payments are read
in a read-only transaction, a consistent snapshot that locks nothing: a read-write
transaction's reads hold back every write to what it read until it ends, and a page of the
figures pump would hold back the webhook's and the charge's writes to a hundred stays. The
contribution records that snapshot's read time, and the transaction that applies the
difference applies it only over an older one (`newer_than`), so a late or slow computation
never overwrites a newer one. A replayed or late trigger event finds nothing to add; two
concurrent ones are serialised by the transaction on the contribution document. `build`
makes the same documents from scratch for a backfill or a benchmark, with the same pure
functions.

The activity feed (models/activity_feed.py) is kept in the same transaction: the subject's
feed items (kpis.session_items / payment_items) replace whatever items it had in its shard's
feed document, which keeps its newest settings.ACTIVITY_FEED_ITEMS. Replacing by subject makes
a replay change nothing; a stay deleted (retention) or superseded takes its items out.
"""

from __future__ import annotations

import random
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from google.api_core.exceptions import Aborted
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import settings
from parkingdone.admin import kpis
from parkingdone.models import activity_feed, operators, payments, sessions
from parkingdone.models import figures as stored
from parkingdone.models.figures import DAILY, TOTALS
from parkingdone.models.passes import COLLECTION as PASSES

Kind = Literal["session", "payment"]
Subject = Literal["session", "pass"]
# (collection, document id, field): one field of one stored shard document.
Placed = tuple[str, str, str]


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


def shard_of(subject: Subject, subject_id: str, shards: int | None = None) -> int:
    """The shard a subject always adds into (stable across processes)."""
    key = stored.contribution_id(subject, subject_id).encode()
    return zlib.crc32(key) % (shards or settings.FIGURE_SHARDS)


def place(collection: str, doc_id: str, field: str, shard: int) -> Placed:
    """Where a logical figure of one shard is stored."""
    if collection == DAILY:
        operator_id, _, day = doc_id.rpartition("__")
        month, dd = day[:7], day[8:]
        return DAILY, stored.daily_shard_id(operator_id, month, shard), f"days.{dd}.{field}"
    return TOTALS, stored.totals_shard_id(doc_id, shard), field


def contribution(
    subject: Subject,
    doc: dict[str, Any] | None,
    payment_docs: Iterable[dict[str, Any]],
    zone: str,
    shard: int,
) -> dict[Placed, int]:
    """Everything one stay or pass and its payments add to the stored figures (pure)."""
    total: dict[tuple[str, str, str], int] = defaultdict(int)
    if subject == "session":
        for key, value in figures("session", doc, zone).items():
            total[key] += value
    for payment in payment_docs:
        for key, value in figures("payment", payment, zone).items():
            total[key] += value
    return {place(*key, shard): value for key, value in total.items() if value}


def difference(applied: dict[Placed, int], wanted: dict[Placed, int]) -> list[Increment]:
    """The increments that take the stored figures from `applied` to `wanted` (pure)."""
    changes = []
    for key in sorted(applied.keys() | wanted.keys()):
        value = wanted.get(key, 0) - applied.get(key, 0)
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


def _labels(collection: str, doc_id: str, operator_id: str) -> dict[str, Any]:
    """The plain fields of a shard document (who it belongs to, which month and shard)."""
    rest = doc_id[len(operator_id) + 2 :]
    if collection == DAILY:
        month, _, shard = rest.partition("__")
        return {"operatorId": operator_id, "month": month, "shard": int(shard[1:])}
    return {"operatorId": operator_id, "shard": int(rest[1:])}


def shard_bodies(
    operator_id: str, values: Iterable[Increment], as_increments: bool
) -> dict[tuple[str, str], dict[str, Any]]:
    """The shard documents' bodies: Firestore increments for a live write, plain numbers for a
    rebuild that replaces them. Values for the same field are summed first: a pump page holds
    many stays, and stays of one shard move the same fields (one value per field and write)."""
    totals: dict[Placed, int] = defaultdict(int)
    for inc in values:
        totals[(inc.collection, inc.doc_id, inc.field)] += inc.value
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    for (collection, doc_id, field), total in totals.items():
        key = (collection, doc_id)
        if key not in bodies:
            bodies[key] = _labels(collection, doc_id, operator_id)
        value = firestore.Increment(total) if as_increments else total
        _merge(bodies[key], _nested(field, value))
    return bodies


def _applied_list(values: dict[Placed, int]) -> list[dict[str, Any]]:
    return [{"doc": f"{c}/{d}", "field": f, "value": v} for (c, d, f), v in sorted(values.items())]


def contribution_doc(
    subject: Subject,
    subject_id: str,
    operator_id: str,
    values: dict[Placed, int],
    sources_read_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "operatorId": operator_id,
        "subject": subject,
        "subjectId": subject_id,
        "applied": _applied_list(values),
        "sourcesReadAt": sources_read_at,
        "updatedAt": datetime.now(UTC),
    }


def newer_than(prior: stored.ContributionDoc | None, read_at: datetime) -> bool:
    """The stored contribution was computed from a later snapshot than `read_at`."""
    return bool(prior and prior.sources_read_at and prior.sources_read_at > read_at)


def _applied(doc: stored.ContributionDoc | None) -> dict[Placed, int]:
    if doc is None:
        return {}
    found: dict[Placed, int] = {}
    for a in doc.applied:
        collection, _, doc_id = a.doc.partition("/")
        found[(collection, doc_id, a.field)] = a.value
    return found


# --- the activity feed (pure) -----------------------------------------------------------------


def feed_items(
    subject: Subject,
    subject_id: str,
    doc: dict[str, Any] | None,
    payment_docs: Iterable[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The stored feed items of one stay or pass and its payments (pure)."""
    subject_key = stored.contribution_id(subject, subject_id)
    items: list[kpis.FeedItem] = []
    if subject == "session" and doc and doc.get("status") != sessions.SUPERSEDED:
        items.extend(
            kpis.session_items(sessions.SessionDoc.model_validate({**doc, "id": subject_id}))
        )
    for payment in payment_docs:
        items.extend(kpis.payment_items(payments.PaymentDoc.model_validate(payment)))
    items.sort(key=lambda i: (i.at, i.kind, i.text))
    return [
        {
            "key": f"{subject_key}#{n}",
            "at": i.at,
            "kind": i.kind,
            "text": i.text,
            "sessionId": i.session_id,
            "subject": subject_key,
        }
        for n, i in enumerate(items)
    ]


def newest(items: Iterable[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """The newest `cap` feed items, newest first (pure)."""
    return sorted(items, key=lambda i: (i["at"], i["key"]), reverse=True)[:cap]


def replace_feed_items(
    shard_items: list[dict[str, Any]], subject_key: str, items: list[dict[str, Any]], cap: int
) -> list[dict[str, Any]]:
    """A feed shard's items with one subject's replaced by `items`, capped (pure)."""
    kept = [i for i in shard_items if i.get("subject") != subject_key]
    return newest([*kept, *items], cap)


def feed_doc(operator_id: str, shard: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"operatorId": operator_id, "shard": shard, "items": items}


# --- live: the triggers ----------------------------------------------------------------------

_ATTEMPTS = 6


def operator_zone(db: Client, operator_id: str) -> str:
    """The operator's time zone, through the cached operator loader (models/operators.py)."""
    op = operators.load(db, operator_id)
    return op.time_zone if op else settings.DEFAULT_TIME_ZONE


def _subject_ref(db: Client, subject: Subject, subject_id: str) -> Any:
    collection = sessions.COLLECTION if subject == "session" else PASSES
    return db.collection(collection).document(subject_id)


def refresh(db: Client, subject: Subject, subject_id: str) -> list[Increment]:
    """Bring the stored figures up to date with one stay or pass and its payments; returns the
    increments applied (none when the figures already count its current state)."""
    return refresh_many(db, subject, [subject_id])


_IN_QUERY_VALUES = 30  # Firestore's limit on the values of one "in" filter


def _read_sources(
    db: Client, subject: Subject, ids: list[str]
) -> tuple[dict[str, dict[str, Any] | None], dict[str, list[dict[str, Any]]], datetime]:
    """The subjects and their payments as of one instant, read without locking them; returns
    {id: document or None}, {id: [payment]} and the snapshot's read time."""
    subject_refs = [_subject_ref(db, subject, i) for i in ids]
    link = "sessionId" if subject == "session" else "passId"

    @firestore.transactional
    def read(transaction: Transaction):
        found = list(transaction.get_all(subject_refs))
        paid = []
        for start in range(0, len(ids), _IN_QUERY_VALUES):
            chunk = ids[start : start + _IN_QUERY_VALUES]
            query = db.collection(payments.COLLECTION).where(filter=FieldFilter(link, "in", chunk))
            paid.extend(query.get(transaction=transaction))
        return found, paid

    found, paid_snapshots = read(db.transaction(read_only=True))
    read_at = max(s.read_time for s in [*found, *paid_snapshots])
    docs = {s.id: (s.to_dict() if s.exists else None) for s in found}
    paid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for payment in paid_snapshots:
        body = payment.to_dict() or {}
        paid[body.get(link, "")].append(body)
    return docs, paid, read_at


def refresh_many(db: Client, subject: Subject, subject_ids: Iterable[str]) -> list[Increment]:
    """`refresh` for many stays or passes at once (the figures pump's page): each one's
    contribution against what it last added, the shard increments summed per document, in
    one transaction that reads only figure documents."""
    ids = list(dict.fromkeys(subject_ids))
    if not ids:
        return []
    contribution_refs = [stored.contribution_ref(db, subject, i) for i in ids]

    @firestore.transactional
    def run(transaction: Transaction) -> list[Increment]:
        docs, paid, read_at = _read_sources(db, subject, ids)
        found = {s.reference.path: s for s in transaction.get_all(contribution_refs)}
        plans = []
        for subject_id, cref in zip(ids, contribution_refs, strict=True):
            prior = stored.ContributionDoc.from_snapshot(found.get(cref.path))
            if newer_than(prior, read_at):
                continue  # a later snapshot of this subject is already counted
            doc = docs.get(subject_id)
            payment_docs = paid.get(subject_id, [])
            operator_id = next(
                (d.get("operatorId") for d in [doc or {}, *payment_docs] if d.get("operatorId")),
                prior.operator_id if prior else None,
            )
            if operator_id:
                plans.append((subject_id, cref, prior, doc, payment_docs, operator_id))
        feed_keys = sorted({(p[5], shard_of(subject, p[0])) for p in plans})
        feed_refs = [activity_feed.shard_ref(db, op, shard) for op, shard in feed_keys]
        feed_found = (
            {s.reference.path: s for s in transaction.get_all(feed_refs)} if feed_refs else {}
        )
        feeds = {}
        for key, feed_ref in zip(feed_keys, feed_refs, strict=True):
            snapshot = feed_found.get(feed_ref.path)
            body = snapshot.to_dict() if snapshot is not None and snapshot.exists else {}
            feeds[key] = list((body or {}).get("items") or [])
        original = {
            key: newest(items, settings.ACTIVITY_FEED_ITEMS) for key, items in feeds.items()
        }

        applied: dict[str, list[Increment]] = defaultdict(list)
        for subject_id, cref, prior, doc, payment_docs, operator_id in plans:
            shard = shard_of(subject, subject_id)
            wanted = contribution(subject, doc, payment_docs, operator_zone(db, operator_id), shard)
            subject_key = stored.contribution_id(subject, subject_id)
            feeds[(operator_id, shard)] = replace_feed_items(
                feeds[(operator_id, shard)],
                subject_key,
                feed_items(subject, subject_id, doc, payment_docs),
                settings.ACTIVITY_FEED_ITEMS,
            )
            applied[operator_id].extend(difference(_applied(prior), wanted))
            # Written even when nothing changed, and kept when it adds nothing (a stay
            # deleted): its read time keeps an older computation, still running somewhere,
            # from replacing what this one saw.
            transaction.set(
                cref, contribution_doc(subject, subject_id, operator_id, wanted, read_at)
            )
        for (operator_id, shard), feed_ref in zip(feed_keys, feed_refs, strict=True):
            if feeds[(operator_id, shard)] != original[(operator_id, shard)]:
                transaction.set(feed_ref, feed_doc(operator_id, shard, feeds[(operator_id, shard)]))
        for operator_id, changes in applied.items():
            for (collection, doc_id), body in shard_bodies(operator_id, changes, True).items():
                transaction.set(db.collection(collection).document(doc_id), body, merge=True)
        return [change for changes in applied.values() for change in changes]

    # Redeliveries of one stay's events may race: the transaction serialises them; a loser
    # (lock timeout, commit retries exhausted) simply recomputes.
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return run(db.transaction(max_attempts=10))
        except (Aborted, ValueError):
            if attempt == _ATTEMPTS:
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)  # noqa: S311 (jitter)
    return []


def on_session_written(session_id: str) -> None:
    """The session trigger's handler (sessions/dispatch.py)."""
    from parkingdone.firebase import db

    refresh(db(), "session", session_id)


def on_pass_written(pass_id: str) -> None:
    """The pass trigger's handler: a pass's payment, outcome and refunds write the pass."""
    from parkingdone.firebase import db

    refresh(db(), "pass", pass_id)


# --- from scratch: backfill and benchmark ----------------------------------------------------


@dataclass
class Built:
    shards: dict[tuple[str, str], dict[str, Any]]
    contributions: dict[str, dict[str, Any]]
    feed: dict[str, dict[str, Any]]  # activityFeed documents by id


def build(
    operator_id: str,
    zone: str,
    stays: dict[str, dict[str, Any] | None],
    payment_docs: Iterable[dict[str, Any]],
) -> Built:
    """The stored figures of an operator from its documents (pure): `stays` by session id,
    every payment (a pass's payments by their passId). What `refresh` would leave."""
    by_subject: dict[tuple[Subject, str], list[dict[str, Any]]] = defaultdict(list)
    for payment in payment_docs:
        if payment.get("sessionId"):
            by_subject[("session", payment["sessionId"])].append(payment)
        elif payment.get("passId"):
            by_subject[("pass", payment["passId"])].append(payment)
    subjects = set(by_subject) | {("session", sid) for sid in stays}
    totals: dict[Placed, int] = defaultdict(int)
    contributions = {}
    feed: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for subject, subject_id in sorted(subjects):
        doc = stays.get(subject_id) if subject == "session" else None
        shard = shard_of(subject, subject_id)
        items = feed_items(subject, subject_id, doc, by_subject[(subject, subject_id)])
        if items:
            feed[shard] = newest([*feed[shard], *items], settings.ACTIVITY_FEED_ITEMS)
        values = contribution(subject, doc, by_subject[(subject, subject_id)], zone, shard)
        if not values:
            continue
        for key, value in values.items():
            totals[key] += value
        contributions[stored.contribution_id(subject, subject_id)] = contribution_doc(
            subject, subject_id, operator_id, values
        )
    increments = [Increment(*key, value) for key, value in sorted(totals.items()) if value]
    feed_docs = {
        activity_feed.shard_id(operator_id, shard): feed_doc(operator_id, shard, items)
        for shard, items in sorted(feed.items())
    }
    return Built(shard_bodies(operator_id, increments, False), contributions, feed_docs)


def rebuild(db: Client, operator_id: str) -> Built:
    """Backfill: recompute an operator's stored figures from every stay and payment and replace
    what is stored. Run it when the operator's stays are quiet (after a deploy that introduces
    the figures, or to repair them); afterwards the triggers keep them."""
    zone = operator_zone(db, operator_id)
    by_operator = FieldFilter("operatorId", "==", operator_id)
    stays = {
        s.id: s.to_dict()
        for s in db.collection(sessions.COLLECTION).where(filter=by_operator).stream()
    }
    payment_docs = [
        s.to_dict() or {}
        for s in db.collection(payments.COLLECTION).where(filter=by_operator).stream()
    ]
    built = build(operator_id, zone, stays, payment_docs)
    deleter = db.bulk_writer()
    for collection in (DAILY, TOTALS, stored.CONTRIBUTIONS, activity_feed.COLLECTION):
        for ref in stored.of_operator(db, collection, operator_id):
            deleter.delete(ref)
    deleter.close()  # every delete done before the first write
    writer = db.bulk_writer()
    write_built(db, built, writer)
    writer.close()
    return built


def write_built(db: Client, built: Built, writer: Any) -> None:
    """Write what `build` made with a bulk writer (the caller closes it)."""
    for (collection, doc_id), body in built.shards.items():
        writer.set(db.collection(collection).document(doc_id), body)
    for doc_id, body in built.contributions.items():
        writer.set(db.collection(stored.CONTRIBUTIONS).document(doc_id), body)
    for doc_id, body in built.feed.items():
        writer.set(db.collection(activity_feed.COLLECTION).document(doc_id), body)
