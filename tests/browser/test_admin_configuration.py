"""Operator configuration in a real browser, at desktop and phone width: an operator's admin
invites a colleague and issues, rotates and revokes a webhook token (checked against the
real webhook); the super admin sees every operator, onboards one and previews a portal
read-only. Screenshots go to test-output/admin/{desktop,phone}/config-*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from devstack import demo_data
from parkingdone import credentials
from tests.browser.pages import WIDTHS, no_horizontal_scroll
from tests.integration import ingest_support as ingest


def sign_in(page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(demo_data.PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def entry(token: str, plate: str) -> int:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    return ingest.post(token, ingest.body("entry", at, plate=plate)).status_code


@pytest.mark.parametrize("width", list(WIDTHS))
def test_operator_configuration(demo, hosting_url, chromium, screenshots, width):
    shots = screenshots / width
    shots.mkdir(exist_ok=True)
    context = chromium.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Revoke …? It stops working at once."
    portal = f"{hosting_url}/admin/o/demo"
    n = WIDTHS[width]["width"]

    # The operator's admin invites a colleague: the password link is shown once.
    sign_in(page, f"{portal}/login", demo_data.OPERATOR_ADMIN.email)
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    page.get_by_role("link", name="Users").click()
    invite = page.locator('form[action$="/users/invite"]')
    invite.locator('[name="email"]').fill(f"colleague-{n}@demo-operator.test")
    invite.locator('[name="display_name"]').fill("Colleague")
    invite.get_by_role("button", name="Invite").click()
    expect(page.locator("[data-password-link]")).to_contain_text("oobCode=")
    expect(
        page.locator(f'tr[data-user="colleague-{n}@demo-operator.test"] [data-role]')
    ).to_have_text("Operator staff")
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-users.png", full_page=True)

    # A webhook token: issued (shown once), used, rotated, the old one revoked.
    page.get_by_role("link", name="API credentials").click()
    issue = page.locator('form[action$="/credentials"]')
    issue.locator('[name="label"]').fill(f"Cameras {n}")
    issue.get_by_role("button", name="Issue").click()
    old = page.locator("[data-secret]").inner_text().strip()
    assert old.startswith("pdw_")
    assert entry(old, f"BRW-{n}") == 202
    page.screenshot(path=shots / "config-credentials-issued.png", full_page=True)
    page.get_by_role("button", name=f"Rotate Cameras {n}").click()
    new = page.locator("[data-secret]").inner_text().strip()
    assert new != old and entry(old, f"BRX-{n}") == 202 and entry(new, f"BRY-{n}") == 202
    old_row = page.locator(f'tr[data-credential="{credentials.hash_secret(old)[:12]}"]')
    expect(old_row.locator("[data-status]")).to_contain_text("(rotated)")
    old_row.get_by_role("button", name=f"Revoke Cameras {n}").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    assert entry(old, f"BRZ-{n}") == 401
    assert entry(new, f"BRQ-{n}") == 202
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-credentials.png", full_page=True)
    page.get_by_role("button", name="Sign out").click()

    # The super admin: every operator, onboarding one, a read-only preview.
    sign_in(page, f"{hosting_url}/admin/login", demo_data.SUPER_ADMIN.email)
    expect(page.get_by_role("heading", name="Operators")).to_be_visible()
    expect(page.locator('tr[data-operator="demo-operator"]')).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-operators.png", full_page=True)
    page.get_by_role("link", name="Onboard an operator").click()
    for name, value in {
        "name": f"Browser Parking {n}",
        "slug": f"browser-{n}",
        "facility_id": f"browser-{n}-p1",
        "facility_name": f"Browser P1 {n}",
        "period_price": "2.50",
        "daily_cap": "15",
        "admin_email": f"boss-{n}@browser.test",
    }.items():
        page.locator(f'[name="{name}"]').fill(value)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-onboard.png", full_page=True)
    page.get_by_role("button", name="Create the operator").click()
    expect(page.get_by_role("heading", name=f"browser-{n} is ready")).to_be_visible()
    token = page.locator("[data-secret]").inner_text().strip()
    at = datetime.now(UTC).replace(microsecond=0)
    body = ingest.body("entry", at, plate=f"NEW-{n}", facility=f"browser-{n}-p1")
    assert ingest.post(token, body).status_code == 202
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-onboarded.png", full_page=True)

    page.get_by_role("link", name="All operators").click()
    page.get_by_role("button", name="Preview Demo Parking").click()
    expect(page.get_by_role("note")).to_contain_text("Preview of Demo Parking")
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-preview.png", full_page=True)
    # The buttons are there as the admin sees them, but the server refuses every change.
    page.get_by_role("link", name="Users").click()
    page.locator('form[action$="/users/invite"] [name="email"]').fill("sneaky@demo.test")
    page.locator('form[action$="/users/invite"]').get_by_role("button", name="Invite").click()
    expect(page.locator('[data-code="preview_read_only"]')).to_be_visible()
    page.screenshot(path=shots / "config-preview-refused.png", full_page=True)
    context.close()
