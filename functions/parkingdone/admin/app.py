"""The `admin` HTTP function's Flask app: one blueprint per page family."""

from __future__ import annotations

from typing import Any

from firebase_functions import logger
from flask import Flask, Request, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from parkingdone.admin import access, auth, formatting, portal, preview
from parkingdone.errors import ApiError
from parkingdone.firebase import db

MAX_FORM_BYTES = 64 * 1024
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# Sign-in itself has no session yet: it is protected by the Origin check instead.
CSRF_EXEMPT = ("signin.login_submit", "signin.session")


def _wants_json() -> bool:
    return (
        request.path.endswith("/session")
        or request.accept_mimetypes.best == "application/json"
        or request.is_json
    )


def _error(status: int, code: str, message: str) -> Response:
    if _wants_json():
        response = jsonify({"error": {"code": code, "message": message}})
    else:
        response = Response(
            render_template("error.html", status=status, code=code, message=message)
        )
    response.status_code = status
    return response


def _same_origin() -> bool:
    """A browser always sends Origin on a cross-site POST; when present it must be ours."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("X-Forwarded-Host") or request.host
    return origin.split("://", 1)[-1] == host.split(",")[0].strip()


def build_app() -> Flask:
    app = Flask(__name__, template_folder="templates", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_FORM_BYTES
    app.jinja_env.autoescape = True
    app.jinja_env.filters.update(formatting.FILTERS)
    app.wsgi_app = portal.wrap(app.wsgi_app)  # type: ignore[method-assign]

    @app.before_request
    def _load_user() -> Response | None:
        g.portal = access.portal_operator(request.environ.get(portal.SLUG_KEY))
        if request.environ.get(portal.SLUG_KEY) and g.portal is None:
            return _error(404, "not_found", "No such operator portal")
        g.cookie = request.cookies.get(auth.COOKIE_NAME, "")
        g.principal = auth.verify_session_cookie(g.cookie)
        g.operator = None
        g.preview = None
        preview_id = request.environ.get(portal.PREVIEW_KEY)
        if preview_id:
            previewed = preview.load(db(), preview_id, g.principal)
            if previewed is None:
                return _error(404, "not_found", "No such preview")
            g.preview, g.portal = preview_id, previewed
            g.principal = preview.as_admin(g.principal, previewed)
            # Read-only, for every route the app has or will have: refused before any view.
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                return _error(403, "preview_read_only", "This is a read-only preview")
        if request.method in STATE_CHANGING:
            if request.endpoint in CSRF_EXEMPT:
                if not _same_origin():
                    return _error(403, "csrf", "Cross-site sign-in refused")
            else:
                token = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
                if not auth.csrf_valid(g.cookie, token):
                    return _error(403, "csrf", "Missing or invalid CSRF token; reload the page")
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Pages show personal data: never kept by a shared cache.
        response.headers.setdefault("Cache-Control", "private, no-store")
        # A cookie that no longer verifies (revoked, expired) is removed, unless this very
        # response sets a new one (a fresh sign-in).
        stale = bool(g.get("cookie")) and g.get("principal") is None
        setting = any(
            h.startswith(auth.COOKIE_NAME) for h in response.headers.getlist("Set-Cookie")
        )
        if stale and not setting:
            response.delete_cookie(auth.COOKIE_NAME, path="/")
        return response

    @app.context_processor
    def _context() -> dict[str, Any]:
        brand = g.get("operator") or g.get("portal")
        return {
            "principal": g.get("principal"),
            "operator": g.get("operator"),
            "brand": brand,
            "csrf_token": auth.csrf_token(g.cookie) if g.get("cookie") else "",
            "preview": g.get("preview"),
        }

    @app.errorhandler(access.Refused)
    def _refused(error: access.Refused) -> Response:
        return _error(403, error.code, error.message)

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return _error(error.status, error.code, error.message)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
            status, "http_error"
        )
        message = {404: "Not found"}.get(status, error.description or error.name)
        return _error(status, code, message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.error("admin.unexpected_error", error=repr(error), path=request.path)
        return _error(500, "internal", "Internal error; try again")

    from parkingdone.admin.views import audit, operations, retention, sessions, signin, tickets
    from parkingdone.admin.views import facilities as facility_pages
    from parkingdone.admin.views import passes as pass_pages

    for blueprint in (signin.blueprint, operations.blueprint, sessions.blueprint, audit.blueprint):
        app.register_blueprint(blueprint)

    from parkingdone.admin.views import credentials, customers, disputes, operators, users

    for blueprint in (
        users.blueprint,
        credentials.blueprint,
        operators.blueprint,
        customers.blueprint,
        disputes.blueprint,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(facility_pages.blueprint)
    app.register_blueprint(pass_pages.blueprint)
    app.register_blueprint(tickets.blueprint)
    app.register_blueprint(retention.blueprint)
    return app


app = build_app()


def handle(req: Request) -> Response:
    """Run a firebase-functions request through the app (with the portal wrapper)."""
    return Response.from_app(app.wsgi_app, req.environ)
