"""operators/{operatorId}: a tenant, with its portal branding."""

from __future__ import annotations

from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone.models.base import Document

COLLECTION = "operators"
DEFAULT_ACCENT = "#0b6e4f"


class OperatorDoc(Document):
    name: str
    currency: str = "EUR"
    time_zone: str = "Europe/Helsinki"
    platform_fee_bps: int = 500
    # Branded portal: {slug}.parkingdone.com/admin/… in production, /admin/o/{slug}/… locally.
    slug: str | None = None
    display_name: str | None = None
    logo_url: str | None = None
    accent_color: str | None = None

    @property
    def brand_name(self) -> str:
        return self.display_name or self.name

    @property
    def accent(self) -> str:
        return self.accent_color or DEFAULT_ACCENT


def get(db: Client, operator_id: str) -> OperatorDoc | None:
    return OperatorDoc.from_snapshot(db.collection(COLLECTION).document(operator_id).get())


def by_slug(db: Client, slug: str) -> OperatorDoc | None:
    query = db.collection(COLLECTION).where(filter=FieldFilter("slug", "==", slug)).limit(1)
    for snapshot in query.get():
        return OperatorDoc.from_snapshot(snapshot)
    return None


def all_operators(db: Client, limit: int = 200) -> list[OperatorDoc]:
    docs = db.collection(COLLECTION).order_by("name").limit(limit).get()
    return [d for d in (OperatorDoc.from_snapshot(s) for s in docs) if d is not None]
