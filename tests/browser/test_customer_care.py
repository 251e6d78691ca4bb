"""Customer care in a real browser, at desktop and phone width: find the driver by plate,
read the profile and credit the wallet, then open the driver's dispute, read its evidence
and reject it with a reason. Screenshots go to test-output/admin/{width}/ (git-ignored)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import WIDTHS, no_horizontal_scroll, signed_in
from tests.integration.payments_helpers import closed_session, wait_status
from tests.support.services import call_callable


@pytest.mark.parametrize("width", list(WIDTHS))
def test_customer_lookup_and_dispute_decision(db, demo, hosting_url, chromium, screenshots, width):
    shots = screenshots / width
    shots.mkdir(exist_ok=True)
    session_id = f"care-{width}"
    closed_session(db, demo, session_id)
    wait_status(db, session_id, "succeeded", timeout=90)
    opened = call_callable(
        "openDispute",
        {"sessionId": session_id, "reason": "wrong_fee", "statement": "I only stayed 10 min"},
        demo.driver_uid,
    )
    assert opened.status_code == 200, opened.text

    portal = f"{hosting_url}/admin/o/demo"
    context, page = signed_in(chromium, width, portal)

    # Find the driver by a look-alike of the plate and open the profile.
    page.get_by_role("link", name="Customers").click()
    page.get_by_label("Plate, e-mail or name").fill("a8c 123")
    page.get_by_role("button", name="Search").click()
    row = page.locator(f'tr[data-customer="{demo.driver_uid}"]')
    expect(row).to_have_count(1)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "customers.png", full_page=True)
    row.get_by_role("link").click()
    expect(page.locator("#sessions")).to_contain_text("ABC123")
    expect(page.locator("#disputes")).to_contain_text("Open")

    # Credit the wallet with a reason.
    page.get_by_label("Credit amount").fill("5,00")
    page.get_by_label("Reason").fill("Barrier did not open")
    page.get_by_role("button", name="Credit wallet").click()
    expect(page.locator('[data-field="wallet-balance"]')).to_contain_text("5.00")
    expect(page.locator(".wallet-history")).to_contain_text("Barrier did not open")
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "customer.png", full_page=True)

    # The dispute with its evidence; reject it with a reason.
    page.get_by_role("link", name="Disputes").first.click()
    page.locator(f'tr[data-dispute="d_{session_id}"] a').click()
    expect(page.locator('[data-field="statement"]')).to_have_text("I only stayed 10 min")
    expect(page.locator('.timeline [data-kind="entry"]')).to_be_visible()
    expect(page.locator('.timeline [data-kind="exit"]')).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "dispute.png", full_page=True)
    page.get_by_label("Reason for the decision").fill("Camera times show 1 h 42 min")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator('[data-field="dispute-status"]')).to_have_text("Rejected")
    expect(page.locator('[data-field="decision"]')).to_contain_text("1 h 42 min")

    # The stay's page shows the dispute on its timeline.
    page.get_by_role("link", name="The stay").click()
    expect(page.locator('.timeline [data-kind="dispute"]')).to_have_count(2)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "timeline-dispute.png", full_page=True)
    context.close()
