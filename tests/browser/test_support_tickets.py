"""Support tickets in a real browser at desktop and phone width: the staff member finds the
driver's ticket, sees the driver's next message arrive without a reload, answers it, and the
ticket moves to pending. Screenshots in test-output/admin/{desktop,phone}/tickets*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from devstack import demo_data
from tests.browser.pages import WIDTHS, no_horizontal_scroll, signed_in
from tests.support.services import call_callable


@pytest.mark.parametrize("width", list(WIDTHS))
def test_staff_answer_a_drivers_ticket(demo, hosting_url, chromium, screenshots, width):
    shots = screenshots / width
    shots.mkdir(exist_ok=True)
    driver = demo_data.DRIVER
    opened = call_callable(
        "openTicket",
        {
            "subject": "Charged twice",
            "text": "My card was charged twice today",
            "operatorId": demo.operator_id,
        },
        uid=driver.uid,
        email=driver.email,
    )
    assert opened.status_code == 200, opened.text
    ticket = opened.json()["result"]

    portal = f"{hosting_url}/admin/o/demo"
    context, page = signed_in(chromium, width, portal)
    expect(page.locator('#support [data-support="open"]')).to_contain_text("1", timeout=30_000)

    page.get_by_role("link", name="Support", exact=True).first.click()
    expect(page.get_by_role("heading", name="Support")).to_be_visible()
    row = page.locator(f'tr[data-ticket="{ticket["number"]}"]')
    expect(row).to_be_visible()
    expect(page.locator('[data-figure="open"]')).to_have_text("1")
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "tickets.png", full_page=True)

    row.get_by_role("link", name=ticket["number"]).click()
    expect(page.locator("#conversation")).to_contain_text("charged twice today")
    # The driver writes again; the page shows it by itself (htmx polling).
    call_callable(
        "sendTicketMessage",
        {"ticketId": ticket["ticketId"], "text": "Receipt numbers 1 and 2"},
        uid=driver.uid,
    )
    expect(page.locator("#conversation")).to_contain_text("Receipt numbers 1 and 2", timeout=20_000)
    page.get_by_label("Reply").fill("We refunded the second charge.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Reply sent")
    expect(page.locator("#ticket-status")).to_have_text("Pending")
    expect(page.locator("#conversation li")).to_have_count(3)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "ticket.png", full_page=True)
    context.close()
