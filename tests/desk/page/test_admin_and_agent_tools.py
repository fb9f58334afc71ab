"""The admin's pages and the agent's tools, in real headless Chromium: an admin adds a
person, a team and a canned response and changes a setting; the dashboard draws its charts
from the handoff history; an agent inserts the canned response with its shortcut, writes
an internal note, sets a label and reassigns the conversation; and a password change
takes effect at the next login."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect
from sqlalchemy import select

from gateway.models import Agent, Organization
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page, log_in, queue_items, timeline
from tests.desk.page.seed import Customer, seed
from tests.support.factories import PASSWORD

HISTORY = [
    Customer(
        f"Past {n}",
        ["webchat", "sms", "whatsapp", "email"][n % 4],
        f"+1555020{n:04d}",
        "help",
        state="resolved",
        days_ago=n % 12,
        minutes_to_claim=2 + n % 5,
        minutes_to_handle=8 + n % 9,
        reason=n,
    )
    for n in range(36)
]
WAITING = Customer("Wanda Waiting", "webchat", "visitor-wanda", "Can I change my order?")


async def test_an_admin_sets_up_and_an_agent_uses_the_tools(
    running_gateway: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_gateway
    await seed(system.db, system.org, [*HISTORY, WAITING])
    page = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 1280, "height": 720}
    )

    # People: add an agent.
    await page.get_by_role("link", name="Admin").click()
    await page.get_by_test_id("new-agent-name").fill("Lee Agent")
    await page.get_by_test_id("new-agent-email").fill("lee@example.test")
    await page.get_by_test_id("new-agent-password").fill("a long enough password")
    await page.get_by_test_id("new-agent-submit").click()
    people = page.get_by_test_id("people-table")
    await expect(people).to_contain_text("Lee Agent")
    await expect(people).to_contain_text("lee@example.test")
    await page.screenshot(path=str(screenshots_dir / "admin.png"))

    # Teams and canned responses.
    await page.get_by_test_id("tab-teams").click()
    await page.get_by_test_id("new-team-name").fill("Billing")
    await page.get_by_test_id("new-team-submit").click()
    await expect(page.get_by_test_id("teams-table")).to_contain_text("Billing")
    await page.get_by_test_id("tab-canned").click()
    await page.get_by_test_id("new-canned").click()
    dialog = page.get_by_test_id("canned-dialog")
    await dialog.get_by_label("Shortcut").fill("thanks")
    await dialog.get_by_label("Title").fill("Thank you")
    await dialog.get_by_label("Text").fill("Thanks for your patience!")
    await page.get_by_test_id("dialog-ok").click()
    await expect(page.get_by_test_id("canned-table")).to_contain_text("/thanks")

    # Settings: the review window, in minutes.
    await page.get_by_test_id("tab-settings").click()
    await page.get_by_test_id("setting-review_window").fill("20")
    await page.get_by_test_id("settings-save").click()
    await expect(page.get_by_test_id("toast").last).to_have_text("Settings saved.")
    async with system.db.transaction() as session:
        org = await session.get(Organization, system.org.id)
        assert org is not None and org.settings["review_window_seconds"] == 20 * 60

    # The dashboard, drawn from the history.
    await page.get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_test_id("stat-handoffs")).to_have_text("37")
    await expect(page.get_by_test_id("stat-claim")).to_have_text("4 min")
    await expect(page.get_by_test_id("stat-ai-share")).to_have_text("0%")
    bars = page.get_by_test_id("chart-channel").locator("rect")
    assert await bars.count() >= 12
    # The legend says reasons in words, never the policy's rule ids.
    await expect(page.get_by_test_id("chart-reason")).to_contain_text(
        "The customer asked for a person"
    )
    await expect(page.get_by_test_id("chart-reason")).not_to_contain_text("_")
    await page.screenshot(path=str(screenshots_dir / "dashboard.png"), full_page=True)

    # The agent's tools on a waiting conversation.
    await page.get_by_role("link", name="Queue").click()
    await queue_items(page).first.get_by_role("link").click()
    await expect(page.get_by_test_id("conversation-customer")).to_have_text("Wanda Waiting")
    composer = page.get_by_test_id("composer-input")
    await composer.fill("/thanks")
    await composer.press("Tab")
    await expect(composer).to_have_value("Thanks for your patience!")
    await composer.press("Control+Enter")
    await expect(timeline(page).filter(has_text="Thanks for your patience!")).to_have_count(1)
    await expect(page.get_by_test_id("conversation-state")).to_have_attribute(
        "data-state", "assigned"
    )  # replying to a waiting conversation claims it

    await page.get_by_test_id("timeline").focus()
    await page.keyboard.press("n")
    await expect(composer).to_be_focused()
    await composer.fill("Customer is a regular; offer free shipping.")
    await composer.press("Control+Enter")
    await expect(timeline(page, "note")).to_contain_text(["offer free shipping"])

    await page.get_by_test_id("action-label").click()
    await page.get_by_test_id("label-dialog").get_by_role("textbox").fill("vip")
    await page.get_by_test_id("dialog-ok").click()
    await expect(page.get_by_test_id("conversation-label")).to_have_text("vip")

    await page.get_by_test_id("action-reassign").click()
    await (
        page.get_by_test_id("reassign-dialog")
        .get_by_label("Agent")
        .select_option(label="Lee Agent")
    )
    await page.get_by_test_id("dialog-ok").click()
    await expect(page.get_by_test_id("conversation-state")).to_have_text("Assigned · Lee Agent")

    # A new password works at the next login, the old one no longer does.
    await page.get_by_test_id("user-menu").click()
    await page.get_by_role("menuitem", name="Change password…").click()
    dialog = page.get_by_test_id("password-dialog")
    await dialog.get_by_label("Current password").fill(PASSWORD)
    await dialog.locator("input[name=new_password]").fill("a brand new passphrase")
    await dialog.locator("input[name=repeat]").fill("a brand new passphrase")
    await page.get_by_test_id("dialog-ok").click()
    await expect(page.get_by_test_id("toast").last).to_have_text("Your password was changed.")
    await page.get_by_test_id("user-menu").click()
    await page.get_by_test_id("logout").click()
    await page.wait_for_url(f"{system.url}/login")
    await page.get_by_test_id("login-email").fill(system.admin.email)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-error")).to_have_text("Wrong email or password.")
    await log_in(page, system.url, system.admin.email, "a brand new passphrase")
    async with system.db.transaction() as session:
        lee = await session.scalar(select(Agent).where(Agent.email == "lee@example.test"))
        assert lee is not None and lee.role == "agent"
