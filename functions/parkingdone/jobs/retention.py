"""The retention sweep (daily): removes or anonymises what is past its operator's limits.

For every operator, with its policy (retention.py) turned into cutoffs for `now`:
- stays ended before the stays' cutoff are deleted with their inbox events and evidence
  images; their payment records and receipts, kept for accounting, lose the plate and the
  driver (anonymised in the same batch);
- inbox events past the stays' cutoff whose stay is gone (duplicates, superseded pairs);
- evidence images of stays ended before the images' cutoff are removed from Storage, the
  session's evidence item marked `expired`;
- payment records, receipts and passes dated before the accounting cutoff are deleted;
- enforcement check logs past the stays' cutoff; closed tickets and disputes past theirs.
Then, for everyone: documents past their TTL field (Firestore's TTL does this in production
within a day; the emulator never does) and past their registry age (privacy.py), and export
files past their lifetime.

Never removed: an open stay, a stay with an open dispute or an unpaid payment (its images
stay too), an unpaid payment, an open ticket or dispute.

Every step is bounded per run (`budget` documents), idempotent and resumable: a run picks up
what the previous one left, the images step from a cursor kept in retentionState/{operatorId}.
The counts (including Firestore reads and writes) are logged and returned.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import archives, privacy, retention
from parkingdone.models.disputes import COLLECTION as DISPUTES
from parkingdone.models.enforcement_checks import COLLECTION as CHECKS
from parkingdone.models.events import COLLECTION as EVENTS
from parkingdone.models.operators import COLLECTION as OPERATORS
from parkingdone.models.passes import COLLECTION as PASSES
from parkingdone.models.payments import COLLECTION as PAYMENTS
from parkingdone.models.receipts import COLLECTION as RECEIPTS
from parkingdone.models.retention_state import COLLECTION as STATE
from parkingdone.models.sessions import COLLECTION as SESSIONS
from parkingdone.models.tickets import COLLECTION as TICKETS

BUDGET = 5000  # documents per step and operator per run
PAGE = 400  # below Firestore's 500 writes per batch, with room for the cascades
# Stays are read in larger pages than they are written: each query costs a scan of the
# range, each batch at most WRITES_PER_BATCH writes (a stay with its events and charges).
STAYS_PAGE = 2000
WRITES_PER_BATCH = 450

# A payment still to be collected (or being resolved) keeps its stay and itself.
UNPAID = frozenset(
    {
        "pending",
        "requires_action",
        "failed",
        "to_invoice",
        "invoiced",
        "review_required",
        "dead_letter",
    }
)
CLOSED_CASES = ("closed", "resolved", "rejected")


def _when(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def stay_ended(session: dict[str, Any]) -> datetime | None:
    """When the stay ended: its exit, else its entry (a stay that never saw an exit)."""
    for mark in ("exit", "entry"):
        at = _when((session.get(mark) or {}).get("at"))
        if at:
            return at
    return _when(session.get("updatedAt"))


def held(session: dict[str, Any], disputed: set[str], session_id: str) -> str | None:
    """Why this stay must be kept whatever its age, or None."""
    if session.get("status") == "open":
        return "open_stay"
    if (session.get("payment") or {}).get("status") in UNPAID:
        return "unpaid"
    if session_id in disputed:
        return "open_dispute"
    return None


def payment_ids(session_id: str, session: dict[str, Any]) -> list[str]:
    """Ids of every charge attempt of the stay: s_{sessionId}_{1..attempt}."""
    attempts = int((session.get("payment") or {}).get("attempt") or 0)
    return [f"s_{session_id}_{n}" for n in range(1, attempts + 1)]


def anonymised(collection: str) -> dict[str, None]:
    entry = privacy.get(collection)
    return {f: None for f in (*entry.driver_fields, *entry.personal_fields, *entry.stay_fields)}


class Sweep:
    def __init__(self, db: Client, now: datetime, budget: int) -> None:
        self.db = db
        self.now = now
        self.budget = budget
        self.counts: Counter[str] = Counter()

    # --- helpers ------------------------------------------------------------------------

    def _pages(self, query: firestore.Query, order: str, size: int = PAGE):
        """Pages of `query` ordered by `order`, up to the budget."""
        seen = 0
        last = None
        while seen < self.budget:
            page_query = query.order_by(order).limit(min(size, self.budget - seen))
            if last is not None:
                page_query = page_query.start_after(last)
            page = list(page_query.stream())
            self.counts["reads"] += max(1, len(page))
            if not page:
                return
            yield page
            seen += len(page)
            last = page[-1]
            if len(page) < size:
                return

    def _commit(self, batch: firestore.WriteBatch, writes: int) -> None:
        if writes:
            batch.commit()
            self.counts["writes"] += writes

    def _of(self, collection: str, operator_id: str) -> firestore.Query:
        return self.db.collection(collection).where(
            filter=FieldFilter("operatorId", "==", operator_id)
        )

    def _open_disputes(self, operator_id: str) -> set[str]:
        query = self._of(DISPUTES, operator_id).where(filter=FieldFilter("status", "==", "open"))
        docs = list(query.stream())
        self.counts["reads"] += max(1, len(docs))
        return {d.get("sessionId") for d in docs}

    def _remove_images(self, session: dict[str, Any]) -> int:
        removed = 0
        for item in session.get("evidence") or []:
            if isinstance(item, dict) and item.get("storagePath"):
                removed += archives.delete_object(item["storagePath"])
        return removed

    # --- per operator ---------------------------------------------------------------------

    def operator(self, operator_id: str) -> None:
        cut = retention.cutoffs(retention.load(self.db, operator_id), self.now)
        self.counts["reads"] += 1
        disputed = self._open_disputes(operator_id)
        if self.stays(operator_id, cut.sessions, disputed):
            # Only once the stays have caught up: before that, nearly every old event still
            # has its stay, and would be read again on every run for nothing.
            self.orphan_events(operator_id, cut.sessions)
        self.images(operator_id, cut.images, cut.sessions, disputed)
        self.passes_unlinked(operator_id, cut.sessions)
        self.ledger(operator_id, cut.accounting)
        self.older(CHECKS, operator_id, "at", cut.sessions, "enforcementChecksDeleted")
        self.closed_cases(TICKETS, operator_id, cut.tickets, "ticketsDeleted")
        self.closed_cases(DISPUTES, operator_id, cut.sessions, "disputesDeleted")

    def stays(self, operator_id: str, cutoff: datetime, disputed: set[str]) -> bool:
        """Delete the expired stays; True when none is left beyond this run's budget."""
        seen = 0
        query = self._of(SESSIONS, operator_id).where(filter=FieldFilter("updatedAt", "<", cutoff))
        for page in self._pages(query, "updatedAt", STAYS_PAGE):
            seen += len(page)
            doomed = []
            for snapshot in page:
                session = snapshot.to_dict()
                ended = stay_ended(session)
                if ended is None or ended >= cutoff:
                    continue
                reason = held(session, disputed, snapshot.id)
                if reason:
                    self.counts[f"sessionsKept_{reason}"] += 1
                    continue
                doomed.append((snapshot, session))
            if doomed:
                self._delete_stays(doomed)
        return seen < self.budget

    def _delete_stays(self, doomed: list[tuple[Any, dict[str, Any]]]) -> None:
        """Each stay with its inbox events, its images, and its charges anonymised, in batches
        that never split a stay from its cascade. Only the charges are read (by id): the
        events are known from the stay itself."""
        money_refs = []
        for snapshot, session in doomed:
            for pid in payment_ids(snapshot.id, session):
                money_refs.append(self.db.collection(PAYMENTS).document(pid))
                money_refs.append(self.db.collection(RECEIPTS).document(pid))
        existing = [s for s in self.db.get_all(money_refs) if s.exists] if money_refs else []
        self.counts["reads"] += len(money_refs)
        charges: dict[str, list[Any]] = {}
        for snapshot in existing:
            session_id = snapshot.id.removeprefix("s_").rsplit("_", 1)[0]
            charges.setdefault(session_id, []).append(snapshot)
        # Images first: a failure leaves the session, and so the next run tries again.
        for _, session in doomed:
            self.counts["imagesDeleted"] += self._remove_images(session)
        batch = self.db.batch()
        writes = 0
        for snapshot, session in doomed:
            events = [
                (session.get(mark) or {}).get("eventId")
                for mark in ("entry", "exit")
                if (session.get(mark) or {}).get("eventId")
            ]
            mine = charges.get(snapshot.id, [])
            if writes and writes + 1 + len(events) + len(mine) > WRITES_PER_BATCH:
                self._commit(batch, writes)
                batch, writes = self.db.batch(), 0
            batch.delete(snapshot.reference)
            for event_id in events:
                batch.delete(self.db.collection(EVENTS).document(event_id))
            for charge in mine:
                collection = charge.reference.parent.id
                batch.update(charge.reference, {**anonymised(collection), "anonymisedAt": self.now})
                self.counts[f"{collection}Anonymised"] += 1
            writes += 1 + len(events) + len(mine)
            self.counts["eventsDeleted"] += len(events)
        self._commit(batch, writes)
        self.counts["sessionsDeleted"] += len(doomed)

    def orphan_events(self, operator_id: str, cutoff: datetime) -> None:
        """Inbox events past the cutoff whose stay is gone (or that never made one)."""
        query = self._of(EVENTS, operator_id).where(filter=FieldFilter("receivedAt", "<", cutoff))
        for page in self._pages(query, "receivedAt"):
            session_refs = {
                e.get("sessionId"): self.db.collection(SESSIONS).document(e.get("sessionId"))
                for e in page
                if e.to_dict().get("sessionId")
            }
            alive = {s.id for s in self.db.get_all(list(session_refs.values())) if s.exists}
            self.counts["reads"] += len(session_refs)
            batch = self.db.batch()
            writes = 0
            for event in page:
                if event.to_dict().get("sessionId") in alive:
                    continue
                batch.delete(event.reference)
                writes += 1
            self._commit(batch, writes)
            self.counts["eventsDeleted"] += writes

    def images(
        self, operator_id: str, cutoff: datetime, stays_cutoff: datetime, disputed: set[str]
    ) -> None:
        """Evidence images past their limit, from a cursor: each run continues the last one.

        Only stays inside the stays' limit: older ones are the stays step's (deleted with
        their images, or held with them)."""
        state_ref = self.db.collection(STATE).document(operator_id)
        state = state_ref.get()
        self.counts["reads"] += 1
        cursor = (state.to_dict() or {}).get("imagesCursor") if state.exists else None
        query = (
            self._of(SESSIONS, operator_id)
            .where(filter=FieldFilter("updatedAt", ">=", min(stays_cutoff, cutoff)))
            .where(filter=FieldFilter("updatedAt", "<", cutoff))
            .order_by("updatedAt")
            .order_by("__name__")
        )
        if cursor:
            query = query.start_after(
                {
                    "updatedAt": cursor["at"],
                    "__name__": self.db.collection(SESSIONS).document(cursor["id"]),
                }
            )
        page = list(query.limit(self.budget).stream())
        self.counts["reads"] += max(1, len(page))
        for snapshot in page:
            session = snapshot.to_dict()
            evidence = session.get("evidence") or []
            stored = [i for i in evidence if isinstance(i, dict) and i.get("storagePath")]
            ended = stay_ended(session)
            if not stored or ended is None or ended >= cutoff:
                continue
            if held(session, disputed, snapshot.id) in ("open_stay", "open_dispute", "unpaid"):
                self.counts["imagesKept"] += len(stored)
                continue
            self.counts["imagesDeleted"] += self._remove_images(session)
            expired = [
                {**i, "status": "expired", "storagePath": None, "expiredAt": self.now}
                if i in stored
                else i
                for i in evidence
            ]
            snapshot.reference.update({"evidence": expired})
            self.counts["writes"] += 1
        done = len(page) < self.budget
        next_cursor = None if done else {"at": page[-1].get("updatedAt"), "id": page[-1].id}
        state_ref.set({"imagesCursor": next_cursor, "imagesSweptAt": self.now}, merge=True)
        self.counts["writes"] += 1

    def passes_unlinked(self, operator_id: str, cutoff: datetime) -> None:
        """Passes whose validity ended before the stays' cutoff lose the plate and the driver,
        with their payment records and receipts, as a stay's charges do when the stay goes;
        the records themselves stay until the accounting limit. From a cursor kept in
        retentionState/{operatorId}: a pass once unlinked is not read again."""
        state_ref = self.db.collection(STATE).document(operator_id)
        state = state_ref.get()
        self.counts["reads"] += 1
        cursor = (state.to_dict() or {}).get("passesCursor") if state.exists else None
        query = (
            self._of(PASSES, operator_id)
            .where(filter=FieldFilter("validUntil", "<", cutoff))
            .order_by("validUntil")
            .order_by("__name__")
        )
        if cursor:
            query = query.start_after(
                {
                    "validUntil": cursor["at"],
                    "__name__": self.db.collection(PASSES).document(cursor["id"]),
                }
            )
        page = list(query.limit(self.budget).stream())
        self.counts["reads"] += max(1, len(page))
        # A pass still being paid for holds the cursor: the next run starts from it.
        blocked = next((i for i, p in enumerate(page) if p.get("status") == "pending"), len(page))
        if blocked < len(page):
            self.counts["passesKept_pending"] += 1
        done = page[:blocked]
        for start in range(0, len(done), PAGE // 3):  # a pass, its payment and its receipt
            self._unlink_passes(done[start : start + PAGE // 3])
        if done:
            state_ref.set(
                {"passesCursor": {"at": done[-1].get("validUntil"), "id": done[-1].id}}, merge=True
            )
            self.counts["writes"] += 1

    def _unlink_passes(self, passes: list[Any]) -> None:
        if not passes:
            return
        money_refs = []
        for snapshot in passes:
            payment_id = snapshot.get("paymentId")
            if payment_id:
                money_refs.append(self.db.collection(PAYMENTS).document(payment_id))
                money_refs.append(self.db.collection(RECEIPTS).document(payment_id))
        existing = [s for s in self.db.get_all(money_refs) if s.exists] if money_refs else []
        self.counts["reads"] += len(money_refs)
        batch = self.db.batch()
        stamp = {"anonymisedAt": self.now}
        for snapshot in passes:
            batch.update(snapshot.reference, {**anonymised(PASSES), **stamp})
            self.counts["passesAnonymised"] += 1
        for snapshot in existing:
            collection = snapshot.reference.parent.id
            batch.update(snapshot.reference, {**anonymised(collection), **stamp})
            self.counts[f"{collection}Anonymised"] += 1
        self._commit(batch, len(passes) + len(existing))

    def ledger(self, operator_id: str, cutoff: datetime) -> None:
        """Payment records with their receipts, and passes, past the accounting limit."""
        query = self._of(PAYMENTS, operator_id).where(filter=FieldFilter("createdAt", "<", cutoff))
        for page in self._pages(query, "createdAt"):
            batch = self.db.batch()
            writes = 0
            for payment in page:
                if payment.get("status") in UNPAID:
                    self.counts["paymentsKept_unpaid"] += 1
                    continue
                batch.delete(payment.reference)
                batch.delete(self.db.collection(RECEIPTS).document(payment.id))
                writes += 2
                self.counts["paymentsDeleted"] += 1
            self._commit(batch, writes)
        self.older(PASSES, operator_id, "createdAt", cutoff, "passesDeleted", keep=("active",))

    def older(
        self,
        collection: str,
        operator_id: str,
        field: str,
        cutoff: datetime,
        label: str,
        keep: tuple[str, ...] = (),
    ) -> None:
        query = self._of(collection, operator_id).where(filter=FieldFilter(field, "<", cutoff))
        for page in self._pages(query, field):
            batch = self.db.batch()
            writes = 0
            for snapshot in page:
                if snapshot.to_dict().get("status") in keep:
                    continue
                batch.delete(snapshot.reference)
                writes += 1
            self._commit(batch, writes)
            self.counts[label] += writes

    def closed_cases(self, collection: str, operator_id: str, cutoff: datetime, label: str) -> None:
        """Closed tickets or disputes whose closing is past the cutoff (with their messages)."""
        query = self._of(collection, operator_id).where(filter=FieldFilter("closedAt", "<", cutoff))
        for page in self._pages(query, "closedAt"):
            for snapshot in page:
                if snapshot.get("status") not in CLOSED_CASES:
                    continue
                self.counts["writes"] += self.db.recursive_delete(snapshot.reference)
                self.counts[label] += 1

    # --- for everyone -------------------------------------------------------------------------

    def expired(self) -> None:
        """What Firestore's TTL removes in production, and the registry's fixed ages."""
        rules = {name: (field, self.now) for name, field in privacy.ttl_fields().items()}
        rules |= {
            name: (field, self.now - age) for name, (field, age) in privacy.age_rules().items()
        }
        for collection, (field, cutoff) in rules.items():
            if collection in privacy.SUBCOLLECTIONS:
                continue
            query = self.db.collection(collection).where(filter=FieldFilter(field, "<", cutoff))
            for page in self._pages(query, field):
                batch = self.db.batch()
                for snapshot in page:
                    batch.delete(snapshot.reference)
                self._commit(batch, len(page))
                self.counts[f"{collection}Expired"] += len(page)


def run(db: Client, now: datetime | None = None, budget: int = BUDGET) -> dict[str, int]:
    now = now or datetime.now(UTC)
    sweep = Sweep(db, now, budget)
    operators = [s.id for s in db.collection(OPERATORS).select([]).stream()]
    sweep.counts["reads"] += max(1, len(operators))
    for operator_id in operators:
        sweep.operator(operator_id)
    sweep.expired()
    sweep.counts["exportsDeleted"] += archives.sweep_exports(now, budget)
    counts = dict(sorted(sweep.counts.items()))
    logger.info("retention.sweep_done", operators=len(operators), **counts)
    return counts
