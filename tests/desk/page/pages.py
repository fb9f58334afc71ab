"""What the queue page tests do in the browser, named as a person would say it: log in,
open the demo shop as a customer and write in its chat widget, find a conversation in the
queue."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page, expect

from tests.support.factories import PASSWORD

LIVE_TIMEOUT_MS = 15_000


async def log_in(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{url}/login")
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(f"{url}/queue")
    status = page.get_by_test_id("live-status")
    await expect(status).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT_MS)
    await expect(status).to_have_attribute("data-transport", "websocket")


async def agent_page(browser: Browser, url: str, email: str, **context: object) -> Page:
    """A logged-in agent's queue page in a browser context of its own."""
    page = await (await browser.new_context(**context)).new_page()  # type: ignore[arg-type]
    await log_in(page, url, email)
    return page


async def customer_page(browser: Browser, url: str) -> Page:
    """The demo shop with its chat widget open, in a browser context of its own."""
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{url}/")
    await expect(page.get_by_test_id("input")).to_be_enabled(timeout=LIVE_TIMEOUT_MS)
    await expect(page.get_by_test_id("status")).to_have_attribute("data-state", "ai")
    return page


async def customer_says(page: Page, text: str) -> None:
    await page.get_by_test_id("input").fill(text)
    await page.get_by_test_id("send").click()


def widget_messages(page: Page, author: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-author="{author}"]')


def queue_items(page: Page) -> Locator:
    return page.get_by_test_id("conversation-item")


def timeline(page: Page, testid: str = "message") -> Locator:
    return page.get_by_test_id("timeline").get_by_test_id(testid)
