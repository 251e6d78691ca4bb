"""What every account callable shares: the caller, input validation, clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from firebase_functions import https_fn
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

Code = https_fn.FunctionsErrorCode
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


def error(code: Code, message: str) -> https_fn.HttpsError:
    return https_fn.HttpsError(code, message)


def caller_of(req: https_fn.CallableRequest) -> Caller:
    if req.auth is None or not req.auth.uid:
        raise error(Code.UNAUTHENTICATED, "Sign in to use this function")
    return Caller(uid=req.auth.uid, claims=dict(req.auth.token or {}))


def parse(model: type[M], data: Any) -> M:
    """The callable's data as `model`, or INVALID_ARGUMENT naming every bad field."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in exc.errors()
        )
        raise error(Code.INVALID_ARGUMENT, f"Invalid request: {problems}") from exc
