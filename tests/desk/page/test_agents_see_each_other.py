"""Two agents on the queue page at once, in real headless Chromium: each sees the other
online, "also viewing" on the conversation they both opened, and the other's typing; when
one claims it with the keyboard shortcut, the other sees it taken at once and may no
longer reply. The help overlay lists the shortcuts. An agent who opted in to alerts gets a
desktop notification when a conversation starts waiting."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from gateway.runtime import Services
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page, log_in, queue_items
from tests.support.factories import make_agent
from tests.support.queued import queued_conversation

AT_ONCE_MS = 1_500


async def test_agents_see_presence_viewers_typing_and_claims(
    running_gateway: RunningSystem, services: Services, browser: Browser
) -> None:
    system = running_gateway
    lee = await make_agent(system.db, system.org, role="agent", name="Lee Agent")
    conversation_id = await queued_conversation(services, system.org)
    dana_page = await agent_page(browser, system.url, system.admin.email)
    lee_page = await agent_page(browser, system.url, lee.email)

    # Who is online, on both pages.
    both = ",".join(str(i) for i in sorted((system.admin.id, lee.id)))
    for page in (dana_page, lee_page):
        await expect(page.get_by_test_id("presence")).to_have_attribute("data-online", both)

    # Both open the conversation: each sees the other viewing it.
    for page in (dana_page, lee_page):
        await page.goto(f"{system.url}/queue#conversation-{conversation_id}")
        await expect(page.get_by_test_id("conversation-state")).to_have_attribute(
            "data-state", "queued"
        )
    await expect(dana_page.get_by_test_id("viewers")).to_have_attribute("data-names", "Lee Agent")
    await expect(lee_page.get_by_test_id("viewers")).to_have_attribute("data-names", "Dana Admin")

    # Lee types; Dana sees it.
    await lee_page.get_by_test_id("composer-input").press_sequentially("Hello the")
    await expect(dana_page.get_by_test_id("typing")).to_have_text(
        "Lee Agent is typing…", timeout=AT_ONCE_MS
    )

    # Dana claims with the keyboard; Lee sees it taken at once.
    await dana_page.get_by_test_id("timeline").focus()
    await dana_page.keyboard.press("c")
    await expect(dana_page.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "assigned"
    )
    await expect(lee_page.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "assigned", timeout=AT_ONCE_MS
    )
    await expect(lee_page.get_by_test_id("conversation-state")).to_contain_text("Dana Admin")
    await expect(lee_page.get_by_test_id("composer-owner")).to_contain_text(
        "Dana Admin owns this conversation"
    )
    await expect(lee_page.get_by_test_id("composer-send")).to_be_disabled()
    await expect(lee_page.get_by_test_id("action-claim")).to_have_count(0)
    await expect(lee_page.get_by_test_id("count-waiting")).to_have_text("0")
    await expect(queue_items(lee_page)).to_have_count(0)

    # The shortcuts are documented in the help overlay.
    await lee_page.get_by_test_id("timeline").focus()
    await lee_page.keyboard.press("?")
    help_overlay = lee_page.get_by_test_id("help")
    await expect(help_overlay).to_be_visible()
    for action in ("Claim", "Take manual control", "Hand back to AI", "Resolve", "Reassign"):
        await expect(help_overlay).to_contain_text(action)
    await lee_page.keyboard.press("Escape")
    await expect(help_overlay).to_have_count(0)


NOTIFICATIONS = """
window.__notifications = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notifications.push([title, options.body]); }
  close() {}
};
Object.defineProperty(document, "visibilityState", { get: () => "hidden" });
"""


async def test_opt_in_alerts_when_a_conversation_starts_waiting(
    running_gateway: RunningSystem, services: Services, browser: Browser
) -> None:
    system = running_gateway
    context = await browser.new_context()
    await context.add_init_script(NOTIFICATIONS)  # a desktop the headless browser lacks
    page = await context.new_page()
    await log_in(page, system.url, system.admin.email)
    toggle = page.get_by_test_id("notifications-toggle")
    await expect(toggle).to_have_attribute("aria-pressed", "false")

    await queued_conversation(services, system.org, visitor="before-opting-in")
    await expect(queue_items(page)).to_have_count(1)
    assert await page.evaluate("window.__notifications") == []

    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await page.reload()  # the choice is remembered
    await expect(page.get_by_test_id("notifications-toggle")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    await queued_conversation(services, system.org, visitor="after-opting-in")
    await expect(queue_items(page)).to_have_count(2)
    notifications = await page.evaluate("window.__notifications")
    assert notifications == [["A customer is waiting", "the customer asked for a person"]]
