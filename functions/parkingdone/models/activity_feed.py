"""The dashboard's activity feed, kept by the same triggers as the figures (written only by
admin/aggregates.py):

    activityFeed/{operatorId}__s{shard}   operatorId, shard, items: the newest
        settings.ACTIVITY_FEED_ITEMS entries, exits, payments, failures, refunds and anomalies
        of the stays and passes of that figure shard, newest first

An item is {key, at, kind, text, sessionId, subject}: `subject` ("session_{id}" or
"pass_{id}") names the stay or pass it comes from, so a refresh replaces exactly that
subject's items; `key` is unique per item. The feed is the merge of the shards, newest first.
"""

from __future__ import annotations

from typing import Any

from google.cloud.firestore import Client
from pydantic import AwareDatetime, Field

from parkingdone.models.base import Document

COLLECTION = "activityFeed"


class FeedEntry(Document):
    key: str
    at: AwareDatetime
    kind: str  # entry, exit, payment, failure, refund, anomaly
    text: str
    session_id: str | None = None
    subject: str


class FeedShardDoc(Document):
    operator_id: str
    shard: int
    items: list[FeedEntry] = Field(default_factory=list)


def shard_id(operator_id: str, shard: int) -> str:
    return f"{operator_id}__s{shard:02d}"


def shard_ref(db: Client, operator_id: str, shard: int) -> Any:
    return db.collection(COLLECTION).document(shard_id(operator_id, shard))


def read_all(db: Client, operator_id: str, shards: int) -> list[FeedShardDoc]:
    """Every shard of an operator's feed in one batch get (missing shards left out)."""
    refs = [shard_ref(db, operator_id, shard) for shard in range(shards)]
    return [doc for s in db.get_all(refs) if (doc := FeedShardDoc.from_snapshot(s)) is not None]
