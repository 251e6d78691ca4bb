"""The one JSON error shape of every HTTP endpoint: {"error": {"code", "message"}}."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


class ApiError(Exception):
    """An expected failure the caller can act on; becomes a JSON error response."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def bad_request(message: str, code: str = "invalid_request", **details: Any) -> ApiError:
    return ApiError(400, code, message, **details)


def unauthorized(message: str = "Missing or invalid credentials") -> ApiError:
    return ApiError(401, "unauthorized", message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(message: str, code: str = "not_found") -> ApiError:
    return ApiError(404, code, message)


def error_response(status: int, code: str, message: str, **details: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    return response
