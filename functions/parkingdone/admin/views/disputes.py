"""Disputes: the operator's open and decided disputes, one dispute with its evidence, and
the actions: open one from a stay's page (staff), decide it (admins). Each calls
parkingdone.disputes, the same functions as the app's callables, and is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from parkingdone import disputes as domain
from parkingdone.admin import audit
from parkingdone.admin.access import Refused, scoped, staff_required
from parkingdone.admin.views.customers import parse_minor
from parkingdone.errors import ApiError
from parkingdone.firebase import db
from parkingdone.ids import is_valid
from parkingdone.models import disputes, facilities
from parkingdone.payments.access import Actor

blueprint = Blueprint("disputes", __name__)
STATUSES = ("open", "accepted", "rejected")


@blueprint.get("/disputes")
@staff_required
def index() -> Any:
    status = request.args.get("status") or "open"
    if status not in (*STATUSES, "all"):
        abort(400, "Unknown status")
    docs = disputes.of_operator(db(), g.operator.id, None if status == "all" else status)
    return render_template("disputes.html", disputes=docs, status=status, statuses=STATUSES)


def _dispute(dispute_id: str) -> disputes.DisputeDoc:
    if not is_valid(dispute_id):
        abort(404)
    return scoped(disputes.get(db(), dispute_id))


@blueprint.get("/disputes/<dispute_id>")
@staff_required
def show(dispute_id: str) -> Any:
    dispute = _dispute(dispute_id)
    facility = facilities.get(db(), dispute.facility_id)
    return render_template(
        "dispute.html",
        dispute=dispute,
        zone=facility.time_zone if facility else g.operator.time_zone,
        facility=facility,
        notice=request.args.get("notice"),
    )


@blueprint.post("/sessions/<session_id>/dispute")
@staff_required
def open_for_session(session_id: str) -> Any:
    if not is_valid(session_id):
        abort(404)
    principal = g.principal
    opener = domain.Opener(principal.uid, principal.role or "", g.operator.id)
    result = domain.open_dispute(
        db(),
        opener,
        session_id,
        request.form.get("reason", ""),
        request.form.get("statement", ""),
    )
    audit.record(
        db(),
        "dispute.open",
        f"disputes/{result['id']}",
        None,
        {"status": result["status"], "reason": result["reason"]},
    )
    return redirect(url_for("disputes.show", dispute_id=result["id"], notice="Dispute opened"), 303)


@blueprint.post("/disputes/<dispute_id>/resolve")
@staff_required
def resolve(dispute_id: str) -> Any:
    dispute = _dispute(dispute_id)
    if not g.principal.is_admin_of(g.operator.id):
        raise Refused("Only the operator's administrators may decide disputes.")
    decision = request.form.get("decision", "")
    refund_amount = None
    if decision == "accepted" and request.form.get("refund") == "partial":
        try:
            refund_amount = parse_minor(request.form.get("amount"))
        except ValueError:
            refund_amount = None
        if refund_amount is None:
            raise ApiError(400, "invalid_amount", "Give the partial refund, e.g. 2.00")
    refund_to = "wallet" if request.form.get("refund_to") == "wallet" else "card"
    actor = Actor(g.principal.uid, g.principal.role, g.principal.operator_id)
    result = domain.resolve(
        db(),
        actor,
        dispute_id,
        decision,
        request.form.get("reason", ""),
        refund_amount,
        refund_to,
    )
    audit.record(
        db(),
        f"dispute.{decision}",
        f"disputes/{dispute_id}",
        {"status": dispute.status},
        {
            "status": result["status"],
            "refundAmount": (result.get("resolution") or {}).get("refundAmount"),
            "reason": (result.get("resolution") or {}).get("reason"),
        },
    )
    return redirect(url_for("disputes.show", dispute_id=dispute_id, notice="Dispute decided"), 303)
