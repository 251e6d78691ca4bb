"""Who may see which operator's dashboard, decided once per request.

`g.principal` is the signed-in user (or None), `g.portal` the branded portal's operator (or
None), `g.operator` the operator every page, query and action of the request is scoped to.
A record of another operator answers 404 (`scoped`), a refused action 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, g, redirect, request, url_for

from parkingdone.admin import auth
from parkingdone.firebase import db
from parkingdone.models import operators
from parkingdone.models.operators import OperatorDoc


class Refused(Exception):
    """A signed-in user asked for something their role does not allow (403)."""

    def __init__(self, message: str, code: str = "forbidden") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def portal_operator(slug: str | None) -> OperatorDoc | None:
    if not slug:
        return None
    return operators.by_slug(db(), slug)


def clear_cache() -> None:
    """Forget the cached operators (the portal's branding is read through them)."""
    operators.invalidate()


def refusal_for(principal: auth.Principal, portal: OperatorDoc | None) -> str | None:
    """Why this user may not use this portal, or None when they may."""
    if not principal.is_staff:
        return "This account has no access to the operators' dashboard."
    if portal is not None and not principal.is_staff_of(portal.id):
        return (
            f"This account does not belong to {portal.brand_name}. "
            "Sign in at your own operator's portal."
        )
    return None


def resolve_operator(principal: auth.Principal, portal: OperatorDoc | None) -> OperatorDoc | None:
    """The operator a staff member works on: their own, or for super admins the portal's."""
    if portal is not None:
        return portal
    if principal.operator_id and not principal.is_super:
        return operators.get(db(), principal.operator_id)
    return None


def _signed_out() -> Any:
    if request.headers.get("HX-Request"):
        response = redirect(url_for("signin.login"))
        response.headers["HX-Redirect"] = url_for("signin.login")
        response.status_code = 401
        return response
    if request.method != "GET" or request.accept_mimetypes.best == "application/json":
        abort(401)
    return redirect(url_for("signin.login", next=request.full_path.rstrip("?")), code=303)


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed-in staff of the operator in scope; super admins without a portal choose one."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        principal: auth.Principal | None = g.principal
        if principal is None:
            return _signed_out()
        reason = refusal_for(principal, g.portal)
        if reason:
            raise Refused(reason)
        operator = resolve_operator(principal, g.portal)
        if operator is None:
            if principal.is_super:
                return redirect(url_for("operators.index"), code=303)
            abort(404)
        g.operator = operator
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like staff_required, and the user administers the operator (staff are refused)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not g.principal.is_admin_of(g.operator.id):
            raise Refused("Only the operator's administrators may do this.")
        return view(*args, **kwargs)

    return staff_required(checked)


def scoped(document: Any) -> Any:
    """The document if it belongs to the operator in scope; 404 otherwise (or if missing)."""
    if document is None or getattr(document, "operator_id", None) != g.operator.id:
        abort(404)
    return document


def super_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed-in super admins only (the platform's pages, outside any operator)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        principal: auth.Principal | None = g.principal
        if principal is None:
            return _signed_out()
        if not principal.is_super:
            raise Refused("Only super admins may do this.")
        return view(*args, **kwargs)

    return wrapper
