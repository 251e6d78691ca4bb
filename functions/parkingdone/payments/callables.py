"""Callable functions: inputs validated with pydantic, errors as HttpsError with a clear
code. Driver callables act only on the caller's own data; admin callables require an
operator-admin (of the data's operator) or super-admin claim."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from firebase_functions import https_fn
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from parkingdone import firebase
from parkingdone.payments import invoices, onsession, passes, refunds
from parkingdone.payments.access import AccessDenied, Actor

Code = https_fn.FunctionsErrorCode
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
# Our error codes → callable error codes the app SDKs understand.
_CODES = {
    "not_found": Code.NOT_FOUND,
    "invalid_amount": Code.INVALID_ARGUMENT,
    "invalid_plate": Code.INVALID_ARGUMENT,
    "invalid_start": Code.INVALID_ARGUMENT,
    "invalid_action": Code.INVALID_ARGUMENT,
    "not_your_vehicle": Code.PERMISSION_DENIED,
    "unavailable": Code.UNAVAILABLE,
    "provider_failed": Code.UNAVAILABLE,
    "in_progress": Code.ABORTED,
}


class _Input(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class SetupIntentInput(_Input):
    request_id: str = Field(default="default", min_length=1, max_length=100)


class PaySessionInput(_Input):
    session_id: str = Field(min_length=1, max_length=200)


class ListPassesInput(_Input):
    facility_id: str = Field(min_length=1, max_length=200)


class BuyPassInput(_Input):
    product_id: str = Field(min_length=1, max_length=200)
    plate: str = Field(min_length=1, max_length=20)
    request_id: str = Field(min_length=8, max_length=100)
    starts_at: AwareDatetime | None = None


class RefundInput(_Input):
    payment_id: str = Field(min_length=1, max_length=200)
    request_id: str = Field(min_length=8, max_length=100)
    amount: int | None = Field(default=None, gt=0)
    reason: str | None = Field(default=None, max_length=200)


class InvoiceInput(_Input):
    session_id: str = Field(min_length=1, max_length=200)
    action: Literal["mark_invoiced", "mark_paid", "cancel"]
    reference: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=1000)


class RevenueInput(_Input):
    operator_id: str | None = Field(default=None, max_length=200)
    facility_id: str = Field(min_length=1, max_length=200)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "data"
        raise https_fn.HttpsError(Code.INVALID_ARGUMENT, f"{where}: {first.get('msg')}") from exc


def _uid(req: https_fn.CallableRequest) -> str:
    if req.auth is None or not req.auth.uid:
        raise https_fn.HttpsError(Code.UNAUTHENTICATED, "Sign in first")
    return req.auth.uid


def _actor(req: https_fn.CallableRequest) -> Actor:
    actor = Actor.from_claims(_uid(req), dict(req.auth.token or {}))  # type: ignore[union-attr]
    if not actor.is_admin:
        raise https_fn.HttpsError(Code.PERMISSION_DENIED, "Operator administrators only")
    return actor


def _guard(work: Callable[[], T]) -> T:
    """Our domain errors → HttpsError; anything else stays an internal error."""
    try:
        return work()
    except AccessDenied as exc:
        raise https_fn.HttpsError(Code.PERMISSION_DENIED, str(exc)) from exc
    except (
        refunds.RefundError,
        invoices.InvoiceError,
        passes.PassError,
        onsession.PayError,
    ) as exc:
        code = _CODES.get(exc.code, Code.FAILED_PRECONDITION)
        raise https_fn.HttpsError(code, exc.message, {"reason": exc.code}) from exc


def create_setup_intent(req: https_fn.CallableRequest) -> dict[str, Any]:
    uid = _uid(req)
    data = _parse(SetupIntentInput, req.data)
    email = (req.auth.token or {}).get("email") if req.auth else None  # type: ignore[union-attr]
    return _guard(lambda: onsession.create_setup_intent(firebase.db(), uid, email, data.request_id))


def pay_session(req: https_fn.CallableRequest) -> dict[str, Any]:
    uid = _uid(req)
    data = _parse(PaySessionInput, req.data)
    return _guard(lambda: onsession.pay_session(firebase.db(), uid, data.session_id))


def list_passes(req: https_fn.CallableRequest) -> dict[str, Any]:
    uid = _uid(req)
    data = _parse(ListPassesInput, req.data)
    db = firebase.db()
    mine = [p for p in passes.list_passes(db, uid) if p.get("facilityId") == data.facility_id]
    return {"products": passes.list_products(db, data.facility_id), "passes": mine}


def buy_pass(req: https_fn.CallableRequest) -> dict[str, Any]:
    uid = _uid(req)
    data = _parse(BuyPassInput, req.data)
    return _guard(
        lambda: passes.buy(
            firebase.db(), uid, data.product_id, data.plate, data.request_id, data.starts_at
        )
    )


def refund_payment(req: https_fn.CallableRequest) -> dict[str, Any]:
    actor = _actor(req)
    data = _parse(RefundInput, req.data)
    return _guard(
        lambda: refunds.refund(
            firebase.db(), actor, data.payment_id, data.request_id, data.amount, data.reason
        )
    )


def transition_invoice(req: https_fn.CallableRequest) -> dict[str, Any]:
    actor = _actor(req)
    data = _parse(InvoiceInput, req.data)
    return _guard(
        lambda: invoices.transition(
            firebase.db(), actor, data.session_id, data.action, data.reference, data.note
        )
    )


def pass_revenue(req: https_fn.CallableRequest) -> dict[str, Any]:
    actor = _actor(req)
    data = _parse(RevenueInput, req.data)
    operator_id = data.operator_id or actor.operator_id
    if not operator_id:
        raise https_fn.HttpsError(Code.INVALID_ARGUMENT, "operatorId is required")
    until = data.until or datetime.now(UTC)
    since = data.since or until - timedelta(days=30)
    return _guard(
        lambda: (
            actor.require_admin_of(operator_id),
            passes.revenue(firebase.db(), operator_id, data.facility_id, since, until),
        )[1]
    )
