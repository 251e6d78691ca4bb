"""Staff roles as custom claims: super admins and operator admins grant and revoke them.

Claims: {"role": "operator_admin" | "operator_staff", "operatorId": ...}. An operator admin
manages only their own operator's people; a super admin manages any operator's. Nobody
changes their own role, and super admins are not managed here. A demotion (admin to staff,
a revocation, a move to another operator) also revokes the user's refresh tokens, so the old
rights end when the current ID token expires (at most an hour) and admin endpoints that verify
with check_revoked (the dashboard's session cookie) refuse it at once. Every change is kept in
roleChanges/{id}, and the operator's directory of people (models/staff_members.py) follows
the claims.

`invite` is how a new person gets a staff role: the Auth user is created (or found) by
e-mail, given the role through `set_role`, and a password-setting link is generated for the
inviter to pass on. Inviting the same person again is harmless: same user, a fresh link.
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
from parkingdone.models import staff_members
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

    if new_role:
        staff_members.put(
            db,
            user.uid,
            {
                "operatorId": new_operator,
                "email": user.email,
                "displayName": user.display_name,
                "role": new_role,
                "updatedAt": datetime.now(UTC),
            },
        )
    else:
        staff_members.remove(db, user.uid)
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


class InviteStaff(Input):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: Literal["operator_admin", "operator_staff"]
    operator_id: DocumentId | None = Field(default=None, min_length=1, max_length=128)
    display_name: str | None = Field(default=None, max_length=100)


def _find_or_create(request: InviteStaff) -> tuple[auth.UserRecord, bool]:
    email = request.email.lower()
    try:
        return auth.get_user_by_email(email, app=firebase.app()), False
    except auth.UserNotFoundError:
        pass
    try:
        user = auth.create_user(
            email=email,
            email_verified=False,
            display_name=request.display_name or None,
            app=firebase.app(),
        )
    except auth.EmailAlreadyExistsError:  # a concurrent invitation of the same address
        return auth.get_user_by_email(email, app=firebase.app()), False
    except ValueError as exc:
        raise errors.bad_request(f"Invalid e-mail: {exc}", "invalid_user") from exc
    return user, True


def _refuse_taken(user: auth.UserRecord, operator_id: str) -> None:
    claims = user.custom_claims or {}
    if claims.get("role") == "driver":
        raise errors.conflict(
            "That e-mail belongs to a driver's account; invite a work address", "driver_account"
        )
    if claims.get("role") == "super_admin":
        raise errors.forbidden("Super admin roles are not managed here", "super_admin_target")
    if claims.get("role") in OPERATOR_ROLES and claims.get("operatorId") != operator_id:
        raise errors.conflict("That user is staff of another operator", "other_operator_staff")


def check_invitable(email: str, operator_id: str) -> None:
    """Refuse (ApiError) an address that cannot become this operator's staff, before anything
    is written: a driver's account, a super admin, another operator's staff."""
    try:
        _refuse_taken(auth.get_user_by_email(email.lower(), app=firebase.app()), operator_id)
    except auth.UserNotFoundError:
        return
    except ValueError as exc:
        raise errors.bad_request(f"Invalid e-mail: {exc}", "invalid_user") from exc


def invite(db: firestore.Client, caller: Caller, request: InviteStaff) -> dict[str, Any]:
    """Give `request.email` a staff role, creating the user if needed; returns the role
    change and a link where the person sets their password (shown to the inviter once)."""
    if caller.role not in ("super_admin", "operator_admin"):
        raise errors.forbidden("Only super admins and operator admins invite staff", "not_admin")
    operator_id = request.operator_id if caller.role == "super_admin" else caller.operator_id
    if caller.role == "operator_admin" and request.operator_id not in (None, operator_id):
        raise errors.forbidden("You manage only your own operator's staff", "other_operator")
    if not operator_id:
        raise errors.bad_request("operatorId is required to invite staff", "missing_operator")
    # Checked before a user is created, so a refused invitation leaves no account behind.
    if not db.collection(OPERATORS).document(operator_id).get().exists:
        raise errors.not_found(f"Unknown operator {operator_id!r}", "unknown_operator")
    check_invitable(request.email, operator_id)
    user, created = _find_or_create(request)
    _refuse_taken(user, operator_id)
    result = set_role(
        db, caller, SetStaffRole(uid=user.uid, role=request.role, operator_id=operator_id)
    )
    staff_members.put(db, user.uid, {"invitedAt": datetime.now(UTC), "invitedBy": caller.uid})
    link = auth.generate_password_reset_link(user.email or request.email, app=firebase.app())
    return {**result, "email": user.email, "created": created, "passwordLink": link}
