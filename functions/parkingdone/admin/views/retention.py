"""Data retention and an operator's termination, for the operator in scope.

Operator admins see their retention policy; super admins change it within the legal bounds
(retention.change, the same function as the `retentionPolicy` callable) and start the
operator's termination and follow its progress (termination.start and termination.view, the
same as the `terminateOperator` callable). Both actions are written to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from parkingdone import retention, termination
from parkingdone.admin import audit
from parkingdone.admin.access import Refused, admin_required
from parkingdone.errors import ApiError
from parkingdone.firebase import db

blueprint = Blueprint("retention", __name__)

# What each setting covers, in the order the page lists them.
SETTINGS = {
    "sessionsMonths": "Stays, their camera events, enforcement check logs and disputes "
    "(months after the stay ended)",
    "imagesMonths": "Evidence images (months after the stay ended)",
    "accountingYears": "Payment records, receipts and passes (years after the end of their "
    "financial year)",
    "financialYearEndMonth": "Last month of the financial year",
    "ticketsMonths": "Support tickets (months after closing)",
}


def _super_only(action: str) -> None:
    if not g.principal.is_super:
        raise Refused(f"Only a super admin may {action}.")


def _page(status: int = 200, error: str | None = None, values: dict | None = None) -> Any:
    operator_id = g.operator.id
    policy = retention.load(db(), operator_id).to_doc()
    record = db().collection(termination.TERMINATIONS).document(operator_id).get()
    shown = termination.view(record.to_dict()) if record.exists else None
    body = render_template(
        "retention.html",
        settings=SETTINGS,
        policy={**policy, **(values or {})},
        defaults=retention.DEFAULT.to_doc(),
        bounds=retention.bounds(),
        termination=shown,
        error=error,
        notice=request.args.get("notice"),
    )
    return body, status


@blueprint.get("/retention")
@admin_required
def index() -> Any:
    return _page()


@blueprint.post("/retention")
@admin_required
def change_policy() -> Any:
    _super_only("change a retention policy")
    before = retention.load(db(), g.operator.id).to_doc()
    values: dict[str, Any] = {}
    for name in SETTINGS:
        raw = (request.form.get(name) or "").strip()
        values[name] = int(raw) if raw.lstrip("-").isdigit() else raw
    try:
        policy = retention.change(db(), g.operator.id, values, g.principal.uid)
    except ApiError as error:
        return _page(error.status, error.message, values)
    audit.record(
        db(),
        "retention.policy_change",
        f"retentionPolicies/{g.operator.id}",
        before,
        policy.to_doc(),
    )
    return redirect(url_for("retention.index", notice="Retention policy saved"), code=303)


@blueprint.post("/retention/terminate")
@admin_required
def terminate() -> Any:
    _super_only("terminate an operator")
    if (request.form.get("confirm_operator_id") or "").strip() != g.operator.id:
        return _page(400, f"Type the operator's id, {g.operator.id}, to confirm.")
    record = termination.start(db(), g.operator.id, g.principal.uid)
    audit.record(
        db(),
        "operator.terminate",
        f"operatorTerminations/{g.operator.id}",
        None,
        {"status": record["status"], "staffRevoked": record.get("staffRevoked")},
    )
    return redirect(url_for("retention.index", notice="Termination started"), code=303)
