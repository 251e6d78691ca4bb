"""Callable functions of payments: thin adapters over onsession, passes, refunds, invoices.

Driver callables act only on the caller's own data; admin callables require an
operator-admin (of the data's operator) or super-admin claim. The caller, input parsing and
errors are parkingdone.callable_api's job.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from parkingdone import errors, firebase
from parkingdone.callable_api import Caller, Input, handler, parse
from parkingdone.ids import DocumentId
from parkingdone.payments import invoices, onsession, passes, refunds, wallet
from parkingdone.payments.access import Actor
from parkingdone.timestamps import IsoTimestamp


class SetupIntentInput(Input):
    request_id: str = Field(default="default", min_length=1, max_length=100)


class PaySessionInput(Input):
    session_id: DocumentId


class ListPassesInput(Input):
    facility_id: DocumentId


class BuyPassInput(Input):
    product_id: DocumentId
    plate: str = Field(min_length=1, max_length=20)
    request_id: str = Field(min_length=8, max_length=100)
    starts_at: IsoTimestamp | None = None


class TopUpInput(Input):
    operator_id: DocumentId
    amount: int = Field(gt=0)
    request_id: str = Field(min_length=8, max_length=100)


class WalletInput(Input):
    operator_id: DocumentId


class RefundInput(Input):
    payment_id: DocumentId
    request_id: str = Field(min_length=8, max_length=100)
    amount: int | None = Field(default=None, gt=0)
    reason: str | None = Field(default=None, max_length=200)
    to_wallet: bool = False


class InvoiceInput(Input):
    session_id: DocumentId
    action: Literal["mark_invoiced", "mark_paid", "cancel"]
    reference: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=1000)


class RevenueInput(Input):
    operator_id: DocumentId | None = None
    facility_id: DocumentId
    product_id: DocumentId | None = None
    since: IsoTimestamp | None = None
    until: IsoTimestamp | None = None


def _admin(caller: Caller) -> Actor:
    actor = Actor.from_claims(caller.uid, caller.claims)
    if not actor.is_admin:
        raise errors.forbidden("Operator administrators only", "not_admin")
    return actor


@handler
def create_setup_intent(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(SetupIntentInput, data)
    return onsession.create_setup_intent(
        firebase.db(), caller.uid, caller.email, request.request_id
    )


@handler
def pay_session(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(PaySessionInput, data)
    return onsession.pay_session(firebase.db(), caller.uid, request.session_id)


@handler
def list_passes(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(ListPassesInput, data)
    db = firebase.db()
    mine = [
        p for p in passes.list_passes(db, caller.uid) if p.get("facilityId") == request.facility_id
    ]
    return {"products": passes.list_products(db, request.facility_id), "passes": mine}


@handler
def buy_pass(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(BuyPassInput, data)
    return passes.buy(
        firebase.db(),
        caller.uid,
        request.product_id,
        request.plate,
        request.request_id,
        request.starts_at,
    )


@handler
def refund_payment(caller: Caller, data: Any) -> dict[str, Any]:
    actor = _admin(caller)
    request = parse(RefundInput, data)
    return refunds.refund(
        firebase.db(),
        actor,
        request.payment_id,
        request.request_id,
        request.amount,
        request.reason,
        to_wallet=request.to_wallet,
    )


@handler
def transition_invoice(caller: Caller, data: Any) -> dict[str, Any]:
    actor = _admin(caller)
    request = parse(InvoiceInput, data)
    return invoices.transition(
        firebase.db(), actor, request.session_id, request.action, request.reference, request.note
    )


@handler
def pass_revenue(caller: Caller, data: Any) -> dict[str, Any]:
    actor = _admin(caller)
    request = parse(RevenueInput, data)
    operator_id = request.operator_id or actor.operator_id
    if not operator_id:
        raise errors.bad_request("operatorId is required", "missing_operator")
    actor.require_admin_of(operator_id)
    until = request.until or datetime.now(UTC)
    since = request.since or until - timedelta(days=30)
    return passes.revenue(
        firebase.db(), operator_id, request.facility_id, since, until, request.product_id
    )


@handler
def top_up_wallet(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(TopUpInput, data)
    return wallet.top_up(
        firebase.db(), caller.uid, request.operator_id, request.amount, request.request_id
    )


@handler
def wallet_summary(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(WalletInput, data)
    return wallet.summary(firebase.db(), request.operator_id, caller.uid)
