"""What every callable function shares: the request body, the caller, its input, errors.

main.py declares each callable with `@callable_api.on_call(...)` (the SDK's on_call, with
a body the SDK would choke on - not JSON, nested too deeply, not an object - refused as
INVALID_ARGUMENT instead of an internal error). Its body is written as

    @callable_api.handler
    def pay_session(caller: Caller, data: Any) -> dict: ...

`handler` checks that the caller is signed in, and turns the one domain error
(parkingdone.errors.ApiError) into the callable error the app SDKs understand: the status
from errors' mapping, our message, and our code in `details.reason`. `parse` validates the
data against a pydantic model, or refuses it naming every bad field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from firebase_functions import https_fn
from flask import Request, Response, jsonify, make_response
from flask_cors import cross_origin
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from parkingdone import errors

M = TypeVar("M", bound=BaseModel)

ROLES = ("super_admin", "operator_admin", "operator_staff")
OPERATOR_ROLES = ("operator_admin", "operator_staff")


class Input(BaseModel):
    """Base of every callable's input: camelCase keys, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )


@dataclass(frozen=True)
class Caller:
    uid: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def role(self) -> str | None:
        role = self.claims.get("role")
        return role if role in ROLES else None

    @property
    def operator_id(self) -> str | None:
        value = self.claims.get("operatorId")
        return value if isinstance(value, str) and value else None

    @property
    def email(self) -> str | None:
        value = self.claims.get("email")
        return value if isinstance(value, str) else None


def caller_of(req: https_fn.CallableRequest) -> Caller:
    if req.auth is None or not req.auth.uid:
        raise errors.unauthorized("Sign in to use this function")
    return Caller(uid=req.auth.uid, claims=dict(req.auth.token or {}))


def parse(model: type[M], data: Any) -> M:
    """The callable's data as `model`, or a 400 naming every bad field.

    The data must be an object (absent data counts as an empty one): a list or a string is
    refused rather than read as {}.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise errors.bad_request("Invalid request: data must be an object", "invalid_argument")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'data'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise errors.bad_request(f"Invalid request: {problems}", "invalid_argument") from exc
    except RecursionError as exc:
        raise errors.bad_request("Invalid request: data is nested too deeply") from exc


def to_https_error(error: errors.ApiError) -> https_fn.HttpsError:
    status = https_fn.FunctionsErrorCode(error.callable_status)
    return https_fn.HttpsError(status, error.message, {"reason": error.code, **error.details})


def handler(
    work: Callable[[Caller, Any], dict[str, Any]],
) -> Callable[[https_fn.CallableRequest], dict[str, Any]]:
    """A callable body taking (caller, data), with the one error mapping around it."""

    @functools.wraps(work)
    def run(req: https_fn.CallableRequest) -> dict[str, Any]:
        try:
            return work(caller_of(req), req.data)
        except errors.ApiError as exc:
            raise to_https_error(exc) from exc

    return run


def on_call(**options: Any) -> Callable[[Callable[..., Any]], Callable[[Request], Response]]:
    """`https_fn.on_call(**options)` that refuses malformed bodies with a clear 400."""

    def declare(func: Callable[..., Any]) -> Callable[[Request], Response]:
        endpoint = https_fn.on_call(**options)(func)

        # wraps() also copies the SDK's deployment attributes, so discovery sees the same.
        @functools.wraps(endpoint)
        def guarded(request: Request) -> Response:
            problem = _body_problem(request) if request.method == "POST" else None
            if problem is not None:
                return _refuse(problem)
            return endpoint(request)

        return guarded

    return declare


def _body_problem(request: Request) -> str | None:
    """Why the SDK could not read this body as {"data": ...}, or None when it can."""
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError):
        return "The body is not JSON"
    except RecursionError:
        return "The body is nested too deeply"
    if not isinstance(body, dict) or set(body) != {"data"}:
        return 'The body must be a JSON object {"data": ...}'
    return None


@cross_origin(methods="POST")
def _refuse(message: str) -> Response:
    error = https_fn.HttpsError(https_fn.FunctionsErrorCode.INVALID_ARGUMENT, message)
    return make_response(jsonify(error=error._as_dict()), 400)
