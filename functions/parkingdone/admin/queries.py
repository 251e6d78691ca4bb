"""The session list's filters, as one Firestore query shared by the page and the CSV export.

Every query starts from the operator in scope. The plate filter is normalised and finds its
look-alikes (O/0, I/1, B/8, S/5, Z/2) with one `in` query over the plate's variants.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import plates
from parkingdone.models import sessions
from parkingdone.models.sessions import SessionDoc

PAGE_SIZE = 25
MAX_VARIANTS = 30  # Firestore's limit for an `in` filter
_PAIRS = {
    "O": "0",
    "0": "O",
    "I": "1",
    "1": "I",
    "B": "8",
    "8": "B",
    "S": "5",
    "5": "S",
    "Z": "2",
    "2": "Z",
}
FLAGS = ("anomaly", "missing_exit", "review_required")
PAYMENT_STATUSES = (
    "pending",
    "succeeded",
    "requires_action",
    "failed",
    "not_required",
    "to_invoice",
    "invoiced",
    "paid",
    "cancelled",
    "settling",
    "review_required",
)


class FilterError(ValueError):
    pass


def plate_variants(plate: str) -> list[str]:
    """The normalised plate and its look-alike spellings (the exact plate first)."""
    options = [(c, _PAIRS[c]) if c in _PAIRS else (c,) for c in plate]
    variants = ["".join(p) for p in itertools.islice(itertools.product(*options), MAX_VARIANTS)]
    return [plate, *[v for v in variants if v != plate]][:MAX_VARIANTS]


@dataclass(frozen=True)
class Filters:
    facility: str = ""
    status: str = ""
    payment_status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    plate: str = ""
    flag: str = ""

    @classmethod
    def parse(cls, args: Any) -> Filters:
        def day(name: str) -> date | None:
            value = (args.get(name) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise FilterError(f"{name} must be a date (YYYY-MM-DD)") from exc

        status = (args.get("status") or "").strip()
        if status and status not in sessions.LISTED_STATUSES:
            raise FilterError(f"Unknown status {status!r}")
        payment_status = (args.get("payment_status") or "").strip()
        if payment_status and payment_status not in PAYMENT_STATUSES:
            raise FilterError(f"Unknown payment status {payment_status!r}")
        flag = (args.get("flag") or "").strip()
        if flag and flag not in FLAGS:
            raise FilterError(f"Unknown flag {flag!r}")
        raw_plate = (args.get("plate") or "").strip()
        plate = ""
        if raw_plate:
            try:
                plate = plates.normalise(raw_plate)
            except plates.InvalidPlate as exc:
                raise FilterError(f"Not a plate: {raw_plate!r}") from exc
        return cls(
            facility=(args.get("facility") or "").strip()[:100],
            status=status,
            payment_status=payment_status,
            date_from=day("from"),
            date_to=day("to"),
            plate=plate,
            flag=flag,
        )

    def as_args(self) -> dict[str, str]:
        values = {
            "facility": self.facility,
            "status": self.status,
            "payment_status": self.payment_status,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "plate": self.plate,
            "flag": self.flag,
        }
        return {k: v for k, v in values.items() if v}


def listed(doc: SessionDoc | None) -> bool:
    """Superseded stays (replaced by a re-paired one) are never listed."""
    return doc is not None and doc.status in sessions.LISTED_STATUSES


def build(db: Client, operator_id: str, filters: Filters, zone: str) -> Any:
    """The query for these filters, newest recorded first (createdAt, then id)."""
    query = db.collection(sessions.COLLECTION).where(
        filter=FieldFilter("operatorId", "==", operator_id)
    )
    if filters.facility:
        query = query.where(filter=FieldFilter("facilityId", "==", filters.facility))
    status_filter: list[str] | str = filters.status or list(sessions.LISTED_STATUSES)
    if filters.flag == "anomaly":
        status_filter = "anomaly" if filters.status in ("", "anomaly") else "__none__"
    elif filters.flag == "missing_exit":
        status_filter = "missing_exit" if filters.status in ("", "missing_exit") else "__none__"
    elif filters.flag == "review_required":
        query = query.where(filter=FieldFilter("reviewRequired", "==", True))
    variants = plate_variants(filters.plate) if filters.plate else []
    if isinstance(status_filter, list):
        # Firestore allows 30 disjunctions per query: with look-alike plates in an `in`
        # filter, "every listed status" is applied to the results instead (`listed`).
        if len(variants) <= 1:
            query = query.where(filter=FieldFilter("status", "in", status_filter))
    else:
        query = query.where(filter=FieldFilter("status", "==", status_filter))
    if filters.payment_status:
        query = query.where(filter=FieldFilter("payment.status", "==", filters.payment_status))
    if variants:
        if len(variants) == 1:
            query = query.where(filter=FieldFilter("plate", "==", variants[0]))
        else:
            query = query.where(filter=FieldFilter("plate", "in", variants))
    tz = ZoneInfo(zone)
    if filters.date_from:
        start = datetime.combine(filters.date_from, datetime.min.time(), tz)
        query = query.where(filter=FieldFilter("createdAt", ">=", start))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time(), tz)
        query = query.where(filter=FieldFilter("createdAt", "<", end))
    return query.order_by("createdAt", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )


def page(
    db: Client,
    operator_id: str,
    filters: Filters,
    zone: str,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> tuple[list[SessionDoc], str | None]:
    """One page of the list and the cursor of the next page (None on the last)."""
    query = build(db, operator_id, filters, zone)
    if after:
        cursor = db.collection(sessions.COLLECTION).document(after).get()
        if cursor.exists and (cursor.to_dict() or {}).get("operatorId") == operator_id:
            query = query.start_after(cursor)
    snapshots = list(query.limit(size + 1).get())
    docs = [d for d in (SessionDoc.from_snapshot(s) for s in snapshots[:size]) if listed(d)]
    return docs, (snapshots[size - 1].id if len(snapshots) > size else None)


def stream_all(db: Client, operator_id: str, filters: Filters, zone: str, batch: int = 500):
    """Every matching session, in pages of `batch` (the CSV export streams these)."""
    query = build(db, operator_id, filters, zone)
    last = None
    while True:
        current = query.start_after(last) if last is not None else query
        snapshots = list(current.limit(batch).get())
        for snapshot in snapshots:
            doc = SessionDoc.from_snapshot(snapshot)
            if listed(doc):
                yield doc
        if len(snapshots) < batch:
            return
        last = snapshots[-1]
