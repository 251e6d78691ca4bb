"""Helpers of the admin dashboard tests: signed-in Flask test clients per role, stays."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_admin import auth
from flask.testing import FlaskClient

from devstack import demo_data
from tests.integration import ingest_support as ingest
from tests.support.waiting import wait_for

STAFF = demo_data.User(
    "demo-operator-staff",
    "staff@demo-operator.test",
    "Demo Parking Staff",
    {"role": "operator_staff", "operatorId": demo_data.OPERATOR_ID},
)
ROLES = ("signed_out", "driver", "staff", "admin", "super", "other_admin")
EMAILS = {
    "driver": demo_data.DRIVER.email,
    "staff": STAFF.email,
    "admin": demo_data.OPERATOR_ADMIN.email,
    "super": demo_data.SUPER_ADMIN.email,
    "other_admin": demo_data.OTHER_ADMIN.email,
}


def client() -> FlaskClient:
    from parkingdone.admin import access
    from parkingdone.admin.app import app

    access.clear_cache()
    return app.test_client()


def ensure_staff() -> None:
    demo_data._ensure_user(STAFF)


def sign_in(role: str, portal: str | None = None) -> FlaskClient:
    """A test client signed in through the login form (the real password sign-in)."""
    c = client()
    if role == "signed_out":
        return c
    if role == "staff":
        ensure_staff()
    if role == "driver":
        # The login refuses drivers; a session cookie made anyway must open nothing either.
        from parkingdone.admin import auth as admin_auth

        id_token = admin_auth.password_sign_in(EMAILS[role], demo_data.PASSWORD)
        c.set_cookie("__session", admin_auth.create_session_cookie(id_token))
        return c
    prefix = f"/admin/o/{portal}" if portal else "/admin"
    response = c.post(
        f"{prefix}/login", data={"email": EMAILS[role], "password": demo_data.PASSWORD}
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-500:]
    return c


def csrf(c: FlaskClient) -> str:
    from parkingdone.admin.auth import csrf_token

    cookie = c.get_cookie("__session")
    assert cookie is not None
    return csrf_token(cookie.value)


@dataclass(frozen=True)
class Stay:
    session_id: str
    plate: str


def stay(
    db: Any,
    plate: str,
    *,
    token: str = demo_data.WEBHOOK_TOKEN,
    facility: str = demo_data.FACILITY_ID,
    minutes: int = 100,
    closed: bool = True,
    until: tuple[str, ...] = ("to_invoice", "succeeded", "not_required"),
) -> Stay:
    """A stay sent through the real webhook; a closed one waits for its payment outcome."""
    exit_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    entry_at = exit_at - timedelta(minutes=minutes)
    response = ingest.post(token, ingest.body("entry", entry_at, plate=plate, facility=facility))
    assert response.status_code in (200, 201, 202), response.text
    session_id = response.json()["sessionId"]
    if closed:
        response = ingest.post(token, ingest.body("exit", exit_at, plate=plate, facility=facility))
        assert response.status_code in (200, 201, 202), response.text

        def settled() -> bool:
            doc = db.collection("sessions").document(session_id).get().to_dict() or {}
            return (doc.get("payment") or {}).get("status") in until

        # The first charge of a run waits for the payments function to start (cold, busy CPU).
        wait_for(settled, timeout=90, what=f"payment of {plate}")
    return Stay(session_id, plate)


def wait_until_revocable() -> None:
    # Revocation compares whole seconds: revoke in a later second than the sign-in.
    time.sleep(1.1)


def revoke(uid: str) -> None:
    auth.revoke_refresh_tokens(uid)
