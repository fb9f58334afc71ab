"""The admins' configuration pages in real headless Chromium against a running gateway:
Twilio numbers (add one, see the webhook URL to paste, test it — Switchboard posts a signed
test request to its own public URL — see when Twilio last reached it after a signed
message, refuse a malformed number in words, remove it), the knowledge base (the entries a
page at a time, try a question and see the answer with its confidence, upload a file, a
wrong file refused in words, delete an entry) and outgoing webhooks (an internal address
refused in words, add one and see its secret once, recent deliveries in words, send a
failed one again). Each is linked from the top bar, fits a 768 px tablet, passes axe-core
with no serious or critical violation, and is refused to an agent."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from gateway.db import Database
from gateway.models import Organization
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page
from tests.support.axe import axe_source, serious_violations, serve_axe
from tests.support.factories import make_agent
from tests.support.fake_twilio import Account, incoming_params, sign
from tests.support.servers import ServerUnavailable

NUMBER = "+15550001111"
ACCOUNT = Account("AC" + "1" * 32, "t0k3n" * 7)
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 720}


@pytest.fixture
def axe() -> str | None:
    """axe-core's source; None (the checks skipped) outside CI when it is not installed."""
    try:
        return axe_source()
    except ServerUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"{error} (required in CI)", pytrace=False)
        return None


async def fits(page: Page, testid: str) -> None:
    """Every `testid` control is fully inside the viewport's width (none cut off)."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    for box in [await found.bounding_box() for found in await page.get_by_test_id(testid).all()]:
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


class Audit:
    """axe-core's serious and critical violations, page by page (none when axe is absent)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.found: list[str] = []

    async def check(self, page: Page, where: str) -> None:
        if self.enabled:
            self.found += await serious_violations(page, where)


async def twilio_numbers(page: Page, system: RunningSystem, shots: Path, audit: Audit) -> None:
    await (
        page.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Twilio numbers")
        .click()
    )
    await page.wait_for_url(f"{system.url}/admin/twilio")
    await expect(page.get_by_test_id("numbers-table")).to_contain_text("No numbers yet.")
    await expect(page.get_by_test_id("incoming-url")).to_have_text(f"{system.url}/twilio/sms")

    await page.get_by_test_id("number-input").fill("call me maybe")
    await page.get_by_test_id("account-input").fill(ACCOUNT.sid)
    await page.get_by_test_id("token-input").fill(ACCOUNT.token)
    await page.get_by_test_id("number-submit").click()
    await expect(page.get_by_test_id("number-form-error")).to_have_text(
        "'call me maybe' is not a phone number in E.164 form (like +15551234567) or a short code."
    )
    await page.get_by_test_id("number-input").fill("+1 (555) 000-1111")
    await page.get_by_test_id("number-submit").click()
    row = page.get_by_test_id("number-row")
    await expect(row).to_have_attribute("data-number", NUMBER)
    await expect(row.get_by_test_id("number-last-webhook")).to_have_text("No message received yet")
    await expect(page.get_by_test_id("token-input")).to_have_value("")

    await row.get_by_test_id("number-test").click()
    result = row.get_by_test_id("number-test-result")
    await expect(result).to_have_attribute("data-ok", "true")
    await expect(result).to_contain_text(
        f"It works: a signed test request reached Switchboard at {system.url}/twilio/sms"
    )
    await expect(row.get_by_test_id("number-last-webhook")).to_have_text("No message received yet")

    url = f"{system.url}/twilio/sms"
    params = incoming_params(ACCOUNT, from_="+15557654321", to=NUMBER, body="Open on Sunday?")
    headers = {"X-Twilio-Signature": sign(ACCOUNT.token, url, params)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=params, headers=headers) as answer,
    ):
        assert answer.status == 200
    await page.reload()
    await expect(row.get_by_test_id("number-last-webhook")).to_have_text("Last message just now")
    await row.get_by_test_id("number-test").click()
    await expect(result).to_contain_text("It works")
    assert ACCOUNT.token not in await page.content()
    await page.screenshot(path=str(shots / "admin-twilio-numbers.png"))
    await audit.check(page, "Twilio numbers")
    await page.set_viewport_size(TABLET)
    await fits(page, "number-test")
    await fits(page, "number-remove")
    await page.screenshot(path=str(shots / "tablet-admin-twilio-numbers.png"))
    await page.set_viewport_size(DESKTOP)

    await row.get_by_test_id("number-remove").click()
    await page.get_by_test_id("remove-number-dialog").get_by_test_id("dialog-ok").click()
    await expect(row).to_have_count(0)


async def knowledge_base(page: Page, system: RunningSystem, shots: Path, audit: Audit) -> None:
    await (
        page.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Knowledge base")
        .click()
    )
    await page.wait_for_url(f"{system.url}/admin/knowledge")
    await expect(page.get_by_test_id("kb-total")).to_have_text("27 entries in all")
    await expect(page.get_by_test_id("kb-entry")).to_have_count(20)
    await page.get_by_test_id("kb-next").click()
    await expect(page.get_by_test_id("kb-page")).to_have_text("Page 2 of 2")
    await expect(page.get_by_test_id("kb-entry")).to_have_count(7)

    await page.get_by_test_id("kb-question").fill("How long does delivery take?")
    await page.get_by_test_id("kb-ask").click()
    verdict = page.get_by_test_id("kb-verdict")
    await expect(verdict).to_contain_text(
        "The AI answers from “Shipping times: how long does delivery take"
    )
    await expect(verdict).to_contain_text(" sure (it needs 45%).")
    await expect(page.get_by_test_id("kb-answer")).to_have_attribute("data-knows", "true")
    await page.get_by_test_id("kb-question").fill("What is the airspeed of a swallow?")
    await page.get_by_test_id("kb-ask").click()
    await expect(verdict).to_contain_text("The AI says it is not sure and offers a person")
    await expect(page.get_by_test_id("kb-answer-text")).to_contain_text(
        "I'm not sure about that one."
    )

    files = page.get_by_test_id("kb-files")
    await files.set_input_files([{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}])
    await page.get_by_test_id("kb-upload").click()
    status = page.get_by_test_id("kb-upload-result")
    await expect(status).to_have_text(
        "The file notes.txt is not a Markdown (.md) or CSV (.csv) file; "
        "the knowledge base reads only those."
    )
    await expect(status).to_have_attribute("data-ok", "false")
    policy = (
        b"## Pets in store\nDogs on a lead are welcome in all our shops.\n\n"
        b"## Parking\nFree parking behind every shop.\n"
    )
    await files.set_input_files(
        [{"name": "store.md", "mimeType": "text/markdown", "buffer": policy}]
    )
    await page.get_by_test_id("kb-upload").click()
    await expect(status).to_have_text("Loaded store.md: 2 entries.")
    await expect(page.get_by_test_id("kb-total")).to_have_text("29 entries in all")
    await page.get_by_test_id("kb-question").fill("Are dogs welcome in your shops?")
    await page.get_by_test_id("kb-ask").click()
    await expect(verdict).to_contain_text("The AI answers from “Pets in store”")
    await expect(page.get_by_test_id("kb-answer-text")).to_have_text(
        "Dogs on a lead are welcome in all our shops."
    )
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(shots / "admin-knowledge.png"))
    await audit.check(page, "knowledge base")

    await page.get_by_test_id("kb-next").click()
    pets = page.get_by_test_id("kb-entry").filter(has_text="Pets in store")
    await pets.get_by_test_id("kb-delete").click()
    await page.get_by_test_id("delete-entry-dialog").get_by_test_id("dialog-ok").click()
    await expect(pets).to_have_count(0)
    await expect(page.get_by_test_id("kb-total")).to_have_text("28 entries in all")


async def seed_deliveries(db: Database, org: Organization) -> None:
    async with db.transaction() as session:
        endpoint = WebhookEndpoint(
            organization_id=org.id,
            url="https://crm.example.com/switchboard",
            secret="s" * 40,
            events=["handoff", "resolved"],
            description="CRM sync",
            active=True,
        )
        session.add(endpoint)
        await session.flush()
        for event, status, attempts, error in (
            ("resolved", "failed", 5, "HTTP 503 Service Unavailable"),
            ("handoff", "retrying", 2, "The endpoint did not answer within 10 seconds."),
            ("handoff", "delivered", 1, None),
        ):
            session.add(
                WebhookDelivery(
                    organization_id=org.id,
                    endpoint_id=endpoint.id,
                    event=event,
                    delivery_id=str(uuid.uuid4()),
                    payload={},
                    status=status,
                    attempts=attempts,
                    last_error=error,
                )
            )


async def webhooks(page: Page, system: RunningSystem, shots: Path, audit: Audit) -> None:
    await seed_deliveries(system.db, system.org)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    await page.wait_for_url(f"{system.url}/admin/webhooks")
    await page.get_by_test_id("endpoint-url").fill("http://127.0.0.1:6379/")
    await page.get_by_test_id("endpoint-submit").click()
    await expect(page.get_by_test_id("endpoint-form-error")).to_contain_text(
        "Webhooks may not go to 127.0.0.1"
    )
    await page.get_by_test_id("endpoint-url").fill("https://93.184.215.14/hooks")
    await page.get_by_test_id("endpoint-event-message").uncheck()
    await page.get_by_test_id("endpoint-submit").click()
    secret = page.get_by_test_id("endpoint-secret")
    await expect(secret).to_contain_text("Signing secret for https://93.184.215.14/hooks")
    await expect(secret).to_contain_text("whsec_")
    endpoints = page.get_by_test_id("endpoint")
    await expect(endpoints).to_have_count(2)
    await expect(endpoints.nth(1)).to_contain_text("Sends: Handed to a person, Claimed, Resolved")

    crm = endpoints.nth(0)
    await expect(crm).to_contain_text("CRM sync · Sends: Handed to a person, Resolved")
    await crm.get_by_test_id("endpoint-deliveries").click()
    states = crm.get_by_test_id("delivery-state")
    await expect(states).to_have_text(
        [
            "Delivered.",
            "Not delivered yet, trying again after 2 attempts: "
            "the endpoint did not answer within 10 seconds.",
            "Not delivered: the endpoint answered HTTP 503 Service Unavailable.",
        ]
    )
    await expect(crm.get_by_test_id("delivery-resend")).to_have_count(2)  # not the retrying one
    await page.screenshot(path=str(shots / "admin-webhooks.png"))
    await audit.check(page, "webhooks")
    await page.set_viewport_size(TABLET)
    await fits(page, "delivery-resend")
    await page.screenshot(path=str(shots / "tablet-admin-webhooks.png"))
    await page.set_viewport_size(DESKTOP)

    await (
        crm.locator('[data-testid="delivery-row"][data-status="failed"]')
        .get_by_test_id("delivery-resend")
        .click()
    )
    await expect(page.get_by_test_id("toast")).to_have_text(
        "The resolved event is being sent again."
    )
    await expect(states.nth(2)).to_have_text("Waiting to be sent")


async def test_an_admin_configures_numbers_knowledge_and_webhooks(
    running_gateway: RunningSystem, browser: Browser, screenshots_dir: Path, axe: str | None
) -> None:
    system = running_gateway
    page = await agent_page(browser, system.url, system.admin.email, viewport=DESKTOP)
    audit = Audit(enabled=axe is not None)
    if axe is not None:
        await serve_axe(page.context, system.url, axe)
    await twilio_numbers(page, system, screenshots_dir, audit)
    await knowledge_base(page, system, screenshots_dir, audit)
    await webhooks(page, system, screenshots_dir, audit)
    assert audit.found == [], "\n".join(audit.found)

    agent = await make_agent(system.db, system.org, name="Lee")
    agent_view = await agent_page(browser, system.url, agent.email)
    for path in ("/admin/twilio", "/admin/knowledge", "/admin/webhooks"):
        response = await agent_view.goto(f"{system.url}{path}")
        assert response is not None and response.status == 403, path
        await expect(agent_view.get_by_role("heading")).to_have_text("This page is for admins")
    await expect(agent_view.get_by_role("link", name="Knowledge base")).to_have_count(0)
