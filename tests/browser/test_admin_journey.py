"""The operator's admin in a real browser, at desktop and phone width: sign in, see a KPI
change after a webhook exit, find the stay, open its timeline, correct the plate, export
the CSV and read it back, sign out; support lists the operators. Screenshots go to
test-output/admin/ (git-ignored)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from devstack import demo_data
from tests.browser.pages import WIDTHS, no_horizontal_scroll
from tests.integration import ingest_support as ingest


@pytest.mark.parametrize("width", list(WIDTHS))
def test_admin_journey(demo, hosting_url, chromium, screenshots, width):
    shots = screenshots / width
    shots.mkdir(exist_ok=True)
    context = chromium.new_context(viewport=WIDTHS[width], accept_downloads=True)
    page = context.new_page()
    portal = f"{hosting_url}/admin/o/demo"
    plate = f"JRN-{WIDTHS[width]['width']}"
    fixed = f"JRM-{WIDTHS[width]['width']}"

    # Sign in on the operator's branded login page.
    page.goto(f"{portal}/login")
    expect(page.get_by_role("heading", name="Sign in to Demo Parking")).to_be_visible()
    page.screenshot(path=shots / "login.png", full_page=True)
    page.get_by_label("E-mail").fill(demo_data.OPERATOR_ADMIN.email)
    page.get_by_label("Password").fill(demo_data.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    cookies = {c["name"] for c in context.cookies()}
    assert cookies == {"__session"}

    # A stay enters; the open-unpaid figure changes by itself once it leaves unpaid.
    entry_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=50)
    ingest.post(demo.webhook_token, ingest.body("entry", entry_at, plate=plate))
    unpaid = page.locator('[data-kpi="unpaid"]')
    expect(unpaid).to_have_text("€0.00", timeout=20_000)
    # Kept by the session trigger, which a cold worker on a busy machine may start late.
    expect(page.locator('#occupancy [data-kpi="inside"]')).to_have_text("1", timeout=60_000)
    ingest.post(
        demo.webhook_token, ingest.body("exit", entry_at + timedelta(minutes=45), plate=plate)
    )
    expect(unpaid).to_have_text("€3.00", timeout=30_000)
    expect(page.locator("#activity")).to_contain_text(f"{plate} left", timeout=20_000)
    expect(page.locator("#trend canvas")).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "operations.png", full_page=True)

    # Find the stay and open its evidence timeline.
    page.get_by_role("link", name="Sessions").click()
    page.get_by_label("Plate").fill(plate.lower().replace("-", " "))
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tr[data-session]")
    expect(row).to_have_count(1)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "sessions.png", full_page=True)
    row.get_by_role("link", name=plate).click()
    expect(page.locator('[data-kind="entry"]')).to_be_visible()
    expect(page.locator('[data-kind="exit"]')).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "timeline.png", full_page=True)

    # Correct the plate; the timeline shows the correction.
    correction = page.locator("form", has=page.get_by_label("Correct plate"))
    correction.get_by_label("Correct plate").fill(fixed)
    correction.get_by_label("Reason").fill("Camera misread the last letter")
    correction.get_by_role("button", name="Correct plate").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Plate corrected to {fixed.replace('-', '')}"
    )
    expect(page.locator('[data-kind="correction"]')).to_contain_text("Camera misread")

    # Export the list as CSV and read it back.
    page.get_by_role("link", name="Sessions", exact=True).first.click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    text = open(download_info.value.path(), encoding="utf-8").read()  # noqa: SIM115
    rows = {r["plate"]: r for r in csv.DictReader(io.StringIO(text))}
    assert fixed.replace("-", "") in rows
    assert rows[fixed.replace("-", "")]["payment_status"] == "to_invoice"
    assert rows[fixed.replace("-", "")]["fee"] == "3.00"

    # The audit log has the correction.
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator('[data-action="session.plate_corrected"]')).to_have_count(1)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "audit.png", full_page=True)

    # Sign out: back at the login page, and the dashboard is closed.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Demo Parking")).to_be_visible()
    page.goto(f"{portal}/")
    expect(page.get_by_role("heading", name="Sign in to Demo Parking")).to_be_visible()

    # ParkingDone's support (super admin) lists every operator's portal.
    page.get_by_label("E-mail").fill(demo_data.SUPER_ADMIN.email)
    page.get_by_label("Password").fill(demo_data.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    page.get_by_role("link", name="Operators").click()
    expect(page.get_by_role("heading", name="Operators")).to_be_visible()
    expect(page.locator("tr[data-operator]")).to_have_count(2)
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "operators.png", full_page=True)
    context.close()
