"""Users and roles: an operator's admins invite people by e-mail, change their role and
remove them, through the same domain functions as the `setStaffRole` callable
(accounts/roles.py). A removed or demoted user is signed out everywhere at once (their
refresh tokens are revoked; every dashboard request checks for that). Audited."""

from __future__ import annotations

from typing import Any

import pydantic
from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from parkingdone.accounts import roles
from parkingdone.admin import audit
from parkingdone.admin.access import admin_required, scoped
from parkingdone.callable_api import Caller
from parkingdone.errors import ApiError
from parkingdone.firebase import db
from parkingdone.models import staff_members

blueprint = Blueprint("users", __name__)
ROLE_CHOICES = ("operator_admin", "operator_staff")


def caller() -> Caller:
    """The signed-in user as the domain functions know callers."""
    p = g.principal
    return Caller(uid=p.uid, claims={"role": p.role, "operatorId": p.operator_id, "email": p.email})


def _page(status: int = 200, **context: Any) -> Response:
    members = staff_members.of_operator(db(), g.operator.id)
    body = render_template(
        "users.html",
        members=members,
        roles=ROLE_CHOICES,
        notice=context.pop("notice", request.args.get("notice")),
        **context,
    )
    return Response(body, status=status)


def _invalid(exc: pydantic.ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'input'}: {first['msg']}"


@blueprint.get("/users")
@admin_required
def index() -> Any:
    return _page()


@blueprint.post("/users/invite")
@admin_required
def invite() -> Any:
    try:
        invitation = roles.InviteStaff(
            email=(request.form.get("email") or "").strip(),
            role=request.form.get("role") or "",  # type: ignore[arg-type]
            operator_id=g.operator.id,
            display_name=(request.form.get("display_name") or "").strip() or None,
        )
    except pydantic.ValidationError as exc:
        return _page(400, error=_invalid(exc))
    try:
        result = roles.invite(db(), caller(), invitation)
    except ApiError as error:
        return _page(error.status, error=error.message)
    audit.record(
        db(),
        "staff.invited",
        f"users/{result['uid']}",
        {"role": result["previousRole"]},
        {"role": result["role"], "email": result["email"], "created": result["created"]},
    )
    # The password link is shown here once; the inviter passes it on.
    return _page(invited=result, notice=f"{result['email']} invited")


def _change(uid: str, role: str | None) -> Any:
    member = scoped(staff_members.get(db(), uid))
    try:
        result = roles.set_role(
            db(),
            caller(),
            roles.SetStaffRole(uid=member.id, role=role, operator_id=g.operator.id),  # type: ignore[arg-type]
        )
    except ApiError as error:
        return _page(error.status, error=error.message)
    audit.record(
        db(),
        "staff.removed" if role is None else "staff.role_changed",
        f"users/{member.id}",
        {"role": result["previousRole"], "email": member.email},
        {"role": result["role"], "signedOut": result["tokensRevoked"]},
    )
    who = member.email or member.id
    notice = f"{who} removed" if role is None else f"{who} is now {role.replace('_', ' ')}"
    if result["tokensRevoked"]:
        notice += " and signed out everywhere"
    return redirect(url_for("users.index", notice=notice), code=303)


@blueprint.post("/users/<uid>/role")
@admin_required
def change_role(uid: str) -> Any:
    role = request.form.get("role") or ""
    if role not in ROLE_CHOICES:
        return _page(400, error="Choose operator admin or operator staff")
    return _change(uid, role)


@blueprint.post("/users/<uid>/remove")
@admin_required
def remove(uid: str) -> Any:
    return _change(uid, None)
