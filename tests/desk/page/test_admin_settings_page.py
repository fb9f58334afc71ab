"""The admin page configures the product in plain words, in real headless Chromium: the
only admin sees why their role and status can't change; business hours are set in the
weekly editor with a searchable time-zone picker and a live preview of the next change;
every choice reads as words; a customer notice is reworded with a live preview, saved and
reset; the widget snippet is copied and its websites edited; the calls settings are one
click away. At 768 px the People table's buttons all fit, and the Notices and Channels
tabs fit the width."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from gateway.models import Organization
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page
from tests.support.factories import make_agent

SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z_]+\b")


async def no_raw_names(page: Page, testid: str) -> None:
    """Nothing on the panel, options included, reads as a stored name."""
    text = await page.get_by_test_id(testid).evaluate(
        "node => node.innerText + ' ' + [...node.querySelectorAll('option')]"
        ".map(option => option.textContent).join(' ')"
    )
    assert not SNAKE_CASE.findall(text), SNAKE_CASE.findall(text)


async def stored(system: RunningSystem) -> Organization:
    async with system.db.transaction() as session:
        org = await session.get(Organization, system.org.id)
        assert org is not None
        return org


async def test_an_admin_sets_hours_notices_and_the_widget_in_words(
    running_gateway: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_gateway
    for name in ("Alexandra Montgomery-Whitfield", "Bartholomew Okonkwo-Lindqvist"):
        await make_agent(system.db, system.org, name=name)
    page = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 1280, "height": 720}
    )
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto(f"{system.url}/admin#people")

    # The only admin can't demote or deactivate themself, and sees why.
    me = system.admin.id
    await expect(page.get_by_test_id(f"role-{me}")).to_be_disabled()
    await expect(page.get_by_test_id(f"active-{me}")).to_be_disabled()
    await expect(page.get_by_test_id("last-admin-reason")).to_have_text(
        "You are the only active admin. Make someone else an admin before changing this "
        "role or deactivating."
    )

    # Business hours: weekdays 09:00 to 17:00 in Tokyo, picked by searching.
    await page.get_by_test_id("tab-settings").click()
    await no_raw_names(page, "settings-form")
    await page.get_by_test_id("hours-weekly").check()
    await expect(page.get_by_test_id("hours-open-mon")).to_be_checked(checked=False)
    await page.get_by_test_id("hours-open-mon").check()
    await page.get_by_test_id("hours-copy-monday").click()
    await expect(page.get_by_test_id("hours-range-fri")).to_have_count(1)
    await page.get_by_test_id("setting-time_zone-search").fill("tokyo")
    await expect(page.get_by_test_id("setting-time_zone")).to_have_value("Asia/Tokyo")
    await expect(page.get_by_test_id("setting-time_zone-matches")).to_have_text(
        "1 time zone matches."
    )
    preview = page.get_by_test_id("hours-preview")
    await expect(preview).to_have_text(
        re.compile(r"^(Open now\. Closes|Closed now\. Opens) .+ at \d\d:00 \(in .+\)\.$")
    )
    await page.get_by_test_id("hours-add-mon").click()  # 17:00 to 23:00 overlaps nothing
    await page.get_by_label("Monday opens at").last.fill("16:00")
    await expect(preview).to_have_text("Monday: 09:00 to 17:00 and 16:00 to 23:00 overlap.")
    await page.get_by_label("Remove this opening time on Monday").last.click()
    await expect(preview).to_contain_text(" at ")
    await page.get_by_test_id("setting-outside_hours").select_option(
        label="The AI takes a message for the team"
    )
    await page.screenshot(path=str(screenshots_dir / "admin-hours.png"), full_page=True)
    await page.get_by_test_id("setting-review_window").fill("20")  # the fixture's is 4 s
    await page.get_by_test_id("settings-save").click()
    await expect(page.get_by_test_id("toast").last).to_have_text("Settings saved.")
    settings = (await stored(system)).settings
    assert settings["time_zone"] == "Asia/Tokyo"
    assert settings["outside_hours"] == "ai_takes_message"
    assert settings["business_hours"]["fri"] == [["09:00", "17:00"]]
    assert settings["business_hours"]["sat"] == []

    # A notice reworded for SMS, previewed with sample values, saved, then reset.
    await page.get_by_test_id("tab-notices").click()
    await no_raw_names(page, "notice-form")
    await page.get_by_test_id("notice-kind").select_option(label="An agent joined")
    await page.get_by_test_id("notice-channel").select_option(label="SMS")
    await expect(page.get_by_test_id("notice-text")).to_have_value("{agent} from {business} here.")
    await page.get_by_test_id("notice-text").fill("Hi, this is ")
    await page.get_by_role("button", name="Insert {agent}").click()
    await expect(page.get_by_test_id("notice-preview")).to_have_text("Hi, this is Dana Admin")
    await page.get_by_test_id("notice-text").press("End")
    await page.get_by_test_id("notice-text").type(" re {order}")
    await expect(page.get_by_test_id("notice-preview")).to_contain_text(
        "{order} is not a placeholder you can use."
    )
    await page.get_by_test_id("notice-text").fill("Hi, this is {agent} at {business}.")
    await expect(page.get_by_test_id("notice-preview")).to_have_text(
        f"Hi, this is Dana Admin at {system.org.name}."
    )
    await page.get_by_test_id("notice-save").click()
    await expect(page.get_by_test_id("notice-source")).to_have_text("Your own wording.")
    await expect(page.get_by_test_id("notice-overview")).to_contain_text("An agent joined · SMS")
    await expect(page.get_by_test_id("notice-preview")).to_have_text(
        f"Hi, this is Dana Admin at {system.org.name}."
    )
    await page.screenshot(path=str(screenshots_dir / "admin-notices.png"), full_page=True)
    templates = (await stored(system)).settings["notice_templates"]
    assert templates == {"agent_joined": {"sms": "Hi, this is {agent} at {business}."}}
    await page.get_by_test_id("notice-reset").click()
    await expect(page.get_by_test_id("notice-text")).to_have_value("{agent} from {business} here.")
    await expect(page.get_by_test_id("notice-source")).to_have_text("The default wording.")

    # The widget: copy the snippet, edit the websites; the calls settings are linked.
    await page.get_by_test_id("tab-channels").click()
    await page.get_by_test_id("widget-copy").click()
    await expect(page.get_by_test_id("widget-copied")).to_contain_text("Copied.")
    copied = await page.evaluate("navigator.clipboard.readText()")
    key = system.org.widget_key
    assert copied == f'<script src="{system.url}/widget.js" data-key="{key}" async></script>'
    origins = page.get_by_test_id("widget-origins")
    await origins.fill("https://shop.example.com\nshop.example.com/cart")
    await page.get_by_test_id("widget-save").click()
    await expect(page.get_by_test_id("widget-status")).to_contain_text(
        "“shop.example.com/cart” is not a website address"
    )
    await origins.fill("https://Shop.Example.com/\nhttp://localhost:8000")
    await page.get_by_test_id("widget-save").click()
    await expect(page.get_by_test_id("widget-status")).to_have_text(
        "Saved: 2 websites can show the widget."
    )
    assert (await stored(system)).allowed_origins == [
        "https://shop.example.com",
        "http://localhost:8000",
    ]
    calls = page.get_by_test_id("channel-settings").get_by_role("link", name="Open Calls page")
    await expect(calls).to_have_attribute("href", "/calls/settings")
    await page.screenshot(path=str(screenshots_dir / "admin-channels.png"), full_page=True)

    # A tablet: every People button fits; the hours editor stacks.
    tablet = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 768, "height": 1024}
    )
    await tablet.goto(f"{system.url}/admin#people")
    wrap = tablet.get_by_test_id("people-wrap")
    await expect(tablet.get_by_test_id(f"active-{me}")).to_be_visible()
    assert await wrap.evaluate("node => node.scrollWidth <= node.clientWidth")
    edge = await wrap.evaluate("node => node.getBoundingClientRect().right")
    for button in await tablet.get_by_test_id("people-table").get_by_role("button").all():
        box = await button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= edge
    await tablet.screenshot(path=str(screenshots_dir / "tablet-admin-people.png"))
    await tablet.get_by_test_id("tab-settings").click()
    await expect(tablet.get_by_test_id("hours-preview")).to_contain_text(" at ")
    await expect(tablet.get_by_test_id("setting-time_zone")).to_have_value("Asia/Tokyo")
    await tablet.get_by_test_id("hours-week").scroll_into_view_if_needed()
    await tablet.screenshot(path=str(screenshots_dir / "tablet-admin-hours.png"))
    # Notices and Channels on the tablet: nothing runs off the side.
    for tab, shown, text, shot in (
        ("notices", "notice-preview", "Thanks for your message", "tablet-admin-notices.png"),
        ("channels", "channel-settings", "Open Calls page", "tablet-admin-channels.png"),
    ):
        await tablet.get_by_test_id(f"tab-{tab}").click()
        await expect(tablet.get_by_test_id(shown)).to_contain_text(text)
        assert await tablet.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), f"the {tab} tab scrolls sideways at 768 px"
        await tablet.screenshot(path=str(screenshots_dir / shot), full_page=True)
