"""The agents' pages pass axe-core with no serious or critical violation, in real headless
Chromium on seeded data: the queue; an open conversation with a failed and a dropped
reply, a draft and its SMS warning (at 1280 x 720 and on a 768 x 1024 tablet), and with
its reassign and keyboard-help dialogs open; every admin tab and each channel settings
page linked from it; and the dashboard. No rule is switched off: a violation is fixed in
the page."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import Browser, Page, expect

from gateway.models import Message, utcnow
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import log_in, queue_items, timeline
from tests.desk.page.seed import Customer, seed
from tests.support.axe import axe_source, serious_violations, serve_axe
from tests.support.servers import ServerUnavailable

CUSTOMERS = [
    Customer("Sam Short", "sms", "+15550107788", "Is my parcel on its way?"),
    Customer("Renée Dupont", "email", "renee@example.test", "Where is my refund?", label="refund"),
    Customer("Ada Assisted", "webchat", "visitor-ada", "Opening hours?", state="ai"),
    Customer("Otto Optout", "sms", "+15550109999", "STOP", opted_out=True),
    *[
        Customer(
            f"Past {n}",
            ["webchat", "sms", "email"][n % 3],
            f"+1555030{n:04d}",
            "help",
            state="resolved",
            days_ago=n % 6,
            reason=n,
        )
        for n in range(9)
    ],
]


async def failed_replies(system: RunningSystem, conversation_id: int) -> None:
    """A reply that could not be delivered and an AI reply dropped for a person, so the
    conversation shows its delivery problems and what an agent can do about them."""
    async with system.db.transaction() as session:
        for author, status, code, error in (
            ("agent", "failed", "21610", "Attempt to send to unsubscribed recipient"),
            ("ai", "dropped", None, None),
        ):
            session.add(
                Message(
                    organization_id=system.org.id,
                    conversation_id=conversation_id,
                    direction="outbound",
                    author=author,
                    agent_id=system.admin.id if author == "agent" else None,
                    channel="sms",
                    text=f"A reply by the {author}",
                    delivery_status=status,
                    error_code=code,
                    error_message=error,
                    created_at=utcnow(),
                )
            )


@pytest.fixture
def axe() -> str:
    try:
        return axe_source()
    except ServerUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"{error} (required in CI)", pytrace=False)
        pytest.skip(str(error))


async def admin_tabs(page: Page) -> list[str]:
    found: list[str] = []
    tabs = page.get_by_role("tablist", name="Admin sections").get_by_role("tab")
    for index in range(await tabs.count()):
        tab = tabs.nth(index)
        name = (await tab.inner_text()).strip()
        await tab.click()
        panel = page.locator("[role=tabpanel]:not([hidden])")
        await expect(panel.locator("h2, table, form").first).to_be_visible()
        found += await serious_violations(page, f"admin, {name}")
    return found


async def channel_pages(page: Page) -> list[str]:
    """Each channel's own settings page, as linked from the admin page's Channels tab."""
    links = page.get_by_test_id("channel-page-link")
    hrefs = sorted(
        {str(await links.nth(i).get_attribute("href")) for i in range(await links.count())}
    )
    assert hrefs, "the Channels tab links no channel settings page"
    found: list[str] = []
    for href in hrefs:
        await page.goto(page.url.split("/admin")[0] + href)
        await page.wait_for_load_state("networkidle")
        await expect(page.locator("main h1")).to_be_visible()
        found += await serious_violations(page, f"channel page {href}")
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the pages' own markup
async def test_the_agents_pages_have_no_serious_accessibility_violations(
    running_gateway: RunningSystem, browser: Browser, axe: str
) -> None:
    system = running_gateway
    sam, *_ = await seed(system.db, system.org, CUSTOMERS)
    await failed_replies(system, sam)
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    await serve_axe(context, system.url, axe)
    page = await context.new_page()
    await log_in(page, system.url, system.admin.email)
    found: list[str] = []

    await expect(queue_items(page)).to_have_count(3)
    found += await serious_violations(page, "queue")

    await page.goto(f"{system.url}/queue/conversations/{sam}")
    await expect(timeline(page)).to_have_count(3)  # the question, the two replies
    await page.get_by_test_id("composer-input").fill("Your parcel left today — tracking follows.")
    await expect(page.get_by_test_id("sms-warning")).to_be_visible()
    found += await serious_violations(page, "conversation")
    await page.get_by_test_id("action-reassign").click()
    await expect(page.get_by_test_id("reassign-dialog")).to_be_visible()
    found += await serious_violations(page, "conversation, reassign dialog")
    await page.keyboard.press("Escape")
    await page.get_by_test_id("timeline").focus()
    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    found += await serious_violations(page, "conversation, keyboard help")
    await page.keyboard.press("Escape")

    await page.get_by_role("link", name="Admin").click()
    found += await admin_tabs(page)
    found += await channel_pages(page)

    await page.goto(f"{system.url}/dashboard")
    await expect(page.get_by_test_id("chart-channel").locator("rect").first).to_be_visible()
    found += await serious_violations(page, "dashboard")

    await page.set_viewport_size({"width": 768, "height": 1024})
    await page.goto(f"{system.url}/queue/conversations/{sam}")
    await expect(page.get_by_test_id("composer-input")).to_be_visible()
    found += await serious_violations(page, "conversation, tablet")

    assert found == [], "\n".join(found)
