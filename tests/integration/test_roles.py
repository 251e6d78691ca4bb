"""Staff roles through the set_staff_role callable: claims, scope, token revocation, audit."""

from __future__ import annotations

import os
import time

import pytest
import requests
from firebase_admin import auth

from parkingdone.firebase import app
from tests.support.services import call_callable

SUPER = {"uid": "root", "role": "super_admin"}
ADMIN_A = {"uid": "admin-a", "role": "operator_admin", "operatorId": "op-a"}
STAFF_A = {"uid": "staff-a", "role": "operator_staff", "operatorId": "op-a"}


@pytest.fixture(autouse=True)
def people(db) -> None:
    db.document("operators/op-a").set({"name": "Operator A"})
    db.document("operators/op-b").set({"name": "Operator B"})
    for uid, claims in [
        ("admin-a", {"role": "operator_admin", "operatorId": "op-a"}),
        ("staff-b", {"role": "operator_staff", "operatorId": "op-b"}),
        ("root", {"role": "super_admin"}),
        ("newbie", None),
    ]:
        auth.create_user(uid=uid, email=f"{uid}@example.test", password="pw-123456", app=app())
        if claims:
            auth.set_custom_user_claims(uid, claims, app=app())


def set_role(caller: dict, **data):
    claims = {k: v for k, v in caller.items() if k != "uid"}
    return call_callable("setStaffRole", data, uid=caller["uid"], **claims)


def claims_of(uid: str) -> dict:
    return auth.get_user(uid, app=app()).custom_claims or {}


def test_super_admin_grants_an_operator_admin_role(db) -> None:
    response = set_role(SUPER, uid="newbie", role="operator_admin", operatorId="op-b")
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {
        "uid": "newbie",
        "role": "operator_admin",
        "operatorId": "op-b",
        "previousRole": None,
        "tokensRevoked": False,
    }
    assert claims_of("newbie") == {"role": "operator_admin", "operatorId": "op-b"}
    audit = [d.to_dict() for d in db.collection("roleChanges").stream()]
    assert len(audit) == 1
    assert (audit[0]["targetUid"], audit[0]["toRole"], audit[0]["byUid"]) == (
        "newbie",
        "operator_admin",
        "root",
    )


def test_operator_admin_grants_staff_of_their_own_operator_by_email() -> None:
    response = set_role(ADMIN_A, email="newbie@example.test", role="operator_staff")
    assert response.json()["result"]["operatorId"] == "op-a"
    assert claims_of("newbie") == {"role": "operator_staff", "operatorId": "op-a"}


def test_operator_admin_cannot_reach_another_operator() -> None:
    other = set_role(ADMIN_A, uid="newbie", role="operator_staff", operatorId="op-b")
    assert other.json()["error"]["status"] == "PERMISSION_DENIED"
    foreign = set_role(ADMIN_A, uid="staff-b", role=None)
    assert foreign.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "another operator" in foreign.json()["error"]["message"]
    assert claims_of("staff-b") == {"role": "operator_staff", "operatorId": "op-b"}
    assert claims_of("newbie") == {}


def test_staff_and_drivers_cannot_manage_roles() -> None:
    for caller in (STAFF_A, {"uid": "driver-1"}):
        response = set_role(caller, uid="newbie", role="operator_staff")
        assert response.json()["error"]["status"] == "PERMISSION_DENIED"
    assert claims_of("newbie") == {}


def test_nobody_changes_their_own_role_or_a_super_admin() -> None:
    own = set_role(ADMIN_A, uid="admin-a", role="operator_staff")
    assert own.json()["error"]["status"] == "FAILED_PRECONDITION"
    top = set_role(SUPER, uid="root", role=None)
    assert top.json()["error"]["status"] == "FAILED_PRECONDITION"
    other_super = set_role(ADMIN_A, uid="root", role=None)
    assert other_super.json()["error"]["status"] == "PERMISSION_DENIED"
    assert claims_of("root") == {"role": "super_admin"}


def test_bad_requests_are_refused() -> None:
    cases = [
        (SUPER, {"uid": "newbie", "role": "super_admin"}, "INVALID_ARGUMENT"),
        (SUPER, {"uid": "newbie", "role": "operator_staff"}, "INVALID_ARGUMENT"),  # no operator
        (SUPER, {"role": "operator_staff", "operatorId": "op-a"}, "INVALID_ARGUMENT"),  # no user
        (SUPER, {"uid": "ghost", "role": "operator_staff", "operatorId": "op-a"}, "NOT_FOUND"),
        (SUPER, {"uid": "newbie", "role": "operator_staff", "operatorId": "op-x"}, "NOT_FOUND"),
    ]
    for caller, data, status in cases:
        assert set_role(caller, **data).json()["error"]["status"] == status, data
    assert claims_of("newbie") == {}


def sign_in(email: str) -> str:
    host = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
    response = requests.post(
        f"http://{host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any",
        json={"email": email, "password": "pw-123456", "returnSecureToken": True},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["idToken"]


def test_demotion_revokes_the_users_tokens_and_a_promotion_does_not(db) -> None:
    set_role(ADMIN_A, uid="newbie", role="operator_admin")
    token = sign_in("newbie@example.test")
    assert auth.verify_id_token(token, app=app(), check_revoked=True)["role"] == "operator_admin"
    time.sleep(1.1)  # revocation is recorded in whole seconds

    demoted = set_role(ADMIN_A, uid="newbie", role="operator_staff")
    assert demoted.json()["result"]["tokensRevoked"] is True
    with pytest.raises(auth.RevokedIdTokenError):
        auth.verify_id_token(token, app=app(), check_revoked=True)
    # Signing in again gives a token with the new role.
    fresh = sign_in("newbie@example.test")
    assert auth.verify_id_token(fresh, app=app(), check_revoked=True)["role"] == "operator_staff"

    revoked = set_role(ADMIN_A, uid="newbie", role=None)
    assert revoked.json()["result"]["tokensRevoked"] is True
    assert claims_of("newbie") == {}
    kinds = sorted(
        (d.get("fromRole") or "", d.get("toRole") or "")
        for d in db.collection("roleChanges").stream()
    )
    assert kinds == [
        ("", "operator_admin"),
        ("operator_admin", "operator_staff"),
        ("operator_staff", ""),
    ]


def test_other_custom_claims_survive_a_role_change() -> None:
    auth.set_custom_user_claims("newbie", {"betaFeatures": True}, app=app())
    set_role(SUPER, uid="newbie", role="operator_staff", operatorId="op-a")
    set_role(SUPER, uid="newbie", role=None)
    assert claims_of("newbie") == {"betaFeatures": True}
