"""Callable functions of disputes: thin adapters over disputes.py.

`openDispute` is the driver's (their own stays; staff use the dashboard or may call it for
their operator's stays); `resolveDispute` is an operator admin's.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from parkingdone import disputes, errors, firebase
from parkingdone.callable_api import Caller, Input, handler, parse
from parkingdone.ids import DocumentId
from parkingdone.models.disputes import Reason
from parkingdone.payments.access import Actor


class OpenInput(Input):
    session_id: DocumentId
    reason: Reason
    statement: str = Field(default="", max_length=disputes.MAX_STATEMENT)


class ResolveInput(Input):
    dispute_id: DocumentId
    decision: Literal["rejected", "accepted"]
    reason: str = Field(min_length=1, max_length=disputes.MAX_DECISION_REASON)
    refund_amount: int | None = Field(default=None, gt=0)
    refund_to: Literal["card", "wallet"] = "card"


@handler
def open_dispute(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(OpenInput, data)
    opener = disputes.Opener(caller.uid, caller.role or "driver", caller.operator_id)
    return disputes.open_dispute(
        firebase.db(), opener, request.session_id, request.reason, request.statement
    )


@handler
def resolve_dispute(caller: Caller, data: Any) -> dict[str, Any]:
    actor = Actor.from_claims(caller.uid, caller.claims)
    if not actor.is_admin:
        raise errors.forbidden("Operator administrators only", "not_admin")
    request = parse(ResolveInput, data)
    return disputes.resolve(
        firebase.db(),
        actor,
        request.dispute_id,
        request.decision,
        request.reason,
        request.refund_amount,
        request.refund_to,
    )
