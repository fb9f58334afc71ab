"""An agent works a handoff from start to finish on the queue page, in real headless
Chromium against the running system (gateway and worker processes): a customer on the demo
shop asks for a person; the conversation appears in Waiting without a reload within a
second; the agent claims it and replies, and the customer sees the reply in the widget;
resolving hands the widget back to the AI; taking manual control shows a countdown, and
the AI answers again when it runs out. Screenshots of the main views are saved."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.async_api import Browser, Locator, expect

from tests.desk.page.conftest import REVIEW_WINDOW_SECONDS, RunningSystem
from tests.desk.page.pages import (
    LIVE_TIMEOUT_MS,
    agent_page,
    customer_page,
    customer_says,
    queue_items,
    timeline,
    widget_messages,
)

APPEARS_WITHIN_MS = 1_000


async def test_an_agent_claims_replies_resolves_and_steps_in(
    running_system: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_system
    agent = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 1280, "height": 720}
    )
    errors: list[str] = []
    agent.on("pageerror", lambda error: errors.append(str(error)))
    await agent.evaluate("window.__sameDocument = true")
    await expect(agent.get_by_test_id("count-waiting")).to_have_text("0")

    # A customer chats with the AI, then asks for a person.
    customer = await customer_page(browser, system.url)
    await customer_says(customer, "What are your opening hours?")
    await expect(widget_messages(customer, "ai")).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    await customer_says(customer, "I want to talk to a person")
    await expect(customer.get_by_test_id("status")).to_have_attribute(
        "data-state", "queued", timeout=LIVE_TIMEOUT_MS
    )
    queued_at = time.monotonic()

    # It shows up in Waiting at once, with the count in the badge and the title.
    await expect(queue_items(agent)).to_have_count(1, timeout=APPEARS_WITHIN_MS)
    appeared = time.monotonic() - queued_at
    print(f"in Waiting {appeared * 1000:.0f} ms after the widget showed the handoff")
    assert appeared < 1.5  # expect's own polling adds a little
    item = queue_items(agent).first
    await expect(item).to_have_attribute("data-state", "queued")
    # A nameless web visitor is named by the page they wrote from, never by their token.
    await expect(item.get_by_test_id("conversation-customer-name")).to_have_text("Visitor from /")
    await expect(item.get_by_test_id("conversation-reason")).to_contain_text("asked for a person")
    await expect(agent.get_by_test_id("count-waiting")).to_have_text("1")
    await expect(agent).to_have_title("(1) Queue · Switchboard")
    assert await agent.evaluate("window.__sameDocument") is True
    await agent.screenshot(path=str(screenshots_dir / "queue-waiting.png"))

    # Open it: the history, why it was handed off, and its transitions.
    await item.get_by_role("link").click()
    await expect(agent).to_have_url(f"{system.url}/queue/conversations/{await _id(item)}")
    await expect(timeline(agent)).to_contain_text(["What are your opening hours?"])
    await expect(timeline(agent).filter(has_text="talk to a person")).to_have_count(1)
    await expect(agent.get_by_test_id("why")).to_contain_text("asked for a person")
    await expect(agent.get_by_test_id("transitions")).to_contain_text("AI active → Waiting")

    # Claim: the customer is told a person joined.
    await agent.get_by_test_id("action-claim").click()
    await expect(agent.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "assigned"
    )
    await expect(agent.get_by_test_id("count-waiting")).to_have_text("0")
    await expect(agent).to_have_title("Queue · Switchboard")
    await expect(widget_messages(customer, "system").last).to_contain_text(
        "Dana Admin joined", timeout=LIVE_TIMEOUT_MS
    )

    # Reply, named after the channel it goes out on; the customer sees it.
    await expect(agent.get_by_test_id("composer-channel")).to_have_text("Web chat")
    await agent.get_by_test_id("composer-input").fill("Hi, I'm Dana. Which order is it about?")
    await agent.get_by_test_id("composer-input").press("Control+Enter")
    await expect(widget_messages(customer, "agent")).to_contain_text(
        ["Hi, I'm Dana. Which order is it about?"], timeout=LIVE_TIMEOUT_MS
    )
    sent = timeline(agent).filter(has_text="Which order is it about?")
    await expect(sent.get_by_test_id("delivery-status")).to_have_text(
        "Delivered", timeout=LIVE_TIMEOUT_MS
    )
    await agent.screenshot(path=str(screenshots_dir / "conversation-view.png"))

    # Resolve with a last word: the widget is back with the AI.
    await agent.get_by_test_id("action-resolve").click()
    await (
        agent.get_by_test_id("resolve-dialog").get_by_role("textbox").fill("Glad we sorted it out!")
    )
    await agent.get_by_test_id("dialog-ok").click()
    await expect(agent.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "resolved"
    )
    last_word = widget_messages(customer, "agent").last  # the agent's own, under their name
    await expect(last_word.locator(".text")).to_have_text(
        "Glad we sorted it out!", timeout=LIVE_TIMEOUT_MS
    )
    await expect(last_word.locator(".who")).to_have_text("Dana Admin")
    await expect(customer.get_by_test_id("event-log")).to_contain_text("switchboard:resolved")
    await customer_says(customer, "How long does shipping take?")
    await expect(widget_messages(customer, "ai")).to_have_count(2, timeout=LIVE_TIMEOUT_MS)
    await expect(agent.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "ai", timeout=LIVE_TIMEOUT_MS
    )

    # Step in on the AI: a countdown, then the AI answers again once it runs out.
    await agent.get_by_test_id("view-ai").click()
    await expect(queue_items(agent)).to_have_count(1)
    await agent.get_by_test_id("action-manual").click()
    await expect(agent.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "manual"
    )
    clock = agent.get_by_test_id("countdown-clock")
    # the time left, counted from the server's deadline: on a busy machine the page may
    # first draw it a second or two after the click
    await expect(clock).to_have_text(re.compile(rf"^[1-{REVIEW_WINDOW_SECONDS}] s$"))
    shown = int((await clock.inner_text()).split()[0])
    await expect(customer.get_by_test_id("status")).to_have_attribute("data-state", "manual")
    await expect(widget_messages(customer, "system").last.locator(".text")).to_have_text(
        "Dana Admin from our team is now handling this conversation."
    )
    await agent.wait_for_function(  # it counts down (or has run out already)
        """(shown) => {
            const clock = document.querySelector('[data-testid="countdown-clock"]');
            return !clock || parseInt(clock.textContent, 10) < shown;
        }""",
        arg=shown,
    )
    await agent.screenshot(path=str(screenshots_dir / "manual-countdown.png"))
    await expect(agent.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "ai", timeout=(REVIEW_WINDOW_SECONDS + 10) * 1000
    )
    await expect(agent.get_by_test_id("countdown")).to_have_count(0)
    await expect(customer.get_by_test_id("status")).to_have_attribute(
        "data-state", "ai", timeout=LIVE_TIMEOUT_MS
    )
    await customer_says(customer, "Do you ship internationally?")
    await expect(widget_messages(customer, "ai")).to_have_count(3, timeout=LIVE_TIMEOUT_MS)

    assert await agent.evaluate("window.__sameDocument") is True  # never reloaded
    assert errors == []


async def _id(item: Locator) -> str:
    return str(await item.get_attribute("data-conversation-id"))
