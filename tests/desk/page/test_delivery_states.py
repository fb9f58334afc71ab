"""What an agent sees of each outgoing message's delivery, in real headless Chromium: the
state in words (sent, retrying with a countdown, opted out, a dropped AI reply, every try
failed, a mail the server refused), the provider's or mail server's words behind a
disclosure, Retry (sent again by the worker, once) and Dismiss (remembered across a
reload), on a desktop and a tablet; the "new" chip gone when the conversation is opened;
the customer told when the agent takes manual control; and the agent's closing message
credited to them."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, Locator, expect

from email_channel.refusals import translated
from gateway.delivery import not_delivered
from gateway.errors import PermanentDeliveryError
from gateway.models import Contact, ContactIdentity, Conversation, Message, utcnow
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import LIVE_TIMEOUT_MS, agent_page, queue_items, timeline
from tests.desk.page.seed import Customer, seed

SAM = Customer("Sam Rivera", "webchat", "visitor-sam", "Where is my parcel?", state="ai")


async def seed_deliveries(system: RunningSystem) -> int:
    """Sam's chat (with the AI) and an earlier SMS conversation, with messages in every
    state; returns the chat's id."""
    [chat_id] = await seed(system.db, system.org, [SAM])
    now = utcnow()
    async with system.db.transaction() as session:
        chat = await session.get(Conversation, chat_id)
        assert chat is not None
        contact = await session.get(Contact, chat.contact_id)
        assert contact is not None
        session.add(
            ContactIdentity(
                organization_id=system.org.id,
                contact_id=contact.id,
                kind="phone",
                address="+15550107777",
                opted_out_at=now - timedelta(minutes=20),
            )
        )
        sms = Conversation(
            organization_id=system.org.id,
            contact_id=contact.id,
            channel="sms",
            address_kind="phone",
            address="+15550107777",
            state="resolved",
            created_at=now - timedelta(minutes=25),
            updated_at=now - timedelta(minutes=25),
        )
        session.add(sms)
        await session.flush()

        def outbound(conversation: Conversation, minutes: int, text: str, **fields: object) -> None:
            at = now - timedelta(minutes=minutes)
            fields.setdefault("author", "agent")
            session.add(
                Message(
                    organization_id=system.org.id,
                    conversation_id=conversation.id,
                    direction="outbound",
                    agent_id=system.admin.id if fields["author"] == "agent" else None,
                    channel=conversation.channel,
                    text=text,
                    created_at=at,
                    updated_at=now,
                    **fields,
                )
            )

        outbound(
            sms,
            24,
            "Your parcel left the depot.",
            delivery_status="refused",
            error_code="opted_out",
            error_message="the customer opted out",
        )
        outbound(
            sms,
            23,
            "It arrives tomorrow.",
            delivery_status="pending",
            delivery_attempts=2,
            next_attempt_at=now + timedelta(seconds=15),
            error_detail="could not reach Twilio: ClientConnectorDNSError api.twilio.com:443",
        )
        mail = Conversation(
            organization_id=system.org.id,
            contact_id=contact.id,
            channel="email",
            address_kind="email",
            address="sam@customer.example",
            state="resolved",
            created_at=now - timedelta(minutes=22),
            updated_at=now - timedelta(minutes=22),
        )
        session.add(mail)
        await session.flush()
        refused = translated(  # what the email channel stores when the server says no
            PermanentDeliveryError(
                "the mail server answered 550 5.1.1 <sam@customer.example>: Recipient "
                "address rejected",
                provider_code="550",
            )
        )
        outbound(
            mail,
            22,
            "Your refund is approved.",
            delivery_status="failed",
            error_code=refused.provider_code,
            error_message=refused.message,
            error_detail=refused.detail,
        )
        outbound(chat, 6, "Let me check that for you.", author="ai", delivery_status="delivered")
        outbound(
            chat,
            5,
            "It is on its way.",
            author="ai",
            delivery_status="dropped",
            error_message="ownership changed before the AI reply was sent",
        )
        outbound(
            chat,
            4,
            "I'll look it up now.",
            delivery_status="failed",
            error_code="gave_up",
            error_detail="could not reach the chat server: ConnectionResetError",
        )
        chat.needs_attention = True
        chat.attention_reason = not_delivered("every try failed")
        session.add(
            Message(
                organization_id=system.org.id,
                conversation_id=chat.id,
                direction="inbound",
                author="customer",
                channel="webchat",
                text="Are you there?",
                provider_message_id="sam-2",
                delivery_status="received",
                routed_at=now,
                created_at=now - timedelta(minutes=1),
            )
        )
    return chat_id


async def test_delivery_states_retry_dismiss_and_notices(
    running_system: RunningSystem, browser: Browser, screenshots_dir: Path
) -> None:
    system = running_system
    await seed_deliveries(system)
    page = await agent_page(
        browser, system.url, system.admin.email, viewport={"width": 1280, "height": 720}
    )
    await page.get_by_test_id("view-ai").click()
    item = queue_items(page).filter(has_text="Sam Rivera")
    await expect(item.get_by_test_id("unread")).to_have_text("new")
    await item.locator("a").click()
    await expect(item.get_by_test_id("unread")).to_have_count(0)  # read, with no reload

    def state_of(text: str) -> Locator:
        return timeline(page).filter(has_text=text).get_by_test_id("delivery-status")

    await expect(state_of("left the depot")).to_have_text("Not delivered: the number has opted out")
    await expect(state_of("arrives tomorrow")).to_have_text(
        re.compile(r"^Retrying \(2 of 5\), next try in 1?\d s$")
    )
    await expect(state_of("refund is approved")).to_have_text(
        "Not sent: the address does not exist"
    )
    bounced = timeline(page).filter(has_text="refund is approved").get_by_test_id("delivery-detail")
    await bounced.locator("summary").click()
    await expect(bounced.locator("summary")).to_have_text("What the mail server said")
    await expect(bounced.locator("p")).to_have_text(
        "550 5.1.1 <sam@customer.example>: Recipient address rejected"
    )
    await expect(state_of("Let me check")).to_have_text("Delivered")
    await expect(state_of("on its way")).to_have_text("Not sent: a person took over first")
    failed = timeline(page).filter(has_text="look it up now")
    await expect(state_of("look it up now")).to_have_text("Not sent: all 6 tries failed")
    await expect(page.get_by_test_id("attention-banner")).to_have_text(
        "A message was not delivered: every try failed."
    )
    await expect(timeline(page).filter(has_text="on its way").get_by_role("button")).to_have_count(
        0
    )
    detail = failed.get_by_test_id("delivery-detail")
    await expect(detail.locator("p")).to_be_hidden()
    await detail.locator("summary").click()
    await expect(detail.locator("summary")).to_have_text("What the provider said")
    await expect(detail.locator("p")).to_have_text(
        "could not reach the chat server: ConnectionResetError"
    )
    await page.screenshot(path=str(screenshots_dir / "delivery-states.png"))
    await page.set_viewport_size({"width": 768, "height": 1024})
    await expect(failed.get_by_test_id("delivery-retry")).to_be_visible()
    await page.screenshot(path=str(screenshots_dir / "tablet-delivery-states.png"))
    await page.set_viewport_size({"width": 1280, "height": 720})

    # Retry: the worker sends it on the same path, and the banner goes.
    await failed.get_by_test_id("delivery-retry").click()
    await expect(state_of("look it up now")).to_have_text(
        re.compile("^(Sent|Delivered)$"), timeout=LIVE_TIMEOUT_MS
    )
    await expect(bounced).to_have_attribute("open", "")  # the refreshes left it open
    await expect(failed.get_by_test_id("delivery-retry")).to_have_count(0)
    await expect(page.get_by_test_id("attention-banner")).to_have_count(0)

    # Dismiss is remembered.
    opted_out = timeline(page).filter(has_text="left the depot")
    await opted_out.get_by_test_id("delivery-dismiss").click()
    await expect(opted_out.get_by_test_id("delivery-dismiss")).to_have_count(0)
    await page.reload()
    await expect(state_of("left the depot")).to_have_attribute("data-tone", "quiet")
    await expect(opted_out.get_by_test_id("delivery-dismiss")).to_have_count(0)

    # Manual control tells the customer; the agent's closing words are theirs.
    await page.get_by_test_id("action-manual").click()
    notice = timeline(page).filter(has_text="from our team is now handling")
    await expect(notice).to_have_attribute("data-author", "system")
    await expect(notice.locator(".bubble")).to_have_text(
        "Dana Admin from our team is now handling this conversation."
    )
    await page.get_by_test_id("action-resolve").click()
    await page.get_by_test_id("resolve-dialog").get_by_role("textbox").fill("Thanks, Sam!")
    await page.get_by_test_id("dialog-ok").click()
    closing = timeline(page).filter(has_text="Thanks, Sam!")
    await expect(closing).to_have_attribute("data-author", "agent")
    await expect(closing.locator(".author")).to_have_text("You")
