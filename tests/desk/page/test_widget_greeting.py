"""The chat widget as a visitor sees it, in real headless Chromium on the demo shop: a new
visitor is greeted with three questions from the knowledge base, a tap sends one and the
assistant answers; every message shows its time; a reload restores the chat without the
greeting; and on a 375 px wide phone the widget waits closed, as a launcher that leaves
the shop's navigation free, then opens full screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import LIVE_TIMEOUT_MS, customer_page, widget_messages

CLOCK = re.compile(r"\d{1,2}:\d{2}")
FREE_AT_CENTRE = """(link) => {
  const box = link.getBoundingClientRect();
  return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === link;
}"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the widget's own rules
async def test_the_widget_greets_suggests_and_stays_out_of_the_way(
    running_system: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_system
    page = await customer_page(browser, system.url)

    suggestions = page.get_by_test_id("suggestion")
    await expect(page.get_by_test_id("greeting")).to_contain_text(
        "Hi! Ask us anything, or pick a question:"
    )
    await expect(suggestions).to_have_text(
        ["When are you open?", "How long does delivery take?", "How much is shipping?"]
    )
    await page.screenshot(path=str(screenshots_dir / "widget-greeting.png"))

    await suggestions.first.click()
    mine = widget_messages(page, "customer")
    await expect(mine.locator(".text")).to_have_text(["When are you open?"])
    await expect(mine.first).to_have_attribute("data-message-id", re.compile(r"\d+"))
    await expect(suggestions).to_have_count(0)
    answer = widget_messages(page, "ai")
    await expect(answer).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    await expect(answer.first).to_contain_text("Monday to Friday")
    for message in (mine.first, answer.first):
        await expect(message.get_by_test_id("time")).to_have_text(CLOCK)
        await expect(message.get_by_test_id("time")).to_have_attribute("title", re.compile("2026"))
    await page.screenshot(path=str(screenshots_dir / "widget-answered.png"))

    await page.reload()
    await expect(mine.get_by_test_id("time")).to_have_text(CLOCK)
    await expect(page.get_by_test_id("greeting")).to_have_count(0)

    # A phone: closed at first, the shop's navigation free, full screen once opened.
    phone = await (await browser.new_context(viewport={"width": 375, "height": 667})).new_page()
    await phone.goto(f"{system.url}/")
    launcher = phone.get_by_test_id("launcher")
    await expect(launcher).to_be_visible()
    await expect(phone.get_by_test_id("panel")).to_be_hidden()
    links = phone.get_by_role("navigation", name="Shop").get_by_role("link")
    await expect(links).to_have_count(3)
    for index in range(3):
        assert await links.nth(index).evaluate(FREE_AT_CENTRE)
    await phone.screenshot(path=str(screenshots_dir / "widget-phone-closed.png"))
    await launcher.click()
    panel = phone.get_by_test_id("panel")
    await expect(phone.get_by_test_id("input")).to_be_focused()
    box = await panel.bounding_box()
    assert box is not None and (box["width"], box["height"]) == (375, 667)
    await expect(phone.get_by_test_id("suggestion")).to_have_count(3)
    await phone.keyboard.press("Escape")
    await expect(launcher).to_be_visible()
    await expect(panel).to_be_hidden()
