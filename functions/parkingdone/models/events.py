"""events/{key}: the durable webhook inbox, one document per accepted entry or exit."""

from __future__ import annotations

from google.cloud.firestore import Client
from pydantic import AwareDatetime

from parkingdone.models.base import Document

COLLECTION = "events"


class EventDoc(Document):
    operator_id: str
    facility_id: str
    kind: str
    plate: str = ""
    plate_raw: str = ""
    at: AwareDatetime
    image_url: str | None = None
    source: str = "anpr"
    external_id: str | None = None
    received_at: AwareDatetime | None = None
    status: str | None = None
    outcome: str | None = None


def get_many(db: Client, keys: list[str]) -> dict[str, EventDoc]:
    refs = [db.collection(COLLECTION).document(k) for k in keys if k]
    found: dict[str, EventDoc] = {}
    for snapshot in db.get_all(refs) if refs else []:
        doc = EventDoc.from_snapshot(snapshot)
        if doc is not None:
            found[doc.id] = doc
    return found
