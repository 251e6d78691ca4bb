"""Data retention and termination in a real browser, at desktop and phone width: the
operator's admin reads the policy; a super admin at another operator's portal changes it and
starts that operator's termination, then sees its status. Screenshots go to
test-output/admin/ (git-ignored)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from devstack import demo_data
from tests.browser.pages import WIDTHS, no_horizontal_scroll


def _sign_in(page, portal: str, email: str, brand: str) -> None:
    page.goto(f"{portal}/login")
    expect(page.get_by_role("heading", name=f"Sign in to {brand}")).to_be_visible()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(demo_data.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_retention_page_and_termination(demo, hosting_url, chromium, screenshots, width):
    shots = screenshots / width
    shots.mkdir(exist_ok=True)

    # The operator's admin sees the policy, read-only.
    context = chromium.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    _sign_in(page, f"{hosting_url}/admin/o/demo", demo_data.OPERATOR_ADMIN.email, "Demo Parking")
    page.get_by_role("link", name="Retention").click()
    expect(page.get_by_role("heading", name="Data retention")).to_be_visible()
    expect(page.locator('[data-setting="sessionsMonths"] strong')).to_have_text("24")
    expect(page.get_by_role("button", name="Save policy")).to_have_count(0)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "retention-admin.png", full_page=True)
    context.close()

    # A super admin at the other operator's portal changes its policy and terminates it.
    context = chromium.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    portal = f"{hosting_url}/admin/o/other"
    _sign_in(page, portal, demo_data.SUPER_ADMIN.email, "Other Parking")
    page.goto(f"{portal}/retention")
    page.locator('input[name="sessionsMonths"]').fill("30")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_have_text("Retention policy saved")
    expect(page.locator('input[name="sessionsMonths"]')).to_have_value("30")
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "retention-super.png", full_page=True)

    page.get_by_label("to confirm").fill(demo_data.OTHER_OPERATOR_ID)
    page.get_by_role("button", name="Terminate").click()
    expect(page.get_by_role("status")).to_have_text("Termination started")
    expect(page.locator('[data-status="exporting"]')).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "termination.png", full_page=True)
    context.close()
