"""A reply whose answer never reached the page (the connection dropped after the gateway
had sent it) is sent once when the agent clicks Send again: the composer sends the same
Idempotency-Key with each try of one reply, in real headless Chromium."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Route, expect
from sqlalchemy import select

from gateway.models import Message
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page
from tests.desk.page.seed import Customer, seed

KIM = Customer("Kim Keen", "webchat", "visitor-kim", "Where is my refund?")
TEXT = "Your refund left today."


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page's own rules
async def test_send_clicked_again_after_a_lost_answer_sends_the_reply_once(
    running_gateway: RunningSystem, browser: Browser
) -> None:
    system = running_gateway
    [kim] = await seed(system.db, system.org, [KIM])
    page = await agent_page(browser, system.url, system.admin.email)
    keys: list[str | None] = []

    async def lose_the_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            await route.fetch()  # the gateway sends the reply...
            await route.abort("connectionreset")  # ...and its answer is lost on the way
        else:
            await route.continue_()

    await page.route(f"**/api/conversations/{kim}/reply", lose_the_first_answer)
    await page.goto(f"{system.url}/queue/conversations/{kim}")
    await page.get_by_test_id("composer-input").fill(TEXT)
    await page.get_by_test_id("composer-send").click()
    await expect(page.get_by_test_id("toast").last).to_contain_text("Could not send the reply")
    await expect(page.get_by_test_id("composer-input")).to_have_value(TEXT)
    await page.get_by_test_id("composer-send").click()
    await expect(page.get_by_test_id("composer-input")).to_have_value("")

    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    async with system.db.read() as session:
        sent = list(
            await session.scalars(
                select(Message.text).where(
                    Message.conversation_id == kim, Message.author == "agent"
                )
            )
        )
    assert sent == [TEXT]
