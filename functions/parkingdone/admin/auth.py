"""Sign-in for the dashboard: Firebase Auth password sign-in, session cookies, CSRF tokens.

The browser holds one cookie, `__session` (the only cookie Firebase Hosting forwards to a
function): a Firebase session cookie made from the ID token of a password sign-in, checked
on every request with `check_revoked`, so a sign-out (which revokes the user's tokens) ends
it everywhere. The CSRF token is derived from that cookie: a page can only carry it if it
was rendered for the cookie's holder, and the cookie itself is httpOnly.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from firebase_admin import auth

from parkingdone import config
from parkingdone.firebase import app as firebase_app

COOKIE_NAME = "__session"
SESSION_LIFETIME = timedelta(hours=8)
STAFF_ROLES = ("super_admin", "operator_admin", "operator_staff")
ADMIN_ROLES = ("super_admin", "operator_admin")
_WRONG_CREDENTIALS = {
    "EMAIL_NOT_FOUND",
    "INVALID_PASSWORD",
    "INVALID_LOGIN_CREDENTIALS",
    "INVALID_EMAIL",
    "MISSING_PASSWORD",
    "USER_DISABLED",
}


class SignInError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """The signed-in user, from the verified session cookie's claims."""

    uid: str
    email: str | None
    role: str | None
    operator_id: str | None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        role = claims.get("role")
        operator_id = claims.get("operatorId")
        return cls(
            uid=str(claims.get("uid") or claims.get("sub") or ""),
            email=claims.get("email"),
            role=role if role in STAFF_ROLES or role == "driver" else None,
            operator_id=operator_id if isinstance(operator_id, str) and operator_id else None,
        )

    @property
    def is_staff(self) -> bool:
        if self.role == "super_admin":
            return True
        return self.role in ("operator_admin", "operator_staff") and self.operator_id is not None

    @property
    def is_super(self) -> bool:
        return self.role == "super_admin"

    def is_admin_of(self, operator_id: str) -> bool:
        return self.is_super or (self.role == "operator_admin" and self.operator_id == operator_id)

    def is_staff_of(self, operator_id: str) -> bool:
        return self.is_super or (self.is_staff and self.operator_id == operator_id)


def _identity_toolkit_url() -> str:
    host = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST") if config.is_emulator() else None
    key = os.environ.get("FIREBASE_WEB_API_KEY", "emulator-key" if host else "")
    base = (
        f"http://{host}/identitytoolkit.googleapis.com"
        if host
        else ("https://identitytoolkit.googleapis.com")
    )
    return f"{base}/v1/accounts:signInWithPassword?key={key}"


def password_sign_in(email: str, password: str) -> str:
    """The ID token of a password sign-in; SignInError(401) for wrong credentials."""
    try:
        response = requests.post(
            _identity_toolkit_url(),
            json={"email": email, "password": password, "returnSecureToken": True},
            timeout=10,
        )
    except requests.RequestException as exc:
        raise SignInError(503, "auth_unavailable", "Sign-in is unavailable; try again") from exc
    if response.status_code == 200:
        return str(response.json()["idToken"])
    message = ""
    with contextlib.suppress(ValueError):
        message = response.json().get("error", {}).get("message", "")
    if message.split(" ")[0].split(":")[0] in _WRONG_CREDENTIALS or response.status_code == 400:
        raise SignInError(401, "wrong_credentials", "Wrong e-mail or password")
    raise SignInError(503, "auth_unavailable", "Sign-in is unavailable; try again")


def verify_id_token(id_token: str) -> dict[str, Any]:
    try:
        return auth.verify_id_token(id_token, app=firebase_app(), check_revoked=True)
    except (ValueError, auth.InvalidIdTokenError, auth.RevokedIdTokenError) as exc:
        raise SignInError(401, "invalid_token", "The sign-in token is not valid") from exc
    except auth.UserDisabledError as exc:
        raise SignInError(403, "user_disabled", "This account is disabled") from exc


def create_session_cookie(id_token: str) -> str:
    try:
        return auth.create_session_cookie(id_token, expires_in=SESSION_LIFETIME, app=firebase_app())
    except (ValueError, auth.InvalidIdTokenError) as exc:
        raise SignInError(401, "invalid_token", "The sign-in token is not valid") from exc


def verify_session_cookie(cookie: str) -> Principal | None:
    """The cookie's holder, or None when it is missing, expired, revoked or forged."""
    if not cookie:
        return None
    try:
        claims = auth.verify_session_cookie(cookie, check_revoked=True, app=firebase_app())
    except (
        ValueError,
        auth.InvalidSessionCookieError,
        auth.ExpiredSessionCookieError,
        auth.RevokedSessionCookieError,
        auth.UserDisabledError,
        auth.UserNotFoundError,
    ):
        return None
    return Principal.from_claims(claims)


def revoke(uid: str) -> None:
    auth.revoke_refresh_tokens(uid, app=firebase_app())


def csrf_token(cookie: str) -> str:
    """The form token bound to this session cookie (the cookie is httpOnly: a third-party
    page can neither read it nor compute this)."""
    return hashlib.sha256(b"parkingdone-admin-csrf\x00" + cookie.encode()).hexdigest()


def csrf_valid(cookie: str, token: str | None) -> bool:
    return bool(cookie and token) and hmac.compare_digest(csrf_token(cookie), str(token))


def cookie_options() -> dict[str, Any]:
    return {
        "max_age": int(SESSION_LIFETIME.total_seconds()),
        "httponly": True,
        "secure": not config.is_emulator(),
        "samesite": "Lax",
        "path": "/",
    }
