"""The dashboard's trigger-kept figures (written only by admin/aggregates.py):

    dailyStats/{operatorId}__{YYYY-MM}__s{shard}   one month of one shard, per local day
        (the operator's time zone): days.{DD}.gross|platformFee|refunded|payments|charged|
        collected|sessions
    operatorStats/{operatorId}__s{shard}           running totals of one shard: unpaidAmount,
        unpaidCount, invoices.{status}.count|amount, inside.{facilityId}
    figureContributions/{subject}_{id}             what one stay or pass (with its payments)
        last added to the shards, so a replayed trigger adds only the difference

A figure is the sum of its field over the operator's shards.
"""

from __future__ import annotations

from typing import Any

from google.cloud.firestore import Client
from pydantic import AwareDatetime, Field

from parkingdone.models import daily_stats, operator_stats
from parkingdone.models.base import Document

DAILY = daily_stats.COLLECTION
TOTALS = operator_stats.COLLECTION

# figureContributions is the one collection this module owns.
COLLECTION = CONTRIBUTIONS = "figureContributions"


class Applied(Document):
    """One field of one shard document and the amount this subject added to it."""

    doc: str  # "{collection}/{documentId}"
    field: str  # dotted path inside the document
    value: int


class ContributionDoc(Document):
    operator_id: str | None = None
    subject: str  # "session" or "pass"
    subject_id: str
    applied: list[Applied] = Field(default_factory=list)
    # The read time of the snapshot of the subject and its payments it was computed from: a
    # computation from an older snapshot must not replace it (admin/aggregates.py).
    sources_read_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


def contribution_id(subject: str, subject_id: str) -> str:
    return f"{subject}_{subject_id}"


def contribution_ref(db: Client, subject: str, subject_id: str) -> Any:
    return db.collection(CONTRIBUTIONS).document(contribution_id(subject, subject_id))


def daily_shard_id(operator_id: str, month: str, shard: int) -> str:
    return f"{operator_id}__{month}__s{shard:02d}"


def totals_shard_id(operator_id: str, shard: int) -> str:
    return f"{operator_id}__s{shard:02d}"


def read_shards(db: Client, paths: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The shard documents (collection, id) in one batch get; a missing one reads as {}."""
    refs = [db.collection(collection).document(d) for collection, d in paths]
    found = {s.reference.path: (s.to_dict() or {}) for s in db.get_all(refs) if s.exists}
    return [found.get(ref.path, {}) for ref in refs]


def of_operator(db: Client, collection: str, operator_id: str) -> list[Any]:
    """References of every shard or contribution of an operator (a rebuild replaces them)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = db.collection(collection).where(filter=FieldFilter("operatorId", "==", operator_id))
    return [s.reference for s in query.select([]).stream()]
