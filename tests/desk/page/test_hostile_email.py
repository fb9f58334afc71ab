"""Hostile customer HTML on the queue page, in real headless Chromium: an email whose HTML
carries scripts, event handlers, `javascript:` links, CSS tricks and remote tracking
images is stored straight in the database (there is no email channel to receive it yet)
and opened by an agent. The readable part of it is shown, nothing in it runs (no flag set,
no dialog), and no request ever leaves for the tracking host — even when the raw HTML,
unsanitized, is put in the page's email frame. Plain-text customer messages that look like
markup are shown as text."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from playwright.async_api import Browser, Request, Route, expect

from gateway.models import Contact, ContactIdentity, Conversation, Message, utcnow
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page, queue_items, timeline

TRACKER = "tracker.example"
HOSTILE_HTML = f"""
<html><head>
<base href="http://{TRACKER}/">
<meta http-equiv="refresh" content="0;url=http://{TRACKER}/refresh">
<link rel="stylesheet" href="http://{TRACKER}/sheet.css">
<style>@import url(http://{TRACKER}/import.css);
body {{ background: url(http://{TRACKER}/bg.png) }}</style>
<script>window.__pwned = "head script"; parent.__pwned = "head script"; alert("head")</script>
</head>
<body onload="parent.__pwned = 'body onload'">
<p>Dear support, my parcel never arrived.</p>
<img src="http://{TRACKER}/pixel.gif?id=42" width="1" height="1" alt="">
<img src="x" onerror="parent.__pwned = 'img onerror'; alert('onerror')">
<img srcset="http://{TRACKER}/srcset.png 2x" alt="srcset">
<a href="javascript:parent.__pwned='link';alert('link')">track my order</a>
<a href="https://shop.example/orders/42">order 42</a>
<div style="position:fixed;inset:0;background:url(http://{TRACKER}/overlay.png)">overlay</div>
<svg onload="parent.__pwned='svg'"><script>parent.__pwned='svg script'</script></svg>
<iframe src="http://{TRACKER}/frame.html"></iframe>
<object data="http://{TRACKER}/object.swf"></object>
<video poster="http://{TRACKER}/poster.png" src="http://{TRACKER}/video.mp4"></video>
<table background="http://{TRACKER}/table.png"><tr><td>cell</td></tr></table>
<form action="http://{TRACKER}/steal"><input name="card"><button>Pay</button></form>
<math><mtext><table><mglyph><style><img src=x onerror="parent.__pwned='mxss'">
</style></mglyph></table></mtext></math>
<p>Thanks, Mallory</p>
</body></html>
"""
MARKUP_AS_TEXT = "<b>not bold</b> <img src=x onerror=alert('chat')>"


async def hostile_email_conversation(system: RunningSystem) -> int:
    now = utcnow()
    async with system.db.transaction() as session:
        contact = Contact(organization_id=system.org.id, name="Mallory Mailer")
        session.add(contact)
        await session.flush()
        session.add(
            ContactIdentity(
                organization_id=system.org.id,
                contact_id=contact.id,
                kind="email",
                address="mallory@example.test",
            )
        )
        conversation = Conversation(
            organization_id=system.org.id,
            contact_id=contact.id,
            channel="email",
            thread_key="<hostile@example.test>",
            address_kind="email",
            address="mallory@example.test",
            state="queued",
            handoff_reason="the customer asked for a person",
            waiting_since=now,
            last_customer_at=now,
        )
        session.add(conversation)
        await session.flush()
        for offset, (text, html) in enumerate(
            [("Dear support, my parcel never arrived.", HOSTILE_HTML), (MARKUP_AS_TEXT, None)]
        ):
            session.add(
                Message(
                    organization_id=system.org.id,
                    conversation_id=conversation.id,
                    direction="inbound",
                    author="customer",
                    channel="email",
                    text=text,
                    html=html,
                    provider_message_id=f"<hostile-{offset}@example.test>",
                    delivery_status="received",
                    routed_at=now,
                    created_at=now + timedelta(seconds=offset),
                )
            )
        return conversation.id


def is_outside(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1"


async def test_hostile_email_html_never_runs_or_loads_anything(
    running_gateway: RunningSystem, browser: Browser
) -> None:
    system = running_gateway
    conversation_id = await hostile_email_conversation(system)
    page = await agent_page(browser, system.url, system.admin.email)
    context = page.context
    outside: list[str] = []  # requests that went for the network: none may
    refused: list[str] = []  # what the page's policy stopped, as the browser reports it
    dialogs: list[str] = []

    async def refuse_outside(route: Route) -> None:
        outside.append(route.request.url)
        await route.abort()

    def failed(request: Request) -> None:
        if is_outside(request.url) and request.failure != "csp":  # "csp": never left
            outside.append(request.url)

    await context.route(is_outside, refuse_outside)
    context.on("requestfinished", lambda r: outside.append(r.url) if is_outside(r.url) else None)
    context.on("requestfailed", failed)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)

    await expect(queue_items(page)).to_have_count(1)
    await queue_items(page).first.get_by_role("link").click()
    await expect(page.get_by_test_id("conversation-customer")).to_have_text("Mallory Mailer")

    # The readable part is shown, inside a sandboxed frame that may not run scripts.
    frame_element = page.get_by_test_id("email-frame")
    await expect(frame_element).to_have_count(1)
    sandbox = await frame_element.get_attribute("sandbox")
    assert sandbox is not None and "allow-scripts" not in sandbox
    assert "allow-same-origin" not in sandbox
    email = page.frame_locator('[data-testid="email-frame"]')
    await expect(email.get_by_text("Dear support, my parcel never arrived.")).to_be_visible()
    await expect(email.get_by_text("Thanks, Mallory")).to_be_visible()
    await expect(email.get_by_role("link", name="order 42")).to_have_attribute(
        "href", "https://shop.example/orders/42"
    )
    link = email.get_by_text("track my order")
    await expect(link).to_be_visible()
    assert not (await link.get_attribute("href") or "").lower().startswith("javascript")
    body = email.locator("body")
    for dangerous in (
        "script, iframe, object, form, style, link, meta, base",
        "[onerror], [onload], [style], [srcset], [background]",
    ):
        await expect(body.locator(dangerous)).to_have_count(0)
    await expect(page.get_by_test_id("message").first).to_contain_text("remote image")

    # Markup in a plain-text message is text, not HTML.
    await expect(timeline(page).last).to_contain_text(MARKUP_AS_TEXT)
    await expect(page.locator(".bubble b, .bubble img")).to_have_count(0)

    # Clicking the javascript: link does nothing either.
    await link.click()
    await page.wait_for_timeout(1_000)  # time for anything delayed to happen
    assert await page.evaluate("window.__pwned") is None
    frame = next(f for f in page.frames if f.url == "about:srcdoc")
    assert await frame.evaluate("window.__pwned === undefined")
    assert dialogs == []
    assert outside == []
    assert refused == []  # the sanitized copy did not even try
    assert f"/queue/conversations/{conversation_id}" in page.url

    # The second wall on its own: the raw, unsanitized HTML in the page's email frame
    # (sandboxed, under the page's Content-Security-Policy) still runs and loads nothing.
    await page.evaluate(
        "html => document.body.appendChild(SB.emailFrame(html, 'raw')).id = 'raw'", HOSTILE_HTML
    )
    raw = page.frame_locator("#raw")
    await expect(raw.get_by_text("Dear support, my parcel never arrived.")).to_be_visible()
    await raw.get_by_text("track my order").click()
    await page.wait_for_timeout(1_500)
    assert await page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert outside == []
    assert any(TRACKER in text for text in refused)  # the raw HTML tried, and was stopped
