"""auditLog/{autoId}: every state-changing action taken in the admin dashboard."""

from __future__ import annotations

from typing import Any

from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import AwareDatetime

from parkingdone.models.base import Document

COLLECTION = "auditLog"


class AuditEntry(Document):
    operator_id: str
    uid: str
    email: str | None = None
    role: str
    action: str
    target: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    at: AwareDatetime


def of_operator(
    db: Client, operator_id: str, limit: int = 50, before_id: str | None = None
) -> list[AuditEntry]:
    """Newest first; `before_id` continues after that entry (cursor pagination)."""
    query = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .order_by("at", direction=firestore.Query.DESCENDING)
    )
    if before_id:
        cursor = db.collection(COLLECTION).document(before_id).get()
        if cursor.exists:
            query = query.start_after(cursor)
    docs = query.limit(limit).get()
    return [d for d in (AuditEntry.from_snapshot(s) for s in docs) if d is not None]
