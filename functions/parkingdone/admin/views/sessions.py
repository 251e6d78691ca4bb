"""Sessions: the filtered list, its CSV export, a stay's evidence timeline and photos, and
the actions on a stay (plate correction, invoice workflow, refund), each through the same
domain function as every other caller and written to the audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from firebase_admin import storage
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from parkingdone import config
from parkingdone.admin import audit, csv_export, queries, timeline
from parkingdone.admin.access import Refused, scoped, staff_required
from parkingdone.errors import ApiError
from parkingdone.firebase import app as firebase_app
from parkingdone.firebase import db
from parkingdone.models import disputes, facilities, payments, sessions
from parkingdone.payments import invoices, refunds
from parkingdone.payments.access import Actor
from parkingdone.sessions import corrections

blueprint = Blueprint("sessions", __name__)


def _facility_map() -> dict[str, facilities.FacilityDoc]:
    return {f.id: f for f in facilities.of_operator(db(), g.operator.id)}


def _filters() -> queries.Filters:
    try:
        return queries.Filters.parse(request.args)
    except queries.FilterError as exc:
        abort(400, str(exc))


def _actor() -> Actor:
    return Actor(g.principal.uid, g.principal.role, g.principal.operator_id)


@blueprint.get("/sessions")
@staff_required
def index() -> Any:
    filters = _filters()
    facility_map = _facility_map()
    docs, next_cursor = queries.page(
        db(), g.operator.id, filters, g.operator.time_zone, request.args.get("after")
    )
    return render_template(
        "sessions.html",
        sessions=docs,
        filters=filters,
        facilities=facility_map,
        next_cursor=next_cursor,
        statuses=sessions.LISTED_STATUSES,
        payment_statuses=queries.PAYMENT_STATUSES,
        flags=queries.FLAGS,
        request_id=uuid.uuid4().hex,
    )


@blueprint.get("/sessions.csv")
@staff_required
def export_csv() -> Response:
    filters = _filters()
    facility_map = {f.id: (f.name, f.time_zone) for f in _facility_map().values()}
    docs = queries.stream_all(db(), g.operator.id, filters, g.operator.time_zone)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = Response(csv_export.lines(docs, facility_map), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="sessions-{g.operator.id}-{stamp}.csv"'
    )
    return response


def _session(session_id: str) -> sessions.SessionDoc:
    doc = scoped(sessions.get(db(), session_id))
    if doc.status == sessions.SUPERSEDED:
        abort(404)
    return doc


@blueprint.get("/sessions/<session_id>", endpoint="timeline")
@staff_required
def timeline_page(session_id: str) -> Any:
    session = _session(session_id)
    facility = facilities.get(db(), session.facility_id)
    if facility is None:
        abort(404)
    evidence = timeline.load(db(), session)
    return render_template(
        "timeline.html",
        session=session,
        facility=facility,
        items=timeline.build(session, facility, evidence),
        payments=evidence.payments,
        dispute=evidence.dispute,
        dispute_reasons=disputes.REASONS,
        notice=request.args.get("notice"),
        request_id=uuid.uuid4().hex,
    )


@blueprint.get("/sessions/<session_id>/photo/<kind>")
@staff_required
def photo(session_id: str, kind: str) -> Response:
    """The stay's ANPR image through this authenticated proxy (evidence is private)."""
    if kind not in ("entry", "exit"):
        abort(404)
    item = _session(session_id).image(kind)  # type: ignore[arg-type]
    if item is None or not item.storage_path:
        abort(404)
    bucket_name, _, path = item.storage_path.removeprefix("gs://").partition("/")
    if bucket_name != config.evidence_bucket():
        abort(404)
    blob = storage.bucket(bucket_name, app=firebase_app()).blob(path)
    data = blob.download_as_bytes(timeout=10)
    response = Response(data, mimetype=item.content_type or "image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _back(session_id: str, notice: str, status: int = 303) -> Any:
    if request.form.get("from") == "list":
        return redirect(url_for("sessions.index", notice=notice), code=status)
    return redirect(url_for("sessions.timeline", session_id=session_id, notice=notice), code=status)


def _refuse_page(status: int, code: str, message: str, session_id: str) -> Response:
    body = render_template(
        "error.html", status=status, code=code, message=message, session_id=session_id
    )
    return Response(body, status=status)


@blueprint.post("/sessions/<session_id>/plate")
@staff_required
def correct_plate(session_id: str) -> Any:
    _session(session_id)
    corrector = corrections.Corrector(g.principal.uid, g.principal.email, g.operator.id)
    try:
        result = corrections.correct_plate(
            db(),
            corrector,
            session_id,
            request.form.get("plate", ""),
            request.form.get("reason", ""),
        )
    except ApiError as error:
        return _refuse_page(error.status, error.code, error.message, session_id)
    audit.record(
        db(), "session.plate_corrected", f"sessions/{session_id}", result["before"], result["after"]
    )
    return _back(session_id, f"Plate corrected to {result['after']['plate']}")


@blueprint.post("/sessions/<session_id>/invoice")
@staff_required
def invoice(session_id: str) -> Any:
    session = _session(session_id)
    action = request.form.get("action", "")
    reference = (request.form.get("reference") or "").strip()[:100] or None
    note = (request.form.get("note") or "").strip()[:500] or None
    try:
        result = invoices.transition(db(), _actor(), session_id, action, reference, note)
    except ApiError as error:
        if error.status == 403:
            raise Refused("Only the operator's administrators may change invoices.") from error
        return _refuse_page(error.status, error.code, error.message, session_id)
    if result.get("changed"):
        audit.record(
            db(),
            f"invoice.{action}",
            f"sessions/{session_id}",
            {"paymentStatus": session.payment_status},
            {"paymentStatus": result["status"], "reference": reference, "note": note},
        )
    return _back(session_id, f"Payment is now {result['status'].replace('_', ' ')}")


@blueprint.post("/sessions/<session_id>/refund")
@staff_required
def refund(session_id: str) -> Any:
    session = _session(session_id)
    payment_id = request.form.get("payment_id", "")
    ledger = payments.get(db(), payment_id) if payment_id else None
    if ledger is None or ledger.session_id != session_id:
        abort(404)
    raw_amount = (request.form.get("amount") or "").strip().replace(",", ".")
    amount = None
    if raw_amount:
        try:
            amount = round(float(raw_amount) * 100)
        except ValueError:
            return _refuse_page(400, "invalid_amount", "Amount must be a number", session_id)
    try:
        result = refunds.refund(
            db(),
            _actor(),
            payment_id,
            request.form.get("request_id") or uuid.uuid4().hex,
            amount,
            (request.form.get("reason") or "").strip()[:200] or None,
        )
    except ApiError as error:
        if error.status == 403:
            raise Refused("Only the operator's administrators may refund.") from error
        return _refuse_page(error.status, error.code, error.message, session_id)
    audit.record(
        db(),
        "payment.refund",
        f"payments/{payment_id}",
        {"refundedAmount": session.payment.refunded_amount if session.payment else 0},
        {k: v for k, v in result.items() if isinstance(v, str | int | float | None)},
    )
    return _back(session_id, "Refund recorded")
