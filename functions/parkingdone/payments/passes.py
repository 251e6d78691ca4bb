"""Passes: per-facility products (weekly, monthly...) bought with the driver's saved card.

A pass is written "pending" with its ledger entry before the card is charged and becomes
"active" only when the payment succeeds (here, or later through the Stripe webhook after
the driver confirmed 3-D Secure in the app). The pass id is derived from the driver and the
app's request id, so a retried purchase charges once. Revenue per facility is an
aggregation over the ledger.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1 import aggregation
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import BaseModel, ConfigDict, Field

from parkingdone import errors, ids, plates
from parkingdone.models.plate_owners import COLLECTION as PLATE_OWNERS
from parkingdone.payments import charging, lookups
from parkingdone.payments.access import Actor
from parkingdone.payments.ledger import Subject, charge_request, new_entry
from parkingdone.payments.models import (
    PASS_PRODUCTS,
    PASSES,
    PAYMENTS,
    LedgerEntry,
    ParkingPass,
    PassProduct,
)
from parkingdone.payments.provider import (
    ChargeRequest,
)
from parkingdone.payments.rules import card_of, has_saved_card

MAX_START_AHEAD = timedelta(days=60)
# The most products one facility lists (the app shows them all on one screen).
MAX_PRODUCTS = 50


def pass_id_for(uid: str, request_id: str) -> str:
    return hashlib.sha256(f"{uid}:{request_id}".encode()).hexdigest()[:20]


def pass_payment_id(pass_id: str) -> str:
    return f"p_{pass_id}"


def validity(product: PassProduct, start: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """From `start` to the end of the facility's local day `validity_days` calendar days
    later: a 7-day pass bought on Monday at 14:00 is valid until Monday's midnight next week
    in the facility's time zone (whatever the daylight-saving changes on the way)."""
    start = start.astimezone(UTC)
    last_day = start.astimezone(zone).date() + timedelta(days=product.validity_days)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end.astimezone(UTC)


def list_products(db: Client, facility_id: str, limit: int = MAX_PRODUCTS) -> list[dict[str, Any]]:
    """The facility's products on sale, cheapest first (at most `limit`)."""
    query = (
        db.collection(PASS_PRODUCTS)
        .where(filter=FieldFilter("facilityId", "==", facility_id))
        .where(filter=FieldFilter("active", "==", True))
        .order_by("price")
        .limit(limit)
    )
    products = [
        PassProduct.model_validate({**s.to_dict(), "id": s.id}).model_dump(
            by_alias=True, mode="json"
        )
        for s in query.get()
    ]
    return sorted(products, key=lambda p: (p["price"], p["name"]))


def list_passes(
    db: Client, uid: str, limit: int = 50, facility_id: str | None = None
) -> list[dict[str, Any]]:
    """The driver's passes, latest ending first; with `facility_id` only that facility's,
    filtered in the query so the limit never hides one of them."""
    query = db.collection(PASSES).where(filter=FieldFilter("uid", "==", uid))
    if facility_id is not None:
        query = query.where(filter=FieldFilter("facilityId", "==", facility_id))
    query = query.order_by("validUntil", direction=firestore.Query.DESCENDING).limit(limit)
    return [{**_jsonable(s.to_dict()), "id": s.id} for s in query.get()]


def _jsonable(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in doc.items()}


def buy(
    db: Client,
    uid: str,
    product_id: str,
    plate_raw: str,
    request_id: str,
    starts_at: datetime | None = None,
) -> dict[str, Any]:
    """Buy a pass on-session with the saved card; returns its status (and a client secret
    when the bank asks the driver to confirm)."""
    try:
        plate = plates.normalise(plate_raw)
    except ValueError as exc:
        raise errors.bad_request(str(exc), "invalid_plate") from exc
    now = datetime.now(UTC)
    start = max(starts_at or now, now)
    if start > now + MAX_START_AHEAD:
        raise errors.bad_request("A pass can start at most 60 days ahead", "invalid_start")
    pass_id = pass_id_for(uid, request_id)
    payment_id = pass_payment_id(pass_id)
    pass_ref = db.collection(PASSES).document(pass_id)
    ledger_ref = db.collection(PAYMENTS).document(payment_id)

    @firestore.transactional
    def claim(transaction: Transaction) -> tuple[str, ChargeRequest | None]:
        now = datetime.now(UTC)
        existing = pass_ref.get(transaction=transaction)
        if existing.exists:
            ledger = ledger_ref.get(transaction=transaction)
            entry = LedgerEntry.model_validate(ledger.to_dict())
            stale = entry.updated_at < now - charging.CLAIM_LOCK
            if entry.status == "pending" and stale and entry.customer_id:
                # A purchase whose instance died mid-charge or whose answer was lost: look the
                # charge up, charge again (same key) only if there is none.
                transaction.update(ledger_ref, {"updatedAt": now})
                return "resolve", charge_request(payment_id, entry)
            return entry.status, None
        product_snap = db.collection(PASS_PRODUCTS).document(product_id).get()
        if not product_snap.exists:
            raise errors.not_found("No such pass product")
        product = PassProduct.model_validate({**product_snap.to_dict(), "id": product_id})
        if not product.active:
            raise errors.not_now("This pass is no longer sold", "not_available")
        owner = db.collection(PLATE_OWNERS).document(plate).get()
        if not owner.exists or (owner.to_dict() or {}).get("uid") != uid:
            raise errors.forbidden("Add the vehicle to your account first", "not_your_vehicle")
        profile = lookups.driver_profile(db, uid)
        if not has_saved_card(profile):
            raise errors.not_now("Save a card in the app first", "no_payment_method")
        op = lookups.operator(db, product.operator_id)
        card = card_of(profile, op.stripe_account_id)
        if card is None:
            raise errors.not_now("The operator does not take card payments yet", "not_available")
        try:
            fac = lookups.facility(db, product.operator_id, product.facility_id)
        except LookupError as exc:
            raise errors.not_now("This pass is no longer sold", "not_available") from exc
        valid_from, valid_until = validity(product, start, fac.zone)
        entry = new_entry(
            payment_id,
            Subject(
                "pass",
                product.operator_id,
                product.facility_id,
                pass_id=pass_id,
                product_id=product_id,
                uid=uid,
                plate=plate,
            ),
            amount=product.price,
            currency=product.currency,
            fee_bps=op.platform_fee_bps,
            now=now,
            card=card,
            off_session=False,
        )
        parking_pass = ParkingPass(
            operator_id=product.operator_id,
            facility_id=product.facility_id,
            uid=uid,
            plate=plate,
            product_id=product_id,
            product_name=product.name,
            valid_from=valid_from,
            valid_until=valid_until,
            status="pending",
            amount=product.price,
            currency=product.currency,
            payment_id=payment_id,
            created_at=now,
            updated_at=now,
        )
        transaction.set(ledger_ref, entry.to_doc())
        transaction.set(pass_ref, parking_pass.to_doc())
        return "charge", charge_request(payment_id, entry)

    state, request = claim(db.transaction())
    state, client_secret = charging.settle_in_app(
        db, payment_id, state, request, "payments.pass_provider_unavailable"
    )
    doc = pass_ref.get().to_dict() or {}
    logger.info(
        "payments.pass_purchase",
        passId=pass_id,
        uid=uid,
        operatorId=doc.get("operatorId"),
        facilityId=doc.get("facilityId"),
        paymentStatus=state,
        passStatus=doc.get("status"),
    )
    return {
        "passId": pass_id,
        "paymentId": payment_id,
        "status": doc.get("status"),
        "paymentStatus": state,
        "clientSecret": client_secret,
        "validFrom": doc["validFrom"].isoformat() if doc.get("validFrom") else None,
        "validUntil": doc["validUntil"].isoformat() if doc.get("validUntil") else None,
    }


def revenue(
    db: Client,
    operator_id: str,
    facility_id: str,
    since: datetime,
    until: datetime,
    product_id: str | None = None,
) -> dict[str, Any]:
    """Pass revenue of one facility (or one of its products) in [since, until): net of
    refunds, by payment time."""
    query = (
        db.collection(PAYMENTS)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .where(filter=FieldFilter("facilityId", "==", facility_id))
    )
    if product_id is not None:
        query = query.where(filter=FieldFilter("productId", "==", product_id))
    query = (
        query.where(filter=FieldFilter("kind", "==", "pass"))
        .where(filter=FieldFilter("status", "==", "succeeded"))
        .where(filter=FieldFilter("paidAt", ">=", since))
        .where(filter=FieldFilter("paidAt", "<", until))
    )
    agg = aggregation.AggregationQuery(query)
    agg.sum("netAmount", alias="net").sum("amount", alias="gross").count(alias="count")
    values = {r.alias: r.value for row in agg.get() for r in row}
    return {
        "operatorId": operator_id,
        "facilityId": facility_id,
        "productId": product_id,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "passesSold": int(values.get("count") or 0),
        "grossAmount": int(values.get("gross") or 0),
        "netAmount": int(values.get("net") or 0),
    }


# --- The operator's side: products, revenue by product, the list of sold passes -------------


class ProductDraft(BaseModel):
    """A new pass product as an operator admin describes it."""

    model_config = ConfigDict(extra="forbid")

    facility_id: ids.DocumentId
    name: str = Field(min_length=1, max_length=80)
    period: Literal["day", "week", "month", "year", "custom"] = "custom"
    validity_days: int = Field(gt=0, le=400)
    price: int = Field(gt=0, le=10_000_000)


def _product_ref(db: Client, product_id: str) -> Any:
    if not ids.is_valid(product_id):
        raise errors.not_found("No such pass product")
    return db.collection(PASS_PRODUCTS).document(product_id)


def get_product(db: Client, product_id: str) -> PassProduct | None:
    snapshot = _product_ref(db, product_id).get()
    if not snapshot.exists:
        return None
    return PassProduct.model_validate({**snapshot.to_dict(), "id": snapshot.id})


def operator_products(db: Client, operator_id: str, limit: int = 500) -> list[PassProduct]:
    """Every product of the operator, sold or not, by facility and price."""
    query = (
        db.collection(PASS_PRODUCTS)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .limit(limit)
    )
    found = [PassProduct.model_validate({**s.to_dict(), "id": s.id}) for s in query.get()]
    return sorted(found, key=lambda p: (p.facility_id, not p.active, p.price, p.name))


def create_product(db: Client, actor: Actor, operator_id: str, draft: ProductDraft) -> PassProduct:
    """A product on sale at one of the operator's facilities, in the facility's currency."""
    actor.require_admin_of(operator_id)
    facility = _facility_or_404(db, operator_id, draft.facility_id)
    on_sale = len(list_products(db, facility.id, MAX_PRODUCTS))
    if on_sale >= MAX_PRODUCTS:
        raise errors.conflict(f"A facility sells at most {MAX_PRODUCTS} products", "too_many")
    ref = db.collection(PASS_PRODUCTS).document()
    product = PassProduct(
        id=ref.id,
        operator_id=operator_id,
        facility_id=facility.id,
        name=draft.name.strip(),
        period=draft.period,
        validity_days=draft.validity_days,
        price=draft.price,
        currency=facility.currency,
        active=True,
    )
    ref.create(product.model_dump(by_alias=True, exclude={"id"}))
    logger.info("payments.product_created", productId=ref.id, operatorId=operator_id)
    return product


def _facility_or_404(db: Client, operator_id: str, facility_id: str) -> Any:
    try:
        return lookups.facility(db, operator_id, facility_id)
    except LookupError as exc:
        raise errors.not_found("No such facility") from exc


def update_product(
    db: Client,
    actor: Actor,
    operator_id: str,
    product_id: str,
    *,
    price: int | None = None,
    active: bool | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change a product's price or put it on or off sale; returns (before, after) of the
    fields that changed. Passes already bought keep what they cost; a product off sale
    can no longer be bought."""
    actor.require_admin_of(operator_id)
    if price is not None and not 0 < price <= 10_000_000:
        raise errors.bad_request("A price is above zero", "invalid_price")
    ref = _product_ref(db, product_id)

    @firestore.transactional
    def write(transaction: Transaction) -> tuple[dict[str, Any], dict[str, Any]]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists or (snapshot.to_dict() or {}).get("operatorId") != operator_id:
            raise errors.not_found("No such pass product")
        current = snapshot.to_dict()
        wanted = {"price": price, "active": active}
        after = {k: v for k, v in wanted.items() if v is not None and current.get(k) != v}
        before = {k: current.get(k) for k in after}
        if after:
            transaction.update(ref, after)
        return before, after

    return write(db.transaction())


PASS_FILTERS = ("facilityId", "status", "productId", "plate")


def operator_passes(
    db: Client,
    operator_id: str,
    filters: dict[str, str],
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 50,
    after: str | None = None,
):
    """The operator's sold passes, newest purchase first, with equality filters (facility,
    status, product, plate) and a purchase-time range; each filter has its index with
    createdAt, so Firestore merges them. Yields ParkingPass with its id."""
    query = db.collection(PASSES).where(filter=FieldFilter("operatorId", "==", operator_id))
    for name in PASS_FILTERS:
        if filters.get(name):
            query = query.where(filter=FieldFilter(name, "==", filters[name]))
    if since is not None:
        query = query.where(filter=FieldFilter("createdAt", ">=", since))
    if until is not None:
        query = query.where(filter=FieldFilter("createdAt", "<", until))
    query = query.order_by("createdAt", direction=firestore.Query.DESCENDING)
    if after:
        cursor = db.collection(PASSES).document(after).get() if ids.is_valid(after) else None
        if cursor is not None and cursor.exists:
            query = query.start_after(cursor)
    if limit is not None:
        query = query.limit(limit)
    for snapshot in query.stream():
        yield snapshot.id, ParkingPass.model_validate(snapshot.to_dict())
