"""Callables of the data lifecycle for the admin dashboard: thin adapters.

- retentionPolicy: {operatorId, policy?}. Operator admins and staff of that operator read
  their policy; super admins read any and, with `policy`, change it within the legal bounds
  (retention.RetentionPolicy).
- terminateOperator: {operatorId, confirmOperatorId}. Super admins only: starts the
  operator's termination (termination.py), or, asked again, returns its progress with a
  fresh download link for the archive.
"""

from __future__ import annotations

from typing import Any

from parkingdone import errors, firebase, retention, termination
from parkingdone.callable_api import Caller, Input, handler, parse
from parkingdone.ids import DocumentId
from parkingdone.models import operators


class RetentionPolicyRequest(Input):
    operator_id: DocumentId
    policy: dict[str, Any] | None = None


class TerminateOperator(Input):
    operator_id: DocumentId
    # The dashboard asks the super admin to type the operator's id again.
    confirm_operator_id: DocumentId


def _operator_exists(db, operator_id: str) -> None:
    if not operators.ref(db, operator_id).get().exists:
        raise errors.not_found(f"No operator {operator_id!r}", "unknown_operator")


@handler
def retention_policy(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(RetentionPolicyRequest, data)
    is_super = caller.role == "super_admin"
    own = caller.role in ("operator_admin", "operator_staff") and (
        caller.operator_id == request.operator_id
    )
    if not (is_super or own):
        raise errors.forbidden("Only this operator's staff or a super admin", "not_staff")
    db = firebase.db()
    _operator_exists(db, request.operator_id)
    if request.policy is not None:
        if not is_super:
            raise errors.forbidden(
                "Only a super admin changes a retention policy", "not_super_admin"
            )
        retention.change(db, request.operator_id, request.policy, caller.uid)
    return {
        "operatorId": request.operator_id,
        "policy": retention.load(db, request.operator_id).to_doc(),
        "defaults": retention.DEFAULT.to_doc(),
        "bounds": retention.bounds(),
    }


@handler
def terminate_operator(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(TerminateOperator, data)
    if caller.role != "super_admin":
        raise errors.forbidden("Only a super admin terminates an operator", "not_super_admin")
    if request.confirm_operator_id != request.operator_id:
        raise errors.bad_request("confirmOperatorId must repeat operatorId", "not_confirmed")
    db = firebase.db()
    existing = db.collection(termination.TERMINATIONS).document(request.operator_id).get()
    if not existing.exists:
        _operator_exists(db, request.operator_id)
    record = termination.start(db, request.operator_id, caller.uid)
    return termination.view(record)
