"""The super admin's pages: every operator with its headline figures, onboarding a new
operator in one flow (onboarding.py), and the client preview of any operator's portal
(admin/preview.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pydantic
from flask import Blueprint, Response, abort, g, redirect, render_template, request

from parkingdone import ids, onboarding
from parkingdone.admin import audit, kpis, preview
from parkingdone.admin.access import super_required
from parkingdone.admin.views.users import caller
from parkingdone.errors import ApiError
from parkingdone.firebase import db
from parkingdone.models import operators
from parkingdone.models.operators import OperatorDoc

blueprint = Blueprint("operators", __name__)


@dataclass(frozen=True)
class Headline:
    """An operator's figures from the trigger-kept aggregates (two reads by id)."""

    sessions_today: int = 0
    gross_today: int = 0
    inside: int = 0
    unpaid_amount: int = 0
    unpaid_count: int = 0
    to_invoice: int = 0


def headlines(all_operators: list[OperatorDoc], now: datetime) -> dict[str, Headline]:
    """Each operator's today and now from the stored figures (admin/aggregates.py): its
    day and totals shards, every operator's read together in one batch get."""
    if not all_operators:
        return {}
    kept = kpis.kept_today(db(), [(op.id, op.time_zone) for op in all_operators], now)
    result = {}
    for op in all_operators:
        day, totals = kept[op.id]
        invoices = (totals.get("invoices") or {}).get("to_invoice") or {}
        result[op.id] = Headline(
            sessions_today=int(day.get("sessions", 0)),
            gross_today=int(day.get("gross", 0)),
            inside=sum(int(v) for v in (totals.get("inside") or {}).values()),
            unpaid_amount=int(totals.get("unpaidAmount", 0)),
            unpaid_count=int(totals.get("unpaidCount", 0)),
            to_invoice=int(invoices.get("count", 0)),
        )
    return result


@blueprint.get("/operators")
@super_required
def index() -> Any:
    listed = operators.all_operators(db())
    return render_template(
        "operators.html",
        operators=listed,
        figures=headlines(listed, datetime.now(UTC)),
        root=request.script_root.split("/o/")[0].split("/preview/")[0],
        notice=request.args.get("notice"),
    )


def _form_page(status: int = 200, **context: Any) -> Response:
    return Response(render_template("onboard.html", form=request.form, **context), status=status)


def _number(name: str, scale: int = 1) -> int | None:
    """A form number (decimal comma allowed) in minor units or basis points; None if empty."""
    raw = (request.form.get(name) or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        return round(float(raw) * scale)
    except ValueError as exc:
        raise ApiError(400, "invalid_number", f"{name.replace('_', ' ')}: not a number") from exc


def _onboarding_request() -> onboarding.OnboardOperator:
    f = request.form

    def text(name: str) -> str | None:
        return (f.get(name) or "").strip() or None

    tariff = {
        "free_minutes": _number("free_minutes") or 0,
        "free_mode": text("free_mode") or "all_or_nothing",
        "period_minutes": _number("period_minutes") or 60,
        "period_price": _number("period_price", 100),
        "daily_cap": _number("daily_cap", 100),
        "exit_grace_minutes": _number("exit_grace_minutes") or 0,
    }
    fields = {
        "operator_id": text("operator_id"),
        "name": text("name"),
        "slug": (text("slug") or "").lower(),
        "currency": (text("currency") or "EUR").upper(),
        "time_zone": text("time_zone") or "Europe/Helsinki",
        "platform_fee_bps": _number("platform_fee_percent", 100),
        "vat_rate_bps": _number("vat_percent", 100),
        "language": text("language") or "fi",
        "display_name": text("display_name"),
        "logo_url": text("logo_url"),
        "accent_color": text("accent_color"),
        "stripe_account_id": text("stripe_account_id"),
        "facility_id": text("facility_id"),
        "facility_name": text("facility_name"),
        "capacity": _number("capacity"),
        "tariff": tariff,
        "admin_email": (text("admin_email") or "").lower(),
        "admin_name": text("admin_name"),
        "webhook_label": text("webhook_label") or onboarding.ONBOARDING_TOKEN_LABEL,
    }
    return onboarding.OnboardOperator.model_validate(
        {k: v for k, v in fields.items() if v is not None}
    )


@blueprint.get("/operators/new")
@super_required
def new() -> Any:
    return _form_page()


@blueprint.post("/operators/new")
@super_required
def create() -> Any:
    try:
        onboard_request = _onboarding_request()
        result = onboarding.onboard(db(), caller(), onboard_request)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        return _form_page(400, error=f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
    except ApiError as error:
        return _form_page(error.status, error=error.message)
    g.operator = operators.get(db(), result["operatorId"])
    audit.record(
        db(),
        "operator.onboarded",
        f"operators/{result['operatorId']}",
        None,
        {
            "slug": result["slug"],
            "facilityId": result["facilityId"],
            "adminEmail": result["admin"]["email"],
            "webhookTokenId": result["webhookTokenId"] if result["webhookToken"] else None,
            "resumed": result["resumed"],
        },
    )
    root = request.script_root.split("/o/")[0]
    return render_template("onboarded.html", result=result, portal=f"{root}/o/{result['slug']}/")


@blueprint.post("/operators/<operator_id>/preview")
@super_required
def start_preview(operator_id: str) -> Any:
    operator = operators.get(db(), operator_id) if ids.is_valid(operator_id) else None
    if operator is None:
        abort(404)
    preview_id = preview.start(db(), operator)
    root = request.script_root.split("/o/")[0]
    return redirect(f"{root}/preview/{preview_id}/", code=303)
