"""Staff roles as custom claims: super admins and operator admins grant and revoke them.

Claims: {"role": "operator_admin" | "operator_staff", "operatorId": ...}. An operator admin
manages only their own operator's people; a super admin manages any operator's. Nobody
changes their own role, and super admins are not managed here. A demotion (admin to staff,
a revocation, a move to another operator) also revokes the user's refresh tokens, so the old
rights end when the current ID token expires (at most an hour) and admin endpoints that verify
with check_revoked refuse it at once. Every change is kept in roleChanges/{id}.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from firebase_admin import auth
from firebase_functions import logger
from google.cloud import firestore
from pydantic import Field, model_validator

from parkingdone import errors, firebase
from parkingdone.callable_api import OPERATOR_ROLES, Caller, Input
from parkingdone.ids import DocumentId
from parkingdone.models.operators import COLLECTION as OPERATORS
from parkingdone.models.role_changes import COLLECTION as ROLE_CHANGES

_RANK = {None: 0, "operator_staff": 1, "operator_admin": 2}


class SetStaffRole(Input):
    uid: str | None = Field(default=None, min_length=1, max_length=128)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    # None revokes the user's staff role.
    role: Literal["operator_admin", "operator_staff"] | None
    operator_id: DocumentId | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _one_target(self) -> SetStaffRole:
        if bool(self.uid) == bool(self.email):
            raise ValueError("give either uid or email of the user")
        return self


def _target(request: SetStaffRole) -> auth.UserRecord:
    try:
        if request.uid:
            return auth.get_user(request.uid, app=firebase.app())
        return auth.get_user_by_email(request.email or "", app=firebase.app())
    except auth.UserNotFoundError as exc:
        raise errors.not_found("No user with that uid or email", "unknown_user") from exc
    except ValueError as exc:  # the Admin SDK's check of a malformed uid or email
        raise errors.bad_request(f"Invalid uid or email: {exc}", "invalid_user") from exc


def set_role(db: firestore.Client, caller: Caller, request: SetStaffRole) -> dict[str, Any]:
    if caller.role not in ("super_admin", "operator_admin"):
        raise errors.forbidden("Only super admins and operator admins manage roles", "not_admin")
    user = _target(request)
    if user.uid == caller.uid:
        raise errors.not_now("You cannot change your own role", "own_role")
    claims = dict(user.custom_claims or {})
    old_role = claims.get("role") if claims.get("role") in OPERATOR_ROLES else None
    old_operator = claims.get("operatorId") if old_role else None
    if claims.get("role") == "super_admin":
        raise errors.forbidden("Super admin roles are not managed here", "super_admin_target")

    if caller.role == "operator_admin":
        if not caller.operator_id:
            raise errors.forbidden("Your admin role has no operator", "no_operator")
        if request.operator_id and request.operator_id != caller.operator_id:
            raise errors.forbidden("You manage only your own operator's staff", "other_operator")
        if old_operator and old_operator != caller.operator_id:
            raise errors.forbidden("That user is staff of another operator", "other_operator")
        operator_id = caller.operator_id
    else:
        operator_id = request.operator_id or old_operator
        if request.role and not operator_id:
            raise errors.bad_request(
                "operatorId is required to grant a staff role", "missing_operator"
            )
    if request.role and not db.collection(OPERATORS).document(operator_id or "").get().exists:
        raise errors.not_found(f"Unknown operator {operator_id!r}", "unknown_operator")

    new_role = request.role
    new_operator = operator_id if new_role else None
    for key in ("role", "operatorId"):
        claims.pop(key, None)
    if new_role:
        claims.update(role=new_role, operatorId=new_operator)
    demoted = _RANK[new_role] < _RANK[old_role] or (
        old_operator is not None and new_operator != old_operator
    )
    auth.set_custom_user_claims(user.uid, claims or None, app=firebase.app())
    if demoted:
        auth.revoke_refresh_tokens(user.uid, app=firebase.app())

    db.collection(ROLE_CHANGES).add(
        {
            "operatorId": new_operator or old_operator,
            "targetUid": user.uid,
            "fromRole": old_role,
            "fromOperatorId": old_operator,
            "toRole": new_role,
            "toOperatorId": new_operator,
            "byUid": caller.uid,
            "byRole": caller.role,
            "tokensRevoked": demoted,
            "at": datetime.now(UTC),
        }
    )
    logger.info(
        "accounts.role_changed",
        target_uid=user.uid,
        by_uid=caller.uid,
        operator_id=new_operator or old_operator,
        from_role=old_role,
        to_role=new_role,
        tokens_revoked=demoted,
    )
    return {
        "uid": user.uid,
        "role": new_role,
        "operatorId": new_operator,
        "previousRole": old_role,
        "tokensRevoked": demoted,
    }
