"""An operator admin configures a facility in a real browser, at desktop and phone width:
changes what drivers read, previews and saves a tariff version, puts a pass product on
sale and checks a plate. Screenshots go to test-output/admin/{desktop,phone}/config-*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from devstack import demo_data
from tests.browser.pages import WIDTHS, no_horizontal_scroll, signed_in


@pytest.mark.parametrize("width", list(WIDTHS))
def test_admin_configures_a_facility(demo, db, hosting_url, chromium, screenshots, width):
    shots = screenshots / width
    shots.mkdir(exist_ok=True)
    portal = f"{hosting_url}/admin/o/demo"
    context, page = signed_in(chromium, width, portal)

    # The facility's settings: what drivers read changes when saved.
    page.get_by_role("link", name="Facilities").click()
    page.get_by_role("link", name="Kamppi P1").click()
    notice = f"Entrance B closed ({width})"
    page.get_by_label("Driver notice").fill(notice)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: driverNotice")
    stored = db.collection("facilities").document(demo_data.FACILITY_ID).get().to_dict()
    assert stored["driverNotice"] == notice
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-facility.png", full_page=True)

    # A new tariff version: preview the sample stays, then save.
    page.get_by_role("link", name="New tariff version").click()
    starts = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT08:00")
    page.get_by_label("Valid from").fill(starts)
    page.get_by_label("Price per started period").fill("3.50")
    page.get_by_role("button", name="Preview fees").click()
    expect(page.locator('[data-sample="16 min"] [data-fee]')).to_have_text("€3.50")
    expect(page.locator("[data-sample]")).to_have_count(5)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-tariff-preview.png", full_page=True)
    page.get_by_role("button", name="Save version 2").click()
    expect(page.get_by_role("status")).to_contain_text("Tariff version 2 saved")
    expect(page.locator('[data-version="2"]')).to_be_visible()

    # A pass product on sale, then a plate check.
    page.get_by_role("link", name="Passes").click()
    page.get_by_label("Name").fill("Monthly pass")
    page.get_by_label("Price", exact=True).fill("90.00")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("status")).to_contain_text("Monthly pass is on sale")
    expect(page.locator("[data-product]")).to_have_count(1)
    page.get_by_label("Plate to check").fill("ABC-123")
    page.get_by_role("button", name="Check plate").click()
    expect(page.locator('[data-field="status"]')).to_have_text("not_found")
    expect(page.locator('[data-field="shouldFine"]')).to_have_text("no")
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "config-passes.png", full_page=True)
    context.close()
