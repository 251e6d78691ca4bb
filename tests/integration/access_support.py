"""Helpers of the operator-configuration tests (users, credentials, onboarding, preview)."""

from __future__ import annotations

import html
import os
import re
from urllib.parse import parse_qs, urlparse

import requests
from flask.testing import FlaskClient

from tests.integration import admin_support as support

NEW_PASSWORD = "chosen-password-1"
# The onboarding form as a super admin fills it in.
ONBOARDING_FORM = {
    "name": "Acme Parking Oy",
    "slug": "acme",
    "currency": "EUR",
    "time_zone": "Europe/Helsinki",
    "platform_fee_percent": "4.5",
    "vat_percent": "25.5",
    "language": "en",
    "display_name": "Acme Parking",
    "accent_color": "#aa3300",
    "logo_url": "https://cdn.example/acme.svg",
    "stripe_account_id": "acct_1AcmeTest",
    "facility_id": "acme-p1",
    "facility_name": "Acme P1",
    "capacity": "120",
    "free_minutes": "10",
    "period_minutes": "30",
    "period_price": "1,50",
    "daily_cap": "18",
    "exit_grace_minutes": "15",
    "admin_email": "boss@acme.test",
    "admin_name": "Acme Boss",
    "webhook_label": "Acme cameras",
}


def shown(page: str, marker: str) -> str:
    """The text of the element carrying `marker` (data-secret, data-password-link)."""
    match = re.search(rf"<code[^>]*{marker}[^>]*>([^<]+)</code>", page)
    assert match, f"{marker} not on the page"
    return html.unescape(match.group(1)).strip()


def set_password(link: str, password: str = NEW_PASSWORD) -> None:
    """What the invited person does with the link: choose a password (Auth emulator's REST)."""
    code = parse_qs(urlparse(link).query)["oobCode"][0]
    host = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
    response = requests.post(
        f"http://{host}/identitytoolkit.googleapis.com/v1/accounts:resetPassword?key=emulator-key",
        json={"oobCode": code, "newPassword": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def sign_in_as(email: str, password: str = NEW_PASSWORD, portal: str | None = None) -> FlaskClient:
    c = support.client()
    prefix = f"/admin/o/{portal}" if portal else "/admin"
    response = c.post(f"{prefix}/login", data={"email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)[-400:]
    return c


def post(c: FlaskClient, path: str, **form: object):
    return c.post(path, data={**form, "csrf_token": support.csrf(c)})


def audit_actions(db, operator_id: str) -> list[str]:
    from parkingdone.models import audit_log

    return [e.action for e in audit_log.of_operator(db, operator_id, 200)]
