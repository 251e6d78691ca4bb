"""Facilities: what drivers and officers read of each car park (rate label, notice, rules,
capacity, maximum stay, enforcement grace, geofence), new facilities, and the tariff
editor (a new version from a chosen time, previewed on sample stays before it is saved).

Staff read; operator admins change. Every write goes through `parkingdone.facilities` and
into the audit log with what it changed, before -> after.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from parkingdone import facilities, ids, settings, tenants
from parkingdone.admin import audit
from parkingdone.admin.access import admin_required, staff_required
from parkingdone.errors import ApiError
from parkingdone.firebase import db
from parkingdone.models import facilities as facility_docs

blueprint = Blueprint("facilities", __name__)


def _facility(facility_id: str) -> tenants.Facility:
    """The operator's facility through the shared loader (by id); 404 for any other.

    Configuration pages show what is stored, not a copy another request of this instance
    cached before a save made elsewhere: this instance's copies are dropped first.
    """
    if not ids.is_valid(facility_id):
        abort(404)
    tenants.clear_cache()
    found = tenants.find_facility(db(), g.operator.id, facility_id)
    if found is None or found.id != facility_id:
        abort(404)
    return found


def _settings_form(facility: tenants.Facility | None) -> dict[str, str]:
    if facility is None:
        return {
            "max_stay_minutes": str(settings.MAX_STAY_MINUTES),
            "enforcement_grace_minutes": str(settings.ENFORCEMENT_GRACE_MINUTES),
        }
    return {
        "rate_label": facility.rate_label,
        "driver_notice": facility.driver_notice,
        "rules": "\n".join(facility.rules),
        "capacity": "" if facility.capacity is None else str(facility.capacity),
        "max_stay_minutes": str(facility.max_stay_minutes),
        "enforcement_grace_minutes": str(facility.enforcement_grace_minutes),
        "geofence": "\n".join(f"{p.lat}, {p.lng}" for p in facility.geofence),
    }


@blueprint.get("/facilities")
@staff_required
def index() -> Any:
    listed = facility_docs.of_operator(db(), g.operator.id)
    return render_template("facilities.html", facilities=listed, notice=request.args.get("notice"))


def _page(facility: tenants.Facility, form: dict[str, str], error: str | None, status: int) -> Any:
    now = datetime.now(UTC)
    body = render_template(
        "facility.html",
        facility=facility,
        form=form,
        error=error,
        versions=list(reversed(facilities.versions_of(facility))),
        current=facilities.in_force(facility, now),
        notice=request.args.get("notice"),
    )
    return body, status


@blueprint.get("/facilities/<facility_id>")
@staff_required
def show(facility_id: str) -> Any:
    facility = _facility(facility_id)
    return _page(facility, _settings_form(facility), None, 200)


@blueprint.post("/facilities/<facility_id>")
@admin_required
def save(facility_id: str) -> Any:
    facility = _facility(facility_id)
    try:
        chosen = facilities.settings_from_form(request.form)
        change = facilities.update_settings(db(), g.operator.id, facility.id, chosen)
    except ApiError as error:
        if error.status == 404:
            abort(404)
        return _page(facility, dict(request.form), error.message, error.status)
    if change.after:
        audit.record(db(), "facility.updated", change.target, change.before, change.after)
        notice = "Saved: " + ", ".join(sorted(change.after))
        if change.reanswered:
            notice += f"; enforcement answers of {change.reanswered} plates updated"
    else:
        notice = "Nothing changed"
    return redirect(url_for("facilities.show", facility_id=facility.id, notice=notice), code=303)


def _zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


@blueprint.get("/facilities/new")
@admin_required
def new() -> Any:
    form = {**_settings_form(None), "time_zone": g.operator.time_zone}
    return render_template("facility_new.html", form=form, zones=_zones(), error=None)


@blueprint.post("/facilities")
@admin_required
def create() -> Any:
    operator = tenants.get_operator(db(), g.operator.id)
    if operator is None:
        abort(404)
    try:
        draft = facilities.NewFacility.model_validate(
            {
                "id": (request.form.get("id") or "").strip(),
                "name": (request.form.get("name") or "").strip(),
                "time_zone": request.form.get("time_zone") or g.operator.time_zone,
            }
        )
    except ValueError as exc:
        return _new_refused(facilities.invalid(exc, "invalid_facility"))
    try:
        chosen = facilities.settings_from_form(request.form)
        change = facilities.create_facility(db(), operator, draft, chosen)
    except ApiError as error:
        return _new_refused(error)
    audit.record(db(), "facility.created", change.target, None, change.after)
    notice = "Facility created: add its first tariff version before sending events"
    return redirect(url_for("facilities.tariff", facility_id=draft.id, notice=notice), code=303)


def _new_refused(error: ApiError) -> Any:
    body = render_template(
        "facility_new.html", form=dict(request.form), zones=_zones(), error=error.message
    )
    return body, error.status


# --- The tariff editor ------------------------------------------------------------------------


def _editor(
    facility: tenants.Facility,
    form: dict[str, str],
    *,
    error: str | None = None,
    preview: list[facilities.SampleStay] | None = None,
    planned: Any = None,
    status: int = 200,
) -> Any:
    now = datetime.now(UTC)
    body = render_template(
        "tariff.html",
        facility=facility,
        form=form,
        error=error,
        preview=preview,
        planned=planned,
        current=facilities.in_force(facility, now),
        versions=list(reversed(facilities.versions_of(facility))),
        notice=request.args.get("notice"),
    )
    return body, status


@blueprint.get("/facilities/<facility_id>/tariff")
@admin_required
def tariff(facility_id: str) -> Any:
    facility = _facility(facility_id)
    now = datetime.now(UTC)
    form = facilities.form_of(facilities.in_force(facility, now), facility.zone)
    return _editor(facility, form)


@blueprint.post("/facilities/<facility_id>/tariff")
@admin_required
def tariff_submit(facility_id: str) -> Any:
    """`step=preview` prices the sample stays and offers to save; `step=save` stores the
    version (checked again: the stored versions may have changed meanwhile)."""
    facility = _facility(facility_id)
    form = dict(request.form)
    form.pop("csrf_token", None)
    now = datetime.now(UTC)
    try:
        draft = facilities.draft_from_form(request.form, facility.zone, now)
        if request.form.get("step") != "save":
            planned = facilities.plan_version(facility, draft, now)
            current = facilities.in_force(facility, planned.valid_from)
            samples = facilities.sample_stays(planned, current)
            return _editor(facility, form, preview=samples, planned=planned)
        version, change = facilities.add_tariff_version(
            db(), g.operator.id, facility.id, draft, now
        )
    except ApiError as error:
        if error.status == 404:
            abort(404)
        return _editor(facility, form, error=error.message, status=error.status)
    audit.record(db(), "tariff.version_added", change.target, None, change.after)
    notice = f"Tariff version {version.version} saved"
    return redirect(url_for("facilities.show", facility_id=facility.id, notice=notice), code=303)
