"""A new user's first five minutes, in a real headless Chromium against the running system
(`switchboard up`: gateway, worker and Redis as separate processes): the demo page loads,
the AI answers from the knowledge base, and asking for a person queues the conversation,
which the widget shows and announces to the page."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.support.ports import free_port
from tests.support.up import Up, printed_login, require_redis_binary

REPLY_TIMEOUT_MS = 15_000


@pytest.fixture
def running_system(tmp_path: Path) -> Iterator[Up]:
    require_redis_binary()
    up = Up(tmp_path / "var", free_port())
    try:
        up.wait_healthy()
        yield up
    finally:
        assert up.stop() == 0, up.output()


def agent_view_of_conversations(up: Up, email: str, password: str) -> list[dict[str, object]]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    login = urllib.request.Request(
        f"{up.url}/api/login",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with opener.open(login, timeout=10) as response:
        assert response.status == 200
    with opener.open(f"{up.url}/api/conversations", timeout=10) as response:
        conversations: list[dict[str, object]] = json.load(response)["conversations"]
    return conversations


async def send(page: Page, text: str) -> None:
    await page.get_by_test_id("input").fill(text)
    await page.get_by_test_id("send").click()


async def test_a_customer_chats_with_the_ai_and_asks_for_a_person(
    running_system: Up, page: Page, screenshots_dir: Path
) -> None:
    up = running_system
    login = printed_login(up.output())
    assert login is not None, up.output()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.set_viewport_size({"width": 1280, "height": 800})

    await page.goto(up.url + "/")
    await expect(page.get_by_text("Northwind").first).to_be_visible()
    await expect(page.get_by_test_id("panel")).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("input")).to_be_enabled(timeout=10_000)

    await send(page, "What are your opening hours?")
    ai_messages = page.locator('[data-testid="message"][data-author="ai"]')
    await expect(ai_messages).to_have_count(1, timeout=REPLY_TIMEOUT_MS)
    answer = (await ai_messages.first.inner_text()).lower()
    assert any(day in answer for day in ("monday", "mon", "sunday", "saturday")), answer
    await page.screenshot(path=str(screenshots_dir / "demo-ai-answer.png"))

    await send(page, "I want to talk to a person")
    notice = page.locator('[data-testid="message"][data-author="system"]')
    await expect(notice.last).to_contain_text(
        "connecting you to a person", timeout=REPLY_TIMEOUT_MS, ignore_case=True
    )
    await expect(page.get_by_test_id("status")).to_contain_text("person", ignore_case=True)
    await expect(page.get_by_test_id("event-log")).to_contain_text("switchboard:handoff")
    await page.screenshot(path=str(screenshots_dir / "demo-handoff.png"))

    [conversation] = agent_view_of_conversations(up, *login)
    assert conversation["state"] == "queued"
    assert conversation["handoff_reason"] == (
        "the customer asked for a person: “I want to talk to a person”"
    )

    await page.reload()  # the visitor's token brings the history back
    await expect(page.locator('[data-testid="message"]')).to_have_count(4, timeout=10_000)
    assert errors == []
