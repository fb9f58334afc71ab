"""The composer's helpers, in real headless Chromium at 1280 x 720 and on a 768 x 1024
tablet: on an SMS conversation it counts characters and SMS as the agent types, agreeing
with `POST /api/sms/segments` on the same drafts, and names the character that forces
UCS-2; the channel and the address stay in view while writing; refusals are worded with
the action ("Could not claim: …") and shown away from the Send button; and the only admin
sees why they cannot pick "agent" for themself."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page
from tests.desk.page.seed import Customer, seed

SAM = Customer("Sam Short", "sms", "+15550107788", "Is my parcel on its way?")
ADA = Customer("Ada Assisted", "webchat", "visitor-ada", "Opening hours?", state="ai")
OTTO = Customer("Otto Optout", "sms", "+15550109999", "STOP", opted_out=True)
DRAFTS = [
    "",
    "a" * 142,
    "a" * 160,
    "a" * 161,
    "a" * 307,
    "€" * 81,
    "a" * 159 + "€",
    "ж" * 71,
    "Thanks — your parcel left today.",
    "😀" * 67,
    "Family: 👩‍👩‍👧 ok",
    "cafe\u0301 with a combining accent",
    "line one\nline two {braces} [and] ~tilde~ |pipe| ^caret^ \\slash",
    "no\u00a0break",
]
AGREEMENT = """async (drafts) => Promise.all(drafts.map(async (text) => {
  const mine = SB.smsSegments(text);
  const theirs = await SB.api("POST", "/api/sms/segments", { text });
  const pick = (o) => [o.encoding, o.characters, o.units, o.segments, o.per_segment];
  return { text, mine: pick(mine), theirs: pick(theirs) };
}))"""


async def boxes_apart(page: Page, first: str, second: str) -> bool:
    a = await page.get_by_test_id(first).last.bounding_box()
    b = await page.get_by_test_id(second).bounding_box()
    assert a is not None and b is not None
    return (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


async def refused_claim_is_worded_and_clear_of_send(page: Page, url: str, ada: int) -> None:
    await page.goto(f"{url}/queue/conversations/{ada}")
    await expect(page.get_by_test_id("conversation-customer")).to_have_text("Ada Assisted")
    await page.get_by_test_id("timeline").focus()
    await page.keyboard.press("c")
    toast = page.get_by_test_id("toast").last
    await expect(toast).to_have_text(
        "Could not claim: the AI is answering this conversation; take manual control instead."
    )
    assert await boxes_apart(page, "toast", "composer-send")


async def write_sms(page: Page, url: str, sam: int) -> None:
    await page.goto(f"{url}/queue/conversations/{sam}")
    await expect(page.get_by_test_id("composer-channel")).to_have_text("SMS")
    draft = page.get_by_test_id("composer-input")
    counter = page.get_by_test_id("sms-counter")
    warning = page.get_by_test_id("sms-warning")
    await expect(counter).to_be_hidden()
    await draft.fill("Call\u00a0us")  # pasted text often hides one
    await expect(counter).to_have_text(
        "7 characters · 1 SMS (UCS-2 because of a non-breaking space U+00A0)"
    )
    await draft.fill("a" * 142)
    await expect(counter).to_have_text("142 characters · 1 SMS")
    await expect(warning).to_be_hidden()
    await draft.fill("Your parcel left our warehouse today — tracking follows by email. " * 2)
    await expect(counter).to_have_text("132 characters · 2 SMS (UCS-2 because of “—”)")
    await expect(warning).to_have_text(
        "Because of “—”, this message is sent as UCS-2: one SMS holds at most 70 characters"
        " instead of 160."
    )
    await draft.press("End")
    await draft.type(" 😀")  # typed, so the counter follows keystrokes, not just fill()
    await expect(counter).to_have_text("134 characters · 3 SMS (UCS-2 because of “—”)")
    await expect(page.get_by_test_id("composer-target")).to_be_in_viewport()
    await expect(page.get_by_test_id("composer-target")).to_contain_text("+1 555-010-7788")
    await page.get_by_test_id("mode-note").click()
    await expect(counter).to_be_hidden()  # a note is never sent as SMS
    await page.get_by_test_id("mode-reply").click()
    await expect(counter).to_be_visible()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page's own rules
async def test_the_composer_counts_sms_and_refusals_are_worded(
    running_gateway: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_gateway
    sam, ada, otto = await seed(system.db, system.org, [SAM, ADA, OTTO])
    page = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 1280, "height": 720}
    )

    await write_sms(page, system.url, sam)
    agreement = await page.evaluate(AGREEMENT, DRAFTS)
    assert [row["mine"] for row in agreement] == [row["theirs"] for row in agreement]
    assert {row["mine"][0] for row in agreement} == {"GSM-7", "UCS-2"}
    await page.screenshot(path=str(screenshots_dir / "composer-sms.png"))

    await refused_claim_is_worded_and_clear_of_send(page, system.url, ada)
    await page.screenshot(path=str(screenshots_dir / "toast-refusal.png"))

    # An opted-out number: the reason stays in view with the channel, and Send is off.
    await page.goto(f"{system.url}/queue/conversations/{otto}")
    await page.get_by_test_id("composer-input").fill("Are you still there?")
    await expect(page.get_by_test_id("unreachable")).to_be_in_viewport()
    await expect(page.get_by_test_id("unreachable")).to_contain_text("opted out")
    await expect(page.get_by_test_id("composer-channel")).to_be_in_viewport()
    await expect(page.get_by_test_id("composer-send")).to_be_disabled()

    await page.set_viewport_size({"width": 768, "height": 1024})
    await write_sms(page, system.url, sam)
    await page.screenshot(path=str(screenshots_dir / "tablet-composer-sms.png"))
    await refused_claim_is_worded_and_clear_of_send(page, system.url, ada)

    # The only admin cannot make themself an agent, and is told why before trying.
    await page.set_viewport_size({"width": 1280, "height": 720})
    await page.goto(f"{system.url}/admin")
    role = page.get_by_test_id(f"role-{system.admin.id}")
    await expect(role).to_be_disabled()
    await expect(page.get_by_test_id("last-admin-reason")).to_contain_text(
        "You are the only active admin."
    )
    await expect(role).to_have_value("admin")
