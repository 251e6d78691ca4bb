"""Customers: find one of the operator's drivers by plate, e-mail or name, and their profile
(vehicles, stays, passes, payments and refunds, disputes, wallet). Admins may credit the
wallet with a reason; the credit goes through payments/wallet.py and the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from parkingdone.admin import audit, customers
from parkingdone.admin.access import Refused, staff_required
from parkingdone.errors import ApiError
from parkingdone.firebase import db
from parkingdone.ids import is_valid
from parkingdone.models import facilities
from parkingdone.payments import wallet

blueprint = Blueprint("customers", __name__)

# The profile's sections, in order: one template each under customers/, so a new section
# is one more name here and one more file.
SECTIONS = ("wallet", "vehicles", "sessions", "passes", "payments", "disputes", "tickets")


def parse_minor(raw: str | None) -> int | None:
    """ "12,50" or "12.50" -> 1250; None when empty; ValueError when not an amount."""
    text = (raw or "").strip().replace(",", ".")
    if not text:
        return None
    value = round(float(text) * 100)
    if value <= 0 or value > 10**9:
        raise ValueError(text)
    return value


@blueprint.get("/customers")
@staff_required
def index() -> Any:
    text = (request.args.get("q") or "").strip()
    results = customers.search(db(), g.operator.id, text) if text else []
    return render_template("customers.html", q=text, results=results, searched=bool(text))


def _profile(uid: str) -> customers.Profile:
    if not is_valid(uid):
        abort(404)
    found = customers.profile(db(), g.operator.id, uid)
    if found is None:
        abort(404)
    return found


@blueprint.get("/customers/<uid>")
@staff_required
def show(uid: str) -> Any:
    profile = _profile(uid)
    return render_template(
        "customer.html",
        profile=profile,
        sections=SECTIONS,
        facilities={f.id: f for f in facilities.of_operator(db(), g.operator.id)},
        notice=request.args.get("notice"),
        request_id=uuid.uuid4().hex,
    )


@blueprint.post("/customers/<uid>/wallet/credit")
@staff_required
def credit(uid: str) -> Any:
    if not g.principal.is_admin_of(g.operator.id):
        raise Refused("Only the operator's administrators may credit a wallet.")
    _profile(uid)
    try:
        amount = parse_minor(request.form.get("amount"))
    except ValueError:
        amount = -1
    if amount is None or amount <= 0:
        raise ApiError(400, "invalid_amount", "Give the amount to credit, e.g. 5.00")
    result = wallet.credit(
        db(),
        g.operator.id,
        uid,
        amount,
        request.form.get("reason", ""),
        request.form.get("request_id") or uuid.uuid4().hex,
        g.principal.uid,
    )
    if result["changed"]:
        audit.record(
            db(),
            "wallet.credit",
            f"wallets/{g.operator.id}__{uid}",
            {"balance": result["balance"] - amount},
            {"balance": result["balance"], "amount": amount, "reason": request.form.get("reason")},
        )
    return redirect(url_for("customers.show", uid=uid, notice="Wallet credited"), code=303)
