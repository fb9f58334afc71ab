"""An email conversation on the queue page, in real headless Chromium: the mail arrives
through the email channel's intake; the agent sees its subject, sender and Cc, the new
text without the quoted history, its attachment, and the whole mail (sanitized HTML in the
sandboxed frame) behind "Show quoted"; an auto-reply shows why it was not answered."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.desk.page.conftest import RunningSystem
from tests.desk.page.email_pages import deliver, open_mail
from tests.desk.page.pages import timeline


def customer_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Carol Customer <carol@customer.example>"
    message["To"] = "support@shop.example"
    message["Cc"] = "bob@customer.example"
    message["Subject"] = "Re: Your order 1234"
    message["Message-ID"] = "<view-1@customer.example>"
    quote = "> Your order ships tomorrow.\n> Kind regards, Shop"
    message.set_content(
        f"The parcel has still not arrived.\n\nOn Mon, Jan 8, 2024, Shop wrote:\n{quote}\n"
    )
    message.add_alternative(
        "<p>The parcel has still not arrived.</p><blockquote>Your order ships "
        "tomorrow.</blockquote>",
        subtype="html",
    )
    message.add_attachment(
        b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="receipt.pdf"
    )
    return bytes(message)


def follow_up_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Carol Customer <carol@customer.example>"
    message["To"] = "support@shop.example"
    message["Subject"] = "Re: Your order 1234"
    message["Message-ID"] = "<view-2@customer.example>"
    message["In-Reply-To"] = "<view-1@customer.example>"
    message.set_content("Any news?")
    return bytes(message)


async def test_an_email_shows_its_headers_new_text_attachment_and_quote(
    running_gateway: RunningSystem, browser: Browser, tmp_path: Path
) -> None:
    system = running_gateway
    opened = await open_mail(system, browser, tmp_path, customer_mail())
    page = opened.page

    message = timeline(page).first
    head = message.get_by_test_id("email-head")
    await expect(head).to_contain_text("Re: Your order 1234")
    await expect(head).to_contain_text("carol@customer.example")
    await expect(head).to_contain_text("bob@customer.example")
    await expect(message.get_by_test_id("email-text")).to_have_text(
        "The parcel has still not arrived."
    )
    await expect(message.get_by_test_id("email-attachments")).to_contain_text("receipt.pdf")
    await expect(message.get_by_test_id("email-frame")).to_have_count(0)

    await message.get_by_test_id("show-quoted").click()
    frame = message.get_by_test_id("email-frame")
    await expect(frame).to_have_count(1)
    sandbox = await frame.get_attribute("sandbox")
    assert sandbox is not None and "allow-scripts" not in sandbox
    email = page.frame_locator('[data-testid="email-frame"]')
    await expect(email.get_by_text("Your order ships tomorrow.")).to_be_visible()

    # A new mail in the thread re-renders the timeline live; what the agent opened stays open.
    await deliver(system, tmp_path, opened.mailbox, follow_up_mail())
    await expect(timeline(page)).to_have_count(2)
    await expect(message.get_by_test_id("show-quoted")).to_have_text("Hide quoted")
    await expect(email.get_by_text("Your order ships tomorrow.")).to_be_visible()

    await message.get_by_test_id("show-quoted").click()
    await expect(frame).to_be_hidden()


async def test_an_auto_reply_says_why_it_was_not_answered(
    running_gateway: RunningSystem, browser: Browser, tmp_path: Path
) -> None:
    auto = EmailMessage()
    auto["From"] = "carol@customer.example"
    auto["To"] = "support@shop.example"
    auto["Subject"] = "Out of office"
    auto["Auto-Submitted"] = "auto-replied"
    auto.set_content("I am away until Monday.")
    page = (await open_mail(running_gateway, browser, tmp_path, bytes(auto))).page
    flag = timeline(page).first.get_by_test_id("email-flag")
    await expect(flag).to_contain_text("Not answered automatically: an out-of-office reply")
