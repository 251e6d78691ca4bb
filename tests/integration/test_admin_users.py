"""Users and roles at /admin/users: invitations with a password link, role changes and
removals through the staff-role domain function, sign-out everywhere, tenant scope, audit."""

from __future__ import annotations

from firebase_admin import auth

from devstack import demo_data
from parkingdone.models import staff_members
from tests.integration import access_support as a
from tests.integration import admin_support as support

NEW = "new.person@demo-operator.test"


def test_admin_invites_staff_who_chooses_a_password_and_signs_in(demo, db):
    admin = support.sign_in("admin")
    page = a.post(
        admin, "/admin/users/invite", email=NEW, role="operator_staff", display_name="New"
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    link = a.shown(text, "data-password-link")
    user = auth.get_user_by_email(NEW)
    assert user.custom_claims == {"role": "operator_staff", "operatorId": demo_data.OPERATOR_ID}
    member = staff_members.get(db, user.uid)
    assert (member.operator_id, member.role, member.email) == (
        demo_data.OPERATOR_ID,
        "operator_staff",
        NEW,
    )
    assert member.invited_by == demo_data.OPERATOR_ADMIN.uid
    assert "staff.invited" in a.audit_actions(db, demo_data.OPERATOR_ID)

    a.set_password(link)
    newcomer = a.sign_in_as(NEW, portal="demo")
    assert newcomer.get("/admin/o/demo/sessions").status_code == 200
    assert newcomer.get("/admin/o/demo/users").status_code == 403  # staff manage no one
    assert NEW in admin.get("/admin/users").get_data(as_text=True)


def test_inviting_again_is_harmless_and_bad_invitations_change_nothing(demo, db):
    admin = support.sign_in("admin")
    first = a.post(admin, "/admin/users/invite", email=NEW, role="operator_staff")
    again = a.post(admin, "/admin/users/invite", email=NEW.upper(), role="operator_staff")
    assert first.status_code == again.status_code == 200
    assert len(auth.get_users([auth.EmailIdentifier(NEW)]).users) == 1
    assert a.shown(again.get_data(as_text=True), "data-password-link")

    assert a.post(admin, "/admin/users/invite", email="not-an-email", role="x").status_code == 400
    # A driver's account and another operator's admin are not taken over.
    driver = a.post(
        admin, "/admin/users/invite", email=demo_data.DRIVER.email, role="operator_staff"
    )
    assert driver.status_code == 409
    assert auth.get_user(demo_data.DRIVER.uid).custom_claims == {"role": "driver"}
    theirs = a.post(
        admin, "/admin/users/invite", email=demo_data.OTHER_ADMIN.email, role="operator_staff"
    )
    assert theirs.status_code == 409
    assert auth.get_user(demo_data.OTHER_ADMIN.uid).custom_claims["operatorId"] == (
        demo_data.OTHER_OPERATOR_ID
    )


def test_removed_user_is_signed_out_everywhere_at_once(demo, db):
    staff = support.sign_in("staff")
    assert staff.get("/admin/sessions").status_code == 200
    support.wait_until_revocable()
    admin = support.sign_in("admin")
    response = a.post(admin, f"/admin/users/{support.STAFF.uid}/remove")
    assert response.status_code == 303
    assert "signed out everywhere" in response.headers["Location"].replace("+", " ")
    # The very next request of the removed user's open session is signed out.
    assert staff.get("/admin/sessions").status_code == 303
    assert not (auth.get_user(support.STAFF.uid).custom_claims or {}).get("role")
    assert staff_members.get(db, support.STAFF.uid) is None
    assert "staff.removed" in a.audit_actions(db, demo_data.OPERATOR_ID)


def test_demoted_admin_is_signed_out_and_comes_back_as_staff(demo, db):
    second = demo_data.User(
        "demo-second-admin",
        "second@demo-operator.test",
        "Second Admin",
        {"role": "operator_admin", "operatorId": demo_data.OPERATOR_ID},
    )
    demo_data._ensure_user(second)
    theirs = a.sign_in_as(second.email, demo_data.PASSWORD)
    assert theirs.get("/admin/audit").status_code == 200
    support.wait_until_revocable()
    admin = support.sign_in("admin")
    changed = a.post(admin, f"/admin/users/{second.uid}/role", role="operator_staff")
    assert changed.status_code == 303
    assert theirs.get("/admin/audit").status_code == 303  # signed out
    again = a.sign_in_as(second.email, demo_data.PASSWORD)
    assert again.get("/admin/audit").status_code == 403
    assert again.get("/admin/sessions").status_code == 200
    assert staff_members.get(db, second.uid).role == "operator_staff"
    assert "staff.role_changed" in a.audit_actions(db, demo_data.OPERATOR_ID)


def test_users_are_scoped_to_their_operator(demo, db):
    support.ensure_staff()
    other = support.sign_in("other_admin")
    listing = other.get("/admin/users").get_data(as_text=True)
    assert demo_data.OTHER_ADMIN.email in listing
    assert support.STAFF.email not in listing
    assert a.post(other, f"/admin/users/{support.STAFF.uid}/remove").status_code == 404
    assert a.post(other, "/admin/users/..bad../remove").status_code == 404
    assert (
        a.post(other, f"/admin/users/{support.STAFF.uid}/role", role="operator_admin").status_code
        == 404
    )
    assert auth.get_user(support.STAFF.uid).custom_claims["role"] == "operator_staff"
    # Nobody changes their own role.
    admin = support.sign_in("admin")
    own = a.post(admin, f"/admin/users/{demo_data.OPERATOR_ADMIN.uid}/role", role="operator_staff")
    assert own.status_code == 422
    assert auth.get_user(demo_data.OPERATOR_ADMIN.uid).custom_claims["role"] == "operator_admin"
