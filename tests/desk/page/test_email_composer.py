"""The composer's Cc line for an email reply, in real headless Chromium, with a worker
sending through a real SMTP peer (aiosmtpd): it starts with the conversation's Cc, a
malformed address is shown as such and blocks sending, the edited list is what the mail
carries; a web chat conversation has no Cc line."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.desk.page.conftest import RunningSystem
from tests.desk.page.email_pages import open_mail
from tests.desk.page.pages import timeline
from tests.email.helpers import email_services
from tests.support.factories import chat_message, intake_for
from tests.support.smtp_sink import SmtpSink
from tests.support.worker import running_worker


def customer_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Carol Customer <carol@customer.example>"
    message["To"] = "support@shop.example"
    message["Cc"] = "bob@customer.example"
    message["Subject"] = "Order 1234"
    message["Message-ID"] = "<composer-1@customer.example>"
    message.set_content("The parcel has still not arrived.")
    return bytes(message)


async def test_the_agent_edits_the_cc_and_the_mail_carries_it(
    running_gateway: RunningSystem, browser: Browser, tmp_path: Path
) -> None:
    system = running_gateway
    page = (await open_mail(system, browser, tmp_path, customer_mail())).page
    await expect(timeline(page)).to_have_count(1)

    cc = page.get_by_test_id("composer-cc")
    error = page.get_by_test_id("composer-cc-error")
    send = page.get_by_test_id("composer-send")
    await expect(cc).to_have_value("bob@customer.example")
    await page.get_by_test_id("composer-input").fill("A new parcel left today.")
    await cc.fill("bob@customer.example, dan at partner")
    await expect(error).to_have_text("“dan” is not an email address like name@example.com.")
    await expect(send).to_be_disabled()
    await cc.fill("bob@customer.example, dan@partner.example")
    await expect(error).to_be_hidden()
    await expect(send).to_be_enabled()

    with (
        SmtpSink() as sink,
        running_worker(system.db.url, system.redis_url, SWITCHBOARD_SMTP_URL=sink.url),
    ):
        await send.click()
        (sent,) = await sink.wait_for(1, timeout=30)
    assert sent.message["Cc"] == "bob@customer.example, dan@partner.example"
    assert sent.recipients == (
        "carol@customer.example",
        "bob@customer.example",
        "dan@partner.example",
    )
    assert sent.text.startswith("A new parcel left today.")
    await expect(page.get_by_test_id("composer-input")).to_have_value("")

    async with email_services(system.db, system.redis_url, tmp_path) as services:
        chat = await intake_for(services).receive(chat_message(system.org, "Hello"))
    await page.goto(f"{system.url}/queue/conversations/{chat.conversation_id}")  # no Cc there
    await expect(page.get_by_test_id("composer-channel")).to_have_text("Web chat")
    await expect(page.get_by_test_id("composer-cc-row")).to_be_hidden()
