"""After signing in, the browser goes back to the page that asked for the login, and only
ever to a path of the gateway. The URL parser drops tabs and newlines and reads `\\` as `/`,
so "/<tab>/evil.invalid/x" would become "//evil.invalid/x", another host: both the gateway
(which drops such a `next`) and login.js (which parses, then compares origins) refuse it.
Checked in headless Chromium against a running gateway."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from playwright.async_api import Browser, Page

from tests.desk.page.conftest import RunningSystem
from tests.desk.page.test_page_routes import HOSTILE_NEXT
from tests.support.factories import PASSWORD


async def sign_in(page: Page, email: str) -> None:
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    # Where the browser goes is the question, not how long the next page takes to load
    # its scripts (the default waits for its load event: 30 s on a very busy machine).
    await page.wait_for_url(lambda url: urlsplit(url).path != "/login", wait_until="commit")


async def fresh_page(browser: Browser, system: RunningSystem, elsewhere: list[str]) -> Page:
    """A page in a context of its own (no session yet) that notes any request leaving the
    gateway (it would fail anyway: .invalid names never resolve)."""
    page = await (await browser.new_context()).new_page()
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url) if not request.url.startswith(system.url) else None
        ),
    )
    return page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page's own rule
async def test_a_login_never_leads_off_the_gateway(
    browser: Browser, running_gateway: RunningSystem
) -> None:
    system = running_gateway
    elsewhere: list[str] = []

    # Through the gateway: it drops the hostile `next` before the page loads.
    page = await fresh_page(browser, system, elsewhere)
    await page.goto(f"{system.url}/login?next={quote(HOSTILE_NEXT[0], safe='')}")
    assert page.url == f"{system.url}/login"
    await sign_in(page, system.admin.email)
    assert page.url == f"{system.url}/queue"
    await page.context.close()

    # In the page itself: login.js on its own refuses every hostile value.
    for hostile in HOSTILE_NEXT:
        page = await fresh_page(browser, system, elsewhere)
        await page.goto(f"{system.url}/login")
        await page.evaluate(
            "next => history.replaceState(null, '', '/login?next=' + encodeURIComponent(next))",
            hostile,
        )
        await sign_in(page, system.admin.email)
        assert page.url == f"{system.url}/queue", repr(hostile)
        await page.context.close()

    # A deep link of the gateway is still honoured.
    page = await fresh_page(browser, system, elsewhere)
    await page.goto(f"{system.url}/login?next={quote('/admin?tab=people', safe='')}")
    await sign_in(page, system.admin.email)
    # The admin page then marks its open section in the hash, on its own schedule.
    assert page.url.split("#")[0] == f"{system.url}/admin?tab=people"
    await page.context.close()
    assert elsewhere == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page's own rule
async def test_the_form_does_nothing_until_its_script_has_loaded(
    browser: Browser, running_gateway: RunningSystem
) -> None:
    """Before login.js has taken over the form, a quick Enter or click must not submit it
    natively: that would reload the page with the password in its URL."""
    system = running_gateway
    page = await (await browser.new_context()).new_page()
    await page.route("**/queue-assets/login.js", lambda route: route.abort())
    await page.goto(f"{system.url}/login")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))
    await page.get_by_test_id("login-email").fill(system.admin.email)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    assert await page.get_by_test_id("login-submit").is_disabled()
    await page.get_by_test_id("login-password").press("Enter")
    await page.wait_for_timeout(500)  # a native submission would have navigated by now
    assert page.url == f"{system.url}/login"
    assert not [line for line in sent if "/login" in line], sent
    await page.context.close()
