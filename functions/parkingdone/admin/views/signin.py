"""Sign-in and sign-out (the super admin's list of operators is views/operators.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for

from parkingdone.admin import access, auth, throttle
from parkingdone.firebase import db

blueprint = Blueprint("signin", __name__)


def _client_address() -> str:
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.split(",")[0].strip() or request.remote_addr or "unknown"


def _safe_next(target: str | None) -> str:
    """Only a path inside this dashboard: never an open redirect."""
    root = request.script_root or "/admin"
    if target and target.startswith("/") and not target.startswith("//"):
        return root + target if not target.startswith(root) else target
    return url_for("operations.dashboard")


def _start_session(id_token: str) -> tuple[str, auth.Principal]:
    """Verify the ID token, check the user may use this portal, make the session cookie."""
    claims = auth.verify_id_token(id_token)
    principal = auth.Principal.from_claims(claims)
    reason = access.refusal_for(principal, g.portal)
    if reason:
        raise auth.SignInError(403, "not_allowed_here", reason)
    return auth.create_session_cookie(id_token), principal


def _login_page(status: int = 200, error: str | None = None, email: str = "") -> Response:
    body = render_template(
        "login.html", error=error, email=email, next=request.values.get("next", "")
    )
    return Response(body, status=status)


@blueprint.get("/login")
def login() -> Any:
    if g.principal is not None and access.refusal_for(g.principal, g.portal) is None:
        return redirect(_safe_next(request.args.get("next")), code=303)
    return _login_page()


@blueprint.post("/login")
def login_submit() -> Any:
    email = (request.form.get("email") or "").strip()
    password = request.form.get("password") or ""
    if not email or not password or len(email) > 320 or len(password) > 4096:
        return _login_page(400, "Enter your e-mail and password.", email)
    address = _client_address()
    wait = throttle.check(db(), email, address)
    if wait:
        response = _login_page(
            429, f"Too many failed sign-ins. Try again in {wait} seconds.", email
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        id_token = auth.password_sign_in(email, password)
    except auth.SignInError as error:
        if error.code == "wrong_credentials":
            throttle.record_failure(db(), email, address)
        return _login_page(error.status, error.message, email)
    try:
        cookie, _ = _start_session(id_token)
    except auth.SignInError as error:
        return _login_page(error.status, error.message, email)
    throttle.record_success(db(), email)
    response = redirect(_safe_next(request.form.get("next")), code=303)
    response.set_cookie(auth.COOKIE_NAME, cookie, **auth.cookie_options())
    return response


# The public contract's exchange: an ID token (from a Firebase SDK sign-in) in, the
# `__session` cookie out.
@blueprint.post("/session")
def session() -> Any:
    payload = request.get_json(silent=True) if request.is_json else None
    id_token = (payload or {}).get("idToken") if isinstance(payload, dict) else None
    id_token = id_token or request.form.get("idToken")
    if not isinstance(id_token, str) or not id_token:
        return _json_error(400, "missing_id_token", "Send the ID token as idToken")
    try:
        cookie, principal = _start_session(id_token)
    except auth.SignInError as error:
        return _json_error(error.status, error.code, error.message)
    response = jsonify({"status": "signed_in", "role": principal.role})
    response.set_cookie(auth.COOKIE_NAME, cookie, **auth.cookie_options())
    return response


def _json_error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


@blueprint.post("/logout")
def logout() -> Any:
    if g.principal is not None:
        auth.revoke(g.principal.uid)
    response = redirect(url_for("signin.login"), code=303)
    response.delete_cookie(auth.COOKIE_NAME, path="/")
    return response
