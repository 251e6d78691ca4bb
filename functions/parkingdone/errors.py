"""The one error type of the backend and how it reaches every kind of caller.

Domain code raises `ApiError` (an expected failure the caller can act on: bad input, not
allowed, not found, not now). HTTP endpoints answer it as {"error": {"code", "message"}}
with its HTTP status; callable functions answer it as the callable error whose status
`callable_status` names, with our code in `details.reason` (see parkingdone.callable_api).
Anything else that escapes is a bug and answers 500 "internal".
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

# HTTP status -> the callable protocol's status (the Firebase app SDKs' error codes).
_CALLABLE_BY_HTTP = {
    400: "invalid-argument",
    401: "unauthenticated",
    403: "permission-denied",
    404: "not-found",
    409: "already-exists",
    410: "not-found",
    413: "invalid-argument",
    415: "invalid-argument",
    422: "failed-precondition",
    429: "resource-exhausted",
    503: "unavailable",
}
# Codes whose callable status is not the one their HTTP status suggests.
_CALLABLE_BY_CODE = {"in_progress": "aborted"}


class ApiError(Exception):
    """An expected failure the caller can act on: a status, a stable code, a message."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @property
    def callable_status(self) -> str:
        """The callable error status ("invalid-argument", "not-found", ...)."""
        if self.code in _CALLABLE_BY_CODE:
            return _CALLABLE_BY_CODE[self.code]
        return _CALLABLE_BY_HTTP.get(self.status, "internal")


def bad_request(message: str, code: str = "invalid_request", **details: Any) -> ApiError:
    return ApiError(400, code, message, **details)


def unauthorized(message: str = "Missing or invalid credentials") -> ApiError:
    return ApiError(401, "unauthorized", message)


def forbidden(message: str, code: str = "forbidden") -> ApiError:
    return ApiError(403, code, message)


def not_found(message: str, code: str = "not_found") -> ApiError:
    return ApiError(404, code, message)


def conflict(message: str, code: str) -> ApiError:
    """The thing already exists or is held by someone else."""
    return ApiError(409, code, message)


def not_now(message: str, code: str) -> ApiError:
    """The request is understood but the current state does not allow it."""
    return ApiError(422, code, message)


def too_many(message: str, code: str) -> ApiError:
    return ApiError(429, code, message)


def unavailable(message: str, code: str = "unavailable") -> ApiError:
    """A provider we depend on failed; the same request can be retried later."""
    return ApiError(503, code, message)


def error_response(status: int, code: str, message: str, **details: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    return response
