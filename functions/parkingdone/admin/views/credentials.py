"""API credentials: an operator's admins issue, rotate and revoke webhook tokens and
enforcement keys (credentials.py). A new secret is shown once on the answer page; only its
hash is kept. Revocation answers 401 at the webhook and the enforcement API at once (both
read the credential on every request). Audited, without the secret."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pydantic
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from parkingdone import credentials
from parkingdone.admin import audit
from parkingdone.admin.access import admin_required
from parkingdone.errors import ApiError
from parkingdone.firebase import db
from parkingdone.models import facilities

blueprint = Blueprint("credentials", __name__)


def _page(status: int = 200, **context: Any) -> Response:
    body = render_template(
        "credentials.html",
        credentials=credentials.of_operator(db(), g.operator.id),
        facilities=facilities.of_operator(db(), g.operator.id),
        kinds=credentials.KINDS,
        now=datetime.now(ZoneInfo(g.operator.time_zone)),
        default_overlap_hours=int(credentials.DEFAULT_OVERLAP.total_seconds() // 3600),
        notice=context.pop("notice", request.args.get("notice")),
        **context,
    )
    return Response(body, status=status)


def _summary(credential: credentials.Credential) -> dict[str, Any]:
    """What the audit log keeps of a credential: never its secret."""
    return {
        "keyId": credential.key_id,
        "kind": credential.kind,
        "label": credential.label,
        "facilityIds": credential.facility_ids,
        "expiresAt": credential.expires_at.isoformat() if credential.expires_at else None,
    }


def _expiry(value: str) -> datetime | None:
    """A date in the form: the key works through that local day in the operator's zone."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(400, "invalid_expiry", "The expiry must be a date (YYYY-MM-DD)") from exc
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(g.operator.time_zone))


def _adapter(value: str) -> dict[str, Any] | None:
    if not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ApiError(400, "invalid_adapter", f"The payload format is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_adapter", "The payload format must be a JSON object")
    return parsed


def _own(secret_hash: str) -> credentials.Credential:
    credential = credentials.get(db(), secret_hash)
    if credential is None or credential.operator_id != g.operator.id:
        abort(404)
    return credential


@blueprint.get("/credentials")
@admin_required
def index() -> Any:
    return _page()


@blueprint.post("/credentials")
@admin_required
def issue() -> Any:
    try:
        issue_request = credentials.IssueRequest(
            kind=request.form.get("kind") or "",  # type: ignore[arg-type]
            label=(request.form.get("label") or "").strip(),
            facility_ids=request.form.getlist("facility_ids"),
            expires_at=_expiry(request.form.get("expires_on") or ""),
            adapter=_adapter(request.form.get("adapter") or ""),
        )
        secret, credential = credentials.issue_for_operator(
            db(), g.operator.id, issue_request, created_by=g.principal.uid
        )
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        return _page(400, error=f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
    except ApiError as error:
        return _page(error.status, error=error.message)
    audit.record(
        db(),
        f"credential.issued.{credential.kind}",
        f"credentials/{credential.key_id}",
        None,
        _summary(credential),
    )
    return _page(secret=secret, issued=credential, notice=f"{credential.label} issued")


@blueprint.post("/credentials/<secret_hash>/rotate")
@admin_required
def rotate(secret_hash: str) -> Any:
    old = _own(secret_hash)
    raw = (request.form.get("overlap_hours") or "").strip()
    try:
        hours = float(raw) if raw else credentials.DEFAULT_OVERLAP.total_seconds() / 3600
        secret, successor = credentials.rotate(
            db(), old.secret_hash, timedelta(hours=hours), created_by=g.principal.uid
        )
    except (ValueError, OverflowError):
        return _page(400, error="The overlap must be a number of hours")
    except ApiError as error:
        return _page(error.status, error=error.message)
    retired = credentials.get(db(), old.secret_hash) or old
    audit.record(
        db(),
        f"credential.rotated.{old.kind}",
        f"credentials/{old.key_id}",
        _summary(old),
        {**_summary(successor), "oldExpiresAt": _summary(retired)["expiresAt"]},
    )
    return _page(
        secret=secret,
        issued=successor,
        notice=f"{old.label} rotated: the old secret keeps working for {hours:g} h",
    )


@blueprint.post("/credentials/<secret_hash>/revoke")
@admin_required
def revoke(secret_hash: str) -> Any:
    credential = _own(secret_hash)
    if credential.revoked_at is None:
        credentials.revoke(db(), credential.secret_hash)
        audit.record(
            db(),
            f"credential.revoked.{credential.kind}",
            f"credentials/{credential.key_id}",
            _summary(credential),
            {"revoked": True},
        )
    return redirect(url_for("credentials.index", notice=f"{credential.label} revoked"), code=303)
