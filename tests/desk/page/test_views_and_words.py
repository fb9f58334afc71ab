"""The queue's Needs attention and All views, and a search that looks in every view, in
real headless Chromium; and the queue in plain words: customers named by what we know
(a formatted phone number, "Visitor from /products", never a visitor's token), reasons
and rules in words (the ids behind a disclosure), times relative in the list with the
full timestamp on hover, the agent's clock in messages."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from gateway.models import Conversation, Message
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page, queue_items
from tests.desk.page.seed import Customer, seed

MINE = Customer("Mira Mine", "email", "mira@example.test", "Order 48213?", state="assigned")
FLAGGED = Customer("Fay Flagged", "sms", "+15550104477", "Thanks, that helps", state="ai")
NAMELESS = Customer("", "whatsapp", "+447700900123", "Hello?")
VISITOR = Customer("", "webchat", "2wCaKmbfpYbvs9_tIVNRHA", "Is this in stock?")
WAITING = [Customer(f"Waiting {n}", "webchat", f"visitor-{n}", f"Question {n}") for n in (1, 2)]


async def _arrange(system: RunningSystem) -> dict[str, int]:
    ids = await seed(system.db, system.org, [MINE, FLAGGED, NAMELESS, VISITOR, *WAITING])
    mine, flagged, visitor = ids[0], ids[1], ids[3]
    async with system.db.transaction() as session:
        wrote = await session.scalar(select(Message).where(Message.conversation_id == visitor))
        assert wrote is not None
        wrote.meta = {"page": "/products"}  # as the widget sends it
        owned = await session.get(Conversation, mine)
        ai_owned = await session.get(Conversation, flagged)
        assert owned is not None and ai_owned is not None
        owned.assigned_agent_id = system.admin.id
        ai_owned.needs_attention = True
        ai_owned.attention_reason = "a reply could not be sent"
    return {"mine": mine, "flagged": flagged}


async def _names(page: Page) -> list[str]:
    return await page.get_by_test_id("conversation-customer-name").all_text_contents()


async def test_needs_attention_all_and_a_search_across_views(
    running_gateway: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_gateway
    ids = await _arrange(system)
    page = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 1280, "height": 720}
    )
    await page.get_by_test_id("view-waiting").click()
    await expect(queue_items(page)).to_have_count(4)

    # Badges: the flagged conversation counts though the AI owns it; All counts everything.
    await expect(page.get_by_test_id("count-needs_attention")).to_have_text("1")
    await expect(page.get_by_test_id("count-needs_attention")).to_have_class(re.compile("hot"))
    await expect(page.get_by_test_id("count-all")).to_have_text("6")

    # Customers named by what we know; reasons as sentences; relative times, full on hover.
    names = await _names(page)
    assert "+44 770 090 0123" in names
    assert "Visitor from /products" in names
    assert not any("2wCaKmbfp" in name for name in names)
    first = queue_items(page).first
    await expect(first.get_by_test_id("conversation-reason")).to_have_text(
        re.compile(r"^The customer asked for a person")
    )
    when = first.get_by_test_id("conversation-time")
    await expect(when).to_have_text(re.compile(r"^\d+ min ago$"))
    await expect(when).to_have_attribute("title", re.compile(r"^Waiting since \w{3} \d+, \d{4}"))

    # The conversation view in words: a visitor named by their page, never their token; a
    # formatted number; the reason as a sentence, each rule in words with its id behind a
    # disclosure; messages at the agent's clock, the full timestamp on hover.
    await queue_items(page).filter(has_text="Visitor from /products").get_by_role("link").click()
    await expect(page.get_by_test_id("conversation-customer")).to_have_text(
        "Visitor from /products"
    )
    await expect(page.get_by_test_id("composer-to")).to_have_text(" to Visitor from /products")
    await expect(page.locator("body")).not_to_contain_text("2wCaKmbfp")
    stamp = page.get_by_test_id("timeline").locator("time").first
    await expect(stamp).to_have_text(re.compile(r"^\d{1,2}:\d{2}( [AP]M)?$"))
    await expect(stamp).to_have_attribute("title", re.compile(r"\d{4}, \d{1,2}:\d{2}:\d{2}"))
    await queue_items(page).filter(has_text="+44 770 090 0123").get_by_role("link").click()
    await expect(page.get_by_test_id("identities")).to_contain_text("WhatsApp+44 770 090 0123")
    await expect(page.get_by_test_id("why-reason")).to_have_text("The customer asked for a person")
    rules = page.get_by_test_id("rule-details")
    await expect(rules.get_by_test_id("fired-rules")).to_be_hidden()
    await rules.locator("summary").click()
    await expect(rules.get_by_test_id("fired-rules")).to_have_text(
        "The customer asked for a person explicit_person_request"
    )
    await page.screenshot(path=str(screenshots_dir / "conversation-in-words.png"))
    # a live refresh (the agent's own note comes back as an event) leaves it open
    await page.get_by_test_id("timeline").focus()
    await page.keyboard.press("n")
    await page.get_by_test_id("composer-input").fill("Checking the policy's reasons.")
    await page.get_by_test_id("composer-input").press("Control+Enter")
    await expect(page.get_by_test_id("timeline").get_by_test_id("note")).to_have_count(1)
    await expect(rules).to_have_attribute("open", "")
    await expect(rules.get_by_test_id("fired-rules")).to_be_visible()

    # The demo case: "48213" searched while in Waiting finds the conversation in Mine.
    await page.get_by_test_id("search").fill("48213")
    await expect(page.get_by_test_id("list-title")).to_have_text("“48213” in all views")
    await expect(queue_items(page)).to_have_count(1)
    hit = queue_items(page).first
    await expect(hit).to_have_attribute("data-conversation-id", str(ids["mine"]))
    await expect(hit.get_by_test_id("conversation-view")).to_have_text("In Mine")
    await expect(page.get_by_test_id("view-waiting")).to_have_attribute("aria-selected", "true")
    await page.screenshot(path=str(screenshots_dir / "queue-search-all-views.png"))
    await page.get_by_test_id("search").fill("nothing like it")
    await expect(page.get_by_test_id("list-empty")).to_have_text(
        "No conversation in any view matches your search."
    )
    await page.get_by_test_id("search").fill("")

    # Needs attention lists it whoever owns it, and says where it sits.
    await page.get_by_test_id("view-needs_attention").click()
    await expect(page.get_by_test_id("list-title")).to_have_text("Needs attention")
    await expect(queue_items(page)).to_have_count(1)
    flagged = queue_items(page).first
    await expect(flagged).to_have_attribute("data-conversation-id", str(ids["flagged"]))
    await expect(flagged.get_by_test_id("conversation-view")).to_have_text("In AI active")
    await expect(flagged.get_by_test_id("attention-chip")).to_have_text("Needs attention")
    await expect(flagged.get_by_test_id("conversation-customer-name")).to_have_text("Fay Flagged")
    await page.screenshot(path=str(screenshots_dir / "queue-needs-attention.png"))

    # All holds every conversation; the keyboard reaches the new views too.
    await page.keyboard.press("7")
    await expect(page.get_by_test_id("view-all")).to_have_attribute("aria-selected", "true")
    await expect(queue_items(page)).to_have_count(6)
    await expect(page.locator("#list-total")).to_have_text("6 conversations")

    # On a tablet the seven views and the search still fit.
    await page.set_viewport_size({"width": 768, "height": 1024})
    await page.get_by_role("button", name="Back to the list").click()
    await expect(page.get_by_test_id("view-needs_attention")).to_be_visible()
    await expect(page.get_by_test_id("view-all")).to_be_in_viewport()
    await page.get_by_test_id("search").fill("48213")
    hit = queue_items(page).first
    await expect(hit.get_by_test_id("conversation-view")).to_have_text("In Mine")
    await page.screenshot(path=str(screenshots_dir / "tablet-search-all-views.png"))
