"""The support figures: open tickets by status, open SLA breaches (aggregation counts), and
over the last SUPPORT_FIGURES_WINDOW the median first response and the share answered within
the SLA (from the answered tickets' `firstResponseSeconds`, read with a field projection:
tickets are few beside stays, and a median cannot be aggregated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import settings
from parkingdone.models import tickets
from parkingdone.support import rules

MAX_ANSWERED = 5000


@dataclass
class Figures:
    by_status: dict[str, int] = field(default_factory=dict)
    open_breaches: int = 0
    answered: int = 0
    within_sla: int = 0
    median_first_response_seconds: int | None = None

    @property
    def open_total(self) -> int:
        return sum(self.by_status.get(s, 0) for s in rules.OPEN_STATUSES)

    @property
    def share_within_sla(self) -> float | None:
        return rules.share(self.within_sla, self.answered)


def _scope(db: firestore.Client, line: str, operator_id: str | None) -> firestore.Query:
    query = db.collection(tickets.COLLECTION).where(filter=FieldFilter("line", "==", line))
    if operator_id:
        query = query.where(filter=FieldFilter("operatorId", "==", operator_id))
    return query


def _count(query: firestore.Query) -> int:
    result = query.count().get()
    return int(result[0][0].value) if result else 0


def pipeline(db: firestore.Client, line: str, operator_id: str | None, now: datetime) -> Figures:
    """Open tickets by status and the open breaches: the operations tile's figures."""
    figures = Figures()
    for status in ("open", "pending", "resolved"):
        figures.by_status[status] = _count(
            _scope(db, line, operator_id).where(filter=FieldFilter("status", "==", status))
        )
    figures.open_breaches = _count(
        _scope(db, line, operator_id).where(filter=FieldFilter("responseDueAt", "<", now))
    )
    return figures


def full(db: firestore.Client, line: str, operator_id: str | None, now: datetime) -> Figures:
    """The pipeline plus the first-response figures of the window: the tickets page's."""
    figures = pipeline(db, line, operator_id, now)
    answered = (
        _scope(db, line, operator_id)
        .where(filter=FieldFilter("firstResponseAt", ">=", now - settings.SUPPORT_FIGURES_WINDOW))
        .select(["firstResponseSeconds", "firstResponseWithinSla"])
        .limit(MAX_ANSWERED)
    )
    seconds = []
    for snapshot in answered.stream():
        data = snapshot.to_dict() or {}
        if isinstance(data.get("firstResponseSeconds"), int):
            seconds.append(data["firstResponseSeconds"])
            figures.within_sla += 1 if data.get("firstResponseWithinSla") else 0
    figures.answered = len(seconds)
    figures.median_first_response_seconds = rules.median_seconds(seconds)
    return figures
