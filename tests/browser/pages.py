"""What the dashboard's browser tests share: the two widths, the overflow check, signing in."""

from __future__ import annotations

from playwright.sync_api import expect

from devstack import demo_data

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def signed_in(chromium, width: str, portal: str, user=demo_data.OPERATOR_ADMIN):
    """A new browser context at `width`, signed in to `portal` as `user`: (context, page)."""
    context = chromium.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    page.goto(f"{portal}/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(demo_data.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    return context, page
