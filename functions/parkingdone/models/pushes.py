"""pushes/{key}: the record of a push notification sent with an idempotency key."""

from __future__ import annotations

from typing import Any

from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import AwareDatetime, Field

from parkingdone.models.base import Document

COLLECTION = "pushes"


class PushDoc(Document):
    uid: str | None = None
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    status: str | None = None
    sent: int = 0
    failed: int = 0
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


def of_session(db: Client, session_id: str, limit: int = 50) -> list[PushDoc]:
    query = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("params.sessionId", "==", session_id))
        .limit(limit)
    )
    return [d for d in (PushDoc.from_snapshot(s) for s in query.get()) if d is not None]
