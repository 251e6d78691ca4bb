"""operators/{operatorId}: a tenant, its payment settings and its portal branding."""

from __future__ import annotations

from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import Field

from parkingdone import settings
from parkingdone.models import cache
from parkingdone.models.base import Document

COLLECTION = "operators"
DEFAULT_ACCENT = "#0b6e4f"


class Operator(Document):
    """An operator. Prices and stays are read in each facility's own time zone;
    `time_zone` is only the zone the operator's dashboard shows figures in."""

    name: str
    currency: str = settings.DEFAULT_CURRENCY
    time_zone: str = settings.DEFAULT_TIME_ZONE
    # Platform fee in basis points (500 = 5 %), taken as the Stripe application fee.
    platform_fee_bps: int = settings.PLATFORM_FEE_BPS
    vat_rate_bps: int = settings.VAT_RATE_BPS
    # The operator's Stripe connected account; charges are made on it.
    stripe_account_id: str | None = None
    # What the operator's staff and officers read (messages.py); "fi" or "en".
    language: str = settings.OPERATOR_LANGUAGE
    # Events older than this (default: the facility's maximum stay) are held for review,
    # not applied: a far-past timestamp must never open or charge a stay silently.
    late_event_bound_minutes: int | None = Field(default=None, ge=1)
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


# The dashboard's earlier name for the same model.
OperatorDoc = Operator

# Keys: ("id", operator_id) and ("slug", slug).
_loader: cache.Loader[tuple[str, str], Operator] = cache.Loader()


def ref(db: Client, operator_id: str):
    return db.collection(COLLECTION).document(operator_id)


def get(db: Client, operator_id: str) -> Operator | None:
    """The operator as stored now (uncached)."""
    return Operator.from_snapshot(ref(db, operator_id).get())


def load(db: Client, operator_id: str) -> Operator | None:
    """The operator, cached briefly (models/cache.py)."""
    return _loader.get(("id", operator_id), lambda: get(db, operator_id))


def by_slug(db: Client, slug: str) -> Operator | None:
    """The operator whose branded portal is `slug`, cached briefly."""

    def query() -> Operator | None:
        found = db.collection(COLLECTION).where(filter=FieldFilter("slug", "==", slug)).limit(1)
        for snapshot in found.get():
            return Operator.from_snapshot(snapshot)
        return None

    return _loader.get(("slug", slug), query)


def invalidate() -> None:
    """Forget the cached operators (by id and by slug): call after writing one."""
    _loader.invalidate()


def all_operators(db: Client, limit: int = 200) -> list[Operator]:
    docs = db.collection(COLLECTION).order_by("name").limit(limit).get()
    return [d for d in (Operator.from_snapshot(s) for s in docs) if d is not None]
