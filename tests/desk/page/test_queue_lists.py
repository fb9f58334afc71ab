"""The queue's lists on the page, in real headless Chromium: counts in the badges and the
title, the Waiting view oldest first and one page at a time, search by customer name,
phone, email and message text, filters by channel and label; and the same page on a
tablet (768 x 1024), where the list and the conversation take turns."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import insert

from gateway.models import Agent, Contact, Conversation
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page, queue_items
from tests.desk.page.seed import Customer, seed

PAGE_SIZE = 25
FILLERS = [
    Customer(f"Customer {n:02d}", "webchat", f"visitor-{n:02d}", f"Question number {n}")
    for n in range(1, 29)
]
QUINCY = Customer("Quincy Adams", "sms", "+15550104477", "My card was charged twice")
RENEE = Customer(
    "Renée Dupont", "email", "renee@example.test", "Where is my refund?", label="refund"
)
OTTO = Customer("Otto Optout", "sms", "+15550109999", "STOP", opted_out=True)
OTHERS = [
    Customer("Old Resolved", "webchat", "visitor-r1", "Thanks!", state="resolved", days_ago=2),
    Customer("Older Resolved", "sms", "+15550100001", "ok", state="resolved", days_ago=3),
    Customer("With the AI", "whatsapp", "+15550100002", "Opening hours?", state="ai"),
]


async def search(page: Page, text: str) -> None:
    await page.get_by_test_id("search").fill(text)


async def test_counts_pages_search_and_filters(
    running_gateway: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_gateway
    await seed(system.db, system.org, [*FILLERS, QUINCY, RENEE, *OTHERS])
    page = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 1280, "height": 720}
    )
    items = queue_items(page)
    names = page.get_by_test_id("conversation-customer-name")

    await expect(page.get_by_test_id("count-waiting")).to_have_text("30")
    await expect(page.get_by_test_id("count-resolved")).to_have_text("2")
    await expect(page.get_by_test_id("count-ai")).to_have_text("1")
    await expect(page).to_have_title("(30) Queue · Switchboard")

    # Oldest first, one page at a time.
    await expect(items).to_have_count(PAGE_SIZE)
    await expect(names.first).to_have_text("Customer 01")
    await page.get_by_test_id("page-next").click()
    await expect(items).to_have_count(30 - PAGE_SIZE)
    await expect(names.last).to_have_text("Renée Dupont")
    await expect(page.get_by_test_id("page-next")).to_be_disabled()
    await page.get_by_test_id("page-prev").click()
    await expect(names.first).to_have_text("Customer 01")

    # Search: name, phone (as people type it), email, message text.
    for term, found in [
        ("quincy", "Quincy Adams"),
        ("555-010-4477", "Quincy Adams"),
        ("renee@example", "Renée Dupont"),
        ("charged twice", "Quincy Adams"),
    ]:
        await search(page, term)
        await expect(names).to_have_text([found])
    await search(page, "nobody by that name")
    await expect(page.get_by_test_id("list-empty")).to_contain_text("in any view matches")
    await search(page, "")
    await expect(items).to_have_count(PAGE_SIZE)

    # Filters narrow the list and the counts.
    await page.get_by_test_id("filter-channel").select_option("sms")
    await expect(names).to_have_text(["Quincy Adams"])
    await expect(page.get_by_test_id("count-waiting")).to_have_text("1")
    await expect(page.get_by_test_id("count-resolved")).to_have_text("1")
    await page.get_by_test_id("filter-channel").select_option("")
    await page.get_by_test_id("filter-label").select_option("refund")
    await expect(names).to_have_text(["Renée Dupont"])
    await page.get_by_test_id("filter-label").select_option("")
    await page.get_by_test_id("view-resolved").click()
    await expect(names).to_have_text(["Old Resolved", "Older Resolved"])


async def test_the_queue_on_a_tablet(
    running_gateway: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_gateway
    await seed(system.db, system.org, [QUINCY, RENEE, *FILLERS[:5], OTTO])
    async with system.db.transaction() as session:
        admin = await session.get(Agent, system.admin.id)
        assert admin is not None
        admin.time_zone = "Asia/Tokyo"
    page = await agent_page(
        browser,
        system.url,
        system.admin.email,
        viewport={"width": 768, "height": 1024},
        has_touch=True,
    )
    await expect(queue_items(page)).to_have_count(8)
    await expect(page.get_by_test_id("view-waiting")).to_be_visible()
    await expect(page.get_by_test_id("search")).to_be_visible()
    await page.screenshot(path=str(screenshots_dir / "tablet-queue.png"))

    await queue_items(page).first.get_by_role("link").click()
    await expect(page.get_by_test_id("conversation-customer")).to_have_text("Quincy Adams")
    await expect(page.get_by_test_id("conversation-list")).to_be_hidden()
    await expect(page.get_by_test_id("composer-channel")).to_have_text("SMS")
    await expect(page.get_by_test_id("action-claim")).to_be_visible()
    await page.screenshot(path=str(screenshots_dir / "tablet-conversation.png"))
    await expect(page.get_by_test_id("unreachable")).to_be_hidden()
    stamp = page.get_by_test_id("timeline").locator("time").first
    await expect(stamp).to_have_attribute("title", re.compile(r"GMT\+9"))  # the agent's zone
    await page.get_by_role("button", name="Back to the list").click()
    await expect(page.get_by_test_id("conversation-list")).to_be_visible()
    await expect(page).to_have_url(f"{system.url}/queue")

    # A customer who opted out of SMS cannot be reached there, and the composer says so.
    await queue_items(page).last.get_by_role("link").click()
    await expect(page.get_by_test_id("conversation-customer")).to_have_text("Otto Optout")
    await expect(page.get_by_test_id("unreachable")).to_contain_text("opted out")
    await expect(page.get_by_test_id("composer-send")).to_be_disabled()


async def test_a_click_survives_a_list_reload_between_press_and_release(
    running_gateway: RunningSystem, browser: Browser
) -> None:
    """Live events reload the list and the open conversation at any moment; a row or a
    button that did not change keeps its node, so a reload between the mouse press and its
    release does not swallow the click."""
    system = running_gateway
    await seed(system.db, system.org, [QUINCY, RENEE])
    page = await agent_page(browser, system.url, system.admin.email)
    row = queue_items(page).first
    await expect(row).to_contain_text("Quincy Adams")

    async def click_across(target: Locator, reload: str) -> None:
        box = await target.bounding_box()
        assert box is not None
        await page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
        await page.mouse.down()
        await page.evaluate(reload)  # resolves once drawn again
        await page.mouse.up()

    await click_across(row.get_by_role("link"), "SB.queue.loadList()")
    await expect(page.get_by_test_id("conversation-customer")).to_have_text("Quincy Adams")
    await expect(page).to_have_url(re.compile(r"/queue/conversations/\d+$"))
    await click_across(page.get_by_test_id("action-claim"), "SB.queue.view.refresh(false)")
    await expect(page.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "assigned"
    )


async def test_a_view_of_ten_thousand_is_shortened_on_its_badge_only(
    running_gateway: RunningSystem, browser: Browser
) -> None:
    """Past 9,999 a badge reads "10k" (the screen reader hears the exact count); the list
    says the exact count and the number of pages."""
    system = running_gateway
    async with system.db.transaction() as session:
        contact = Contact(organization_id=system.org.id, name="Many Threads")
        session.add(contact)
        await session.flush()
        rows = [
            {
                "organization_id": system.org.id,
                "contact_id": contact.id,
                "channel": "email",
                "thread_key": f"thread-{n}",
                "address_kind": "email",
                "address": "many@example.test",
                "state": "resolved",
            }
            for n in range(10_005)
        ]
        await session.execute(insert(Conversation), rows)
    await seed(system.db, system.org, [QUINCY])
    page = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 1280, "height": 720}
    )
    resolved = page.get_by_test_id("count-resolved")
    await expect(resolved).to_have_text("10k")
    await expect(resolved).to_have_attribute("aria-label", "10,005 conversations")
    await expect(page.get_by_test_id("count-all")).to_have_text("10k")
    await expect(page.get_by_test_id("count-waiting")).to_have_text("1")
    await expect(page.locator("#list-total")).to_have_text("1 conversation")

    await page.get_by_test_id("view-resolved").click()
    await expect(page.locator("#list-total")).to_have_text("10,005 conversations")
    await expect(page.locator("#page-info")).to_have_text("Page 1 of 401")
