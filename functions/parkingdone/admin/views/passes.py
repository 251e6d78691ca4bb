"""Passes and enforcement: every sold pass with filters and its CSV, pass revenue by
facility and by product, the pass products (create, price, on and off sale), and a plate
check that answers exactly as the enforcement API does.

Each action calls the domain function every other caller uses: `payments.passes`
(`revenue` is what the `passRevenue` callable answers) and `enforcement.checking.check`
(what `/api/enforcement/check` answers), and each state change is audited.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from pydantic import ValidationError

from parkingdone import facilities, plates, tenants
from parkingdone.admin import audit, csv_export
from parkingdone.admin.access import Refused, admin_required, staff_required
from parkingdone.admin.formatting import decimal_amount, local_iso
from parkingdone.enforcement import checking, store
from parkingdone.errors import ApiError
from parkingdone.firebase import db
from parkingdone.models import facilities as facility_docs
from parkingdone.payments import passes
from parkingdone.payments.access import Actor

blueprint = Blueprint("passes", __name__)
PAGE_SIZE = 50
STATUSES = ("pending", "active", "expired", "cancelled")
REVENUE_DAYS = 30


def _actor() -> Actor:
    return Actor(g.principal.uid, g.principal.role, g.principal.operator_id)


def _day(name: str) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name} must be a date (YYYY-MM-DD)")


def _local_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """[start 00:00, the day after end 00:00) in the operator's zone, as UTC."""
    zone = ZoneInfo(g.operator.time_zone)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    return (
        midnight(start) if start else None,
        midnight(end + timedelta(days=1)) if end else None,
    )


def _filters() -> dict[str, str]:
    found = {
        "facilityId": (request.args.get("facility") or "").strip(),
        "status": (request.args.get("status") or "").strip(),
        "productId": (request.args.get("product") or "").strip(),
        "plate": "",
    }
    plate = (request.args.get("plate") or "").strip()
    if plate:
        try:
            found["plate"] = plates.normalise(plate)
        except ValueError:
            abort(400, "Plate is not a plate")
    if found["status"] and found["status"] not in STATUSES:
        abort(400, "Unknown status")
    return found


def _context() -> dict[str, Any]:
    facility_list = facility_docs.of_operator(db(), g.operator.id)
    products = passes.operator_products(db(), g.operator.id)
    return {
        "facilities": {f.id: f for f in facility_list},
        "products": products,
        "product_names": {p.id: p.name for p in products},
    }


def _revenue(context: dict[str, Any]) -> dict[str, Any] | None:
    """Revenue by facility and by product over the chosen local dates (admins only)."""
    if not g.principal.is_admin_of(g.operator.id):
        return None
    today = datetime.now(ZoneInfo(g.operator.time_zone)).date()
    end = _day("rev_to") or today
    start = _day("rev_from") or end - timedelta(days=REVENUE_DAYS - 1)
    if start > end:
        abort(400, "The revenue period ends before it starts")
    since, until = _local_range(start, end)
    by_facility = [
        passes.revenue(db(), g.operator.id, f.id, since, until)
        for f in context["facilities"].values()
    ]
    by_product = [
        passes.revenue(db(), g.operator.id, p.facility_id, since, until, p.id)
        for p in context["products"]
    ]
    return {
        "start": start,
        "end": end,
        "by_facility": by_facility,
        "by_product": by_product,
        "total_gross": sum(r["grossAmount"] for r in by_facility),
        "total_net": sum(r["netAmount"] for r in by_facility),
    }


def _page(status: int = 200, **extra: Any) -> Any:
    context = _context()
    filters = _filters()
    since, until = _local_range(_day("from"), _day("to"))
    rows = list(
        passes.operator_passes(
            db(), g.operator.id, filters, since, until, PAGE_SIZE + 1, request.args.get("after")
        )
    )
    next_cursor = rows[PAGE_SIZE - 1][0] if len(rows) > PAGE_SIZE else None
    body = render_template(
        "passes.html",
        rows=rows[:PAGE_SIZE],
        next_cursor=next_cursor,
        filters=filters,
        args={k: v for k, v in request.args.items() if k not in ("after", "notice")},
        statuses=STATUSES,
        revenue=_revenue(context),
        notice=request.args.get("notice"),
        **context,
        **extra,
    )
    return body, status


@blueprint.get("/passes")
@staff_required
def index() -> Any:
    return _page()


PASS_HEADER = (
    "pass_id",
    "facility_id",
    "facility",
    "product_id",
    "product",
    "plate",
    "status",
    "valid_from_local",
    "valid_until_local",
    "time_zone",
    "amount",
    "currency",
    "payment_id",
    "bought_local",
)


@blueprint.get("/passes.csv")
@staff_required
def export_csv() -> Response:
    context = _context()
    filters = _filters()
    since, until = _local_range(_day("from"), _day("to"))
    found = passes.operator_passes(db(), g.operator.id, filters, since, until, limit=None)

    def values(item: tuple[str, Any]) -> list[object]:
        pass_id, sold = item
        facility = context["facilities"].get(sold.facility_id)
        zone = facility.time_zone if facility else g.operator.time_zone
        return [
            pass_id,
            sold.facility_id,
            facility.name if facility else sold.facility_id,
            sold.product_id,
            sold.product_name or context["product_names"].get(sold.product_id, ""),
            sold.plate,
            sold.status,
            local_iso(sold.valid_from, zone),
            local_iso(sold.valid_until, zone),
            zone,
            decimal_amount(sold.amount, sold.currency),
            sold.currency,
            sold.payment_id,
            local_iso(sold.created_at, zone),
        ]

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    body = csv_export.table(PASS_HEADER, (values(item) for item in found))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="passes-{g.operator.id}-{stamp}.csv"'
    )
    return response


def _back(notice: str) -> Any:
    return redirect(url_for("passes.index", notice=notice), code=303)


def _refused(error: ApiError) -> Any:
    if error.status == 403:
        raise Refused(error.message)
    if error.status == 404:
        abort(404)
    return _page(error.status, error=error.message)


def _price(field: str = "price") -> int:
    amount = facilities.minor_units(request.form.get(field), "Price", required=True)
    return int(amount or 0)


@blueprint.post("/passes/products")
@admin_required
def create_product() -> Any:
    try:
        draft = passes.ProductDraft.model_validate(
            {
                "facility_id": request.form.get("facility", ""),
                "name": (request.form.get("name") or "").strip(),
                "period": request.form.get("period") or "custom",
                "validity_days": request.form.get("validity_days") or 0,
                "price": _price(),
            }
        )
        product = passes.create_product(db(), _actor(), g.operator.id, draft)
    except ValidationError as exc:
        return _refused(facilities.invalid(exc, "invalid_product"))
    except ApiError as error:
        return _refused(error)
    after = product.model_dump(by_alias=True, exclude={"id"})
    audit.record(db(), "pass_product.created", f"passProducts/{product.id}", None, after)
    return _back(f"{product.name} is on sale")


@blueprint.post("/passes/products/<product_id>")
@admin_required
def update_product(product_id: str) -> Any:
    action = request.form.get("action", "")
    try:
        if action == "price":
            change = {"price": _price()}
        elif action in ("activate", "deactivate"):
            change = {"active": action == "activate"}
        else:
            raise ApiError(400, "invalid_action", "Unknown action")
        before, after = passes.update_product(db(), _actor(), g.operator.id, product_id, **change)
    except ApiError as error:
        return _refused(error)
    if after:
        audit.record(db(), f"pass_product.{action}", f"passProducts/{product_id}", before, after)
    return _back("Product updated" if after else "Nothing changed")


@blueprint.post("/passes/check")
@staff_required
def check() -> Any:
    """A plate check by the signed-in staff member, logged like an officer's."""
    facility_id = request.form.get("facility", "")
    facility = tenants.find_facility(db(), g.operator.id, facility_id) if facility_id else None
    if facility is None:
        return _page(404, error="Choose one of your facilities")
    caller = store.Caller(
        key_id=None, key_label=None, staff_uid=g.principal.uid, staff_email=g.principal.email
    )
    try:
        answer, _ = checking.check(db(), caller, facility, request.form.get("plate", ""))
    except ApiError as error:
        return _page(error.status, error=error.message)
    return _page(check=answer)
