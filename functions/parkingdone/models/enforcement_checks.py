"""enforcementChecks/{autoId}: every enforcement call, kept as dispute evidence."""

from __future__ import annotations

from datetime import datetime

from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import AwareDatetime, Field

from parkingdone.models.base import Document

COLLECTION = "enforcementChecks"


class CheckDoc(Document):
    kind: str = "check"
    operator_id: str
    facility_id: str
    plate: str | None = None
    plate_raw: str | None = None
    key_label: str | None = None
    # Set for a check made from the dashboard: the staff user who asked.
    staff_uid: str | None = None
    staff_email: str | None = None
    at: AwareDatetime
    status: str | None = None
    should_fine: bool | None = None
    summary: str | None = None
    confusable_matches: list[str] = Field(default_factory=list)


def of_plate_between(
    db: Client, facility_id: str, plate: str, start: datetime, end: datetime, limit: int = 200
) -> list[CheckDoc]:
    query = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("facilityId", "==", facility_id))
        .where(filter=FieldFilter("plate", "==", plate))
        .where(filter=FieldFilter("at", ">=", start))
        .where(filter=FieldFilter("at", "<=", end))
        .order_by("at")
        .limit(limit)
    )
    return [d for d in (CheckDoc.from_snapshot(s) for s in query.get()) if d is not None]
