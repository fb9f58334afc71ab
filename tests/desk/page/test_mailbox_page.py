"""The mailbox page for admins, in real headless Chromium against a real Dovecot: the admin
page links to it; an admin tests IMAP settings before saving (a wrong password is said to
be refused, the right one connects), adds the mailbox checking DKIM itself, sees how its
mail arrives without the password ever coming back, tests the stored settings, changes its
name in place (the saved password kept and used by the form's test), turns the DKIM check
off, and removes it. An agent who is not an admin is refused the page and the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.factories import make_agent

ADDRESS = "support@shop.example"
PASSWORD = "imap-pass-123"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from running_dovecot(ADDRESS, PASSWORD)


async def test_an_admin_adds_tests_and_removes_an_imap_mailbox(
    running_gateway: RunningSystem, browser: Browser, dovecot: Dovecot
) -> None:
    system = running_gateway
    page = await agent_page(browser, system.url, system.admin.email)
    await page.goto(f"{system.url}/admin")
    await page.get_by_test_id("channel-pages").get_by_role("link", name="Mailboxes").click()
    await page.wait_for_url(f"{system.url}/admin/mailboxes")
    table = page.get_by_test_id("mailboxes-table")
    await expect(table).to_contain_text("No mailboxes yet.")

    await page.get_by_test_id("mailbox-address").fill(ADDRESS)
    await page.get_by_test_id("mailbox-name").fill("Shop Support")
    await page.get_by_test_id("mailbox-smtp").uncheck()
    await expect(page.get_by_test_id("imap-fields")).to_be_hidden()
    await page.get_by_test_id("mailbox-imap").check()
    await page.get_by_test_id("imap-host").fill("127.0.0.1")
    await page.get_by_test_id("imap-port").fill(str(dovecot.port))
    await page.get_by_test_id("imap-tls").uncheck()
    await page.get_by_test_id("imap-password").fill("not-the-password")
    result = page.get_by_test_id("mailbox-form-result")
    await page.get_by_test_id("mailbox-form-test").click()
    await expect(result).to_contain_text("refused the user name or password")
    await expect(result).to_have_attribute("data-ok", "false")
    await page.get_by_test_id("imap-password").fill(PASSWORD)
    await page.get_by_test_id("mailbox-form-test").click()
    await expect(result).to_contain_text(
        "Connected to 127.0.0.1, logged in as support@shop.example"
    )
    await expect(result).to_have_attribute("data-ok", "true")

    await page.get_by_test_id("mailbox-verify-dkim").check()
    await page.get_by_test_id("mailbox-submit").click()
    row = page.get_by_test_id("mailbox-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Shop Support")
    await expect(row).to_contain_text("a DKIM signature of the agent's own domain")
    await expect(row).to_contain_text(
        f"IMAP: {ADDRESS} at 127.0.0.1, port {dovecot.port} without TLS, folder INBOX "
        "(password saved)"
    )
    await expect(row).not_to_contain_text("Switchboard's own SMTP server")
    await expect(page.get_by_test_id("imap-password")).to_have_value("")
    await page.reload()
    await expect(row).to_have_count(1)
    assert PASSWORD not in await page.content()

    await row.get_by_test_id("mailbox-test").click()
    await expect(row.get_by_test_id("mailbox-test-result")).to_contain_text(
        "Switchboard can read this mailbox."
    )

    await row.get_by_test_id("mailbox-edit").click()
    await expect(page.locator("#mailbox-new-heading")).to_have_text(f"Change {ADDRESS}")
    await expect(page.get_by_test_id("mailbox-address")).to_have_value(ADDRESS)
    await expect(page.get_by_test_id("imap-port")).to_have_value(str(dovecot.port))
    await expect(page.get_by_test_id("imap-password")).to_have_value("")
    await page.get_by_test_id("mailbox-form-test").click()  # the saved password is used
    await expect(result).to_contain_text("Connected to 127.0.0.1")
    await page.get_by_test_id("mailbox-name").fill("Shop Help")
    await page.get_by_test_id("mailbox-submit").click()
    await expect(row).to_contain_text("Shop Help")
    await expect(row).to_contain_text("(password saved)")
    await expect(page.locator("#mailbox-new-heading")).to_have_text("Add a mailbox")

    await row.get_by_test_id("mailbox-dkim-toggle").click()
    await expect(row).to_contain_text("not set: agents' own mail is treated as a customer's")
    await expect(row.get_by_test_id("mailbox-dkim-toggle")).to_have_text("Check DKIM")

    await row.get_by_test_id("mailbox-remove").click()
    await page.get_by_test_id("remove-mailbox-dialog").get_by_test_id("dialog-ok").click()
    await expect(row).to_have_count(0)
    await expect(table).to_contain_text("No mailboxes yet.")


async def test_a_bad_address_is_refused_in_plain_words_and_agents_are_kept_out(
    running_gateway: RunningSystem, browser: Browser
) -> None:
    system = running_gateway
    page = await agent_page(browser, system.url, system.admin.email)
    await page.goto(f"{system.url}/admin/mailboxes")
    await page.get_by_test_id("mailbox-address").fill("support@shop")
    await page.get_by_test_id("mailbox-submit").click()
    await expect(page.get_by_test_id("mailbox-form-error")).to_contain_text(
        "is not a plain email address"
    )
    await expect(page.get_by_test_id("mailbox-row")).to_have_count(0)

    agent = await make_agent(system.db, system.org, name="Lee")
    agent_view = await agent_page(browser, system.url, agent.email)
    response = await agent_view.goto(f"{system.url}/admin/mailboxes")
    assert response is not None and response.status == 403
    await expect(agent_view.get_by_role("heading")).to_have_text("This page is for admins")
    listed = await agent_view.request.get(f"{system.url}/api/email/mailboxes")
    assert listed.status == 403
