"""Flask plumbing shared by the HTTP functions: dispatch, JSON bodies, JSON errors.

Each HTTP function owns one Flask app (one per audience); `dispatch` runs the request that
firebase-functions hands us through it, so routing, error handlers and `test_client()` all
work the ordinary Flask way. Each app declares its body size limit where it is built
(`create_app(..., max_body_bytes=...)`): that one limit answers a JSON 413 for every route of
the app, whether or not the route reads the body.
"""

from __future__ import annotations

import json
from typing import Any

import flask
from firebase_functions import logger
from flask import Flask, Request, Response
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from parkingdone.errors import ApiError, error_response

MAX_JSON_BODY_BYTES = 64 * 1024


def create_app(name: str, *, max_body_bytes: int = MAX_JSON_BODY_BYTES) -> Flask:
    app = Flask(name)
    # Flask enforces it on every read of the body, also chunked bodies without a length.
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.json.sort_keys = False

    @app.before_request
    def _refuse_oversized_body() -> None:
        # A declared length over the limit is refused before routing, on every route.
        length = flask.request.content_length
        if length is not None and length > max_body_bytes:
            raise RequestEntityTooLarge()

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, **error.details)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge) -> Response:
        return error_response(413, "payload_too_large", f"Body exceeds {max_body_bytes} bytes")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            415: "unsupported_media_type",
        }.get(error.code or 500, "http_error")
        return error_response(error.code or 500, code, error.description or error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.error("http.unexpected_error", error=repr(error), error_type=type(error).__name__)
        return error_response(500, "internal", "Internal error; the request can be retried")

    return app


def dispatch(app: Flask, request: Request) -> Response:
    """Route a firebase-functions request through `app`."""
    with app.request_context(request.environ):
        return app.full_dispatch_request()


def json_body(request: Request) -> Any:
    """The parsed JSON body, or a clear 413/415/400 before anything is written.

    The size limit is the app's (see `create_app`): reading past it raises the 413.
    """
    raw = request.get_data(cache=True)
    mimetype = request.mimetype or ""
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"Body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ApiError(400, "malformed_json", "Body is nested too deeply") from exc


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
