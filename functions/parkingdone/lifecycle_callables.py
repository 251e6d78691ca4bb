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

from firebase_functions import https_fn
from pydantic import ValidationError

from parkingdone import firebase, retention, termination
from parkingdone.accounts.common import Code, Input, caller_of, error, parse


class RetentionPolicyRequest(Input):
    operator_id: str
    policy: dict[str, Any] | None = None


class TerminateOperator(Input):
    operator_id: str
    # The dashboard asks the super admin to type the operator's id again.
    confirm_operator_id: str


def _operator_exists(db, operator_id: str) -> None:
    if not db.collection("operators").document(operator_id).get().exists:
        raise error(Code.NOT_FOUND, f"No operator {operator_id!r}")


def retention_policy(req: https_fn.CallableRequest) -> dict[str, Any]:
    caller = caller_of(req)
    request = parse(RetentionPolicyRequest, req.data)
    is_super = caller.role == "super_admin"
    own = caller.role in ("operator_admin", "operator_staff") and (
        caller.operator_id == request.operator_id
    )
    if not (is_super or own):
        raise error(Code.PERMISSION_DENIED, "Only this operator's staff or a super admin")
    db = firebase.db()
    _operator_exists(db, request.operator_id)
    if request.policy is not None:
        if not is_super:
            raise error(Code.PERMISSION_DENIED, "Only a super admin changes a retention policy")
        try:
            policy = retention.RetentionPolicy.model_validate(request.policy)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}"
                for e in exc.errors()
            )
            raise error(Code.INVALID_ARGUMENT, f"Invalid policy: {problems}") from exc
        retention.save(db, request.operator_id, policy, caller.uid)
    return {
        "operatorId": request.operator_id,
        "policy": retention.load(db, request.operator_id).to_doc(),
        "defaults": retention.DEFAULT.to_doc(),
        "bounds": retention.bounds(),
    }


def terminate_operator(req: https_fn.CallableRequest) -> dict[str, Any]:
    caller = caller_of(req)
    request = parse(TerminateOperator, req.data)
    if caller.role != "super_admin":
        raise error(Code.PERMISSION_DENIED, "Only a super admin terminates an operator")
    if request.confirm_operator_id != request.operator_id:
        raise error(Code.INVALID_ARGUMENT, "confirmOperatorId must repeat operatorId")
    db = firebase.db()
    existing = db.collection(termination.TERMINATIONS).document(request.operator_id).get()
    if not existing.exists:
        _operator_exists(db, request.operator_id)
    record = termination.start(db, request.operator_id, caller.uid)
    return termination.view(record)
