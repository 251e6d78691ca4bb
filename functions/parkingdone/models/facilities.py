"""facilities/{facilityId}: one car park of an operator."""

from __future__ import annotations

from typing import Any

from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import Field

from parkingdone.models.base import Document

COLLECTION = "facilities"


class FacilityDoc(Document):
    operator_id: str
    name: str
    time_zone: str = "Europe/Helsinki"
    currency: str = "EUR"
    # Spaces, where the operator told us; occupancy is shown against it.
    capacity: int | None = None
    # Tariff versions as stored (parkingdone.tariffs reads them).
    tariffs: list[dict[str, Any]] = Field(default_factory=list)


def get(db: Client, facility_id: str) -> FacilityDoc | None:
    return FacilityDoc.from_snapshot(db.collection(COLLECTION).document(facility_id).get())


def of_operator(db: Client, operator_id: str, limit: int = 500) -> list[FacilityDoc]:
    query = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .limit(limit)
    )
    docs = [d for d in (FacilityDoc.from_snapshot(s) for s in query.get()) if d is not None]
    return sorted(docs, key=lambda f: f.name.casefold())
