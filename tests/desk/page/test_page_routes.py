"""The queue page's routes: pages that need a login send the browser to the login page (and
back to the deep link afterwards), admin pages refuse agents, every page and asset carries
a strict Content-Security-Policy, no page has an inline script or event handler, the
scripts never build HTML from strings or evaluate code, and a login never leads off the
gateway (tests/desk/page/test_login_redirect.py checks the same in a browser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from desk.page.routes import ASSETS, PAGES
from desk.page.security import same_origin_path
from messaging.twilio.page import STATIC as TWILIO_STATIC
from tests.support.api import logged_in, waiting_conversation
from tests.support.factories import make_agent


def page_paths(conversation_id: int) -> list[str]:
    return ["/login", "/queue", f"/queue/conversations/{conversation_id}", "/admin", "/dashboard"]


class Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            if names.get("src"):
                self.sources.append(str(names["src"]))
            else:
                self.inline.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        self.handlers += [name for name, _ in attrs if name == "style"]


def assert_strict_policy(policy: str) -> None:
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip()
    )
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in policy


@pytest.mark.parametrize("path", ["/queue", "/queue/conversations/12", "/admin", "/dashboard"])
async def test_pages_send_a_visitor_without_a_session_to_the_login(app, path: str) -> None:
    response = await app.test_client().get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"
    assert_strict_policy(response.headers["Content-Security-Policy"])


async def test_the_login_page_is_public_and_strict(app) -> None:
    response = await app.test_client().get("/login")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert_strict_policy(response.headers["Content-Security-Policy"])
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_agents_get_the_queue_but_not_the_admin_pages(app, services, org) -> None:
    agent = await make_agent(services.db, org, role="agent")
    client, _ = await logged_in(app, agent)
    conversation_id = await waiting_conversation(services, org)

    queue = await client.get(f"/queue/conversations/{conversation_id}")
    admin = await client.get("/admin")
    dashboard = await client.get("/dashboard")
    mailboxes = await client.get("/admin/mailboxes")

    assert queue.status_code == 200
    assert 'id="conversation"' in await queue.get_data(as_text=True)
    assert admin.status_code == dashboard.status_code == mailboxes.status_code == 403
    assert "for admins" in await admin.get_data(as_text=True)


async def test_a_conversation_of_another_organization_is_not_found(
    app, services, org, other_org
) -> None:
    outsider = await make_agent(services.db, other_org, role="admin")
    client, _ = await logged_in(app, outsider)
    conversation_id = await waiting_conversation(services, org)

    response = await client.get(f"/queue/conversations/{conversation_id}")

    assert response.status_code == 404
    assert "No such conversation" in await response.get_data(as_text=True)
    assert_strict_policy(response.headers["Content-Security-Policy"])


async def test_admins_get_every_page(app, services, org) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, _ = await logged_in(app, admin)

    for path in page_paths(await waiting_conversation(services, org)):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.get_data(as_text=True)
        assert "<!-- page head -->" not in body, path  # the shared head is in its place
        if 'id="topbar"' in body:
            assert body.count('<meta charset="utf-8">') == 1, path
            assert '<script src="/queue-assets/shell.js" defer></script>' in body, path


async def test_no_page_has_an_inline_script_handler_or_style(app, services, org) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, _ = await logged_in(app, admin)

    for path in page_paths(await waiting_conversation(services, org)):
        parser = Scripts()
        parser.feed(await (await client.get(path)).get_data(as_text=True))
        assert parser.inline == [] and parser.handlers == [], path
        for source in parser.sources:
            asset = await client.get(source)
            assert asset.status_code == 200, source
            assert "javascript" in asset.headers["Content-Type"], source
            assert_strict_policy(asset.headers["Content-Security-Policy"])


async def test_assets_stay_inside_their_folder(app) -> None:
    client = app.test_client()

    assert (await client.get("/queue-assets/../routes.py")).status_code == 404
    assert (await client.get("/queue-assets/%2e%2e/routes.py")).status_code == 404
    assert (await client.get("/queue-assets/no-such.js")).status_code == 404


async def test_a_forged_host_cannot_widen_the_policy(app) -> None:
    response = await app.test_client().get("/login", headers={"Host": "evil.example; script-src *"})

    policy = response.headers["Content-Security-Policy"]
    assert_strict_policy(policy)
    assert "evil" not in policy


def test_scripts_never_build_html_from_strings_or_evaluate_code() -> None:
    forbidden = re.compile(
        r"\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function"
        r"|setTimeout\(\s*[\"']|setInterval\(\s*[\"']"
    )
    # the desk's scripts, and the admins' pages a channel serves in the desk's frame
    scripts = [*sorted(Path(ASSETS).glob("*.js")), TWILIO_STATIC / "numbers.js"]
    assert len(scripts) >= 10
    for script in scripts:
        found = forbidden.findall(script.read_text())
        assert found == [], f"{script.name}: {found}"
    assert sorted(p.name for p in Path(PAGES).glob("*.html")) == [
        "_head.html",  # the head the pages with the top bar share, no page of its own
        "admin.html",
        "dashboard.html",
        "forbidden.html",
        "knowledge.html",
        "login.html",
        "mailboxes.html",
        "not_found.html",
        "queue.html",
        "webhooks.html",
    ]


HOSTILE_NEXT = [
    "/\t/evil.invalid/x",
    "/\n/evil.invalid/x",
    "/\r/evil.invalid/x",
    "/\\evil.invalid/x",
    "\\/evil.invalid/x",
    "//evil.invalid/x",
    "///evil.invalid/x",
    "https://evil.invalid/x",
    "http:/evil.invalid",
    "javascript:alert(1)",
    " /queue",
    "queue",
]


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_only_a_path_of_this_gateway_may_follow_a_login(hostile: str) -> None:
    assert same_origin_path(hostile) is None


def test_a_path_with_a_query_may_follow_a_login() -> None:
    for path in ("/queue", "/queue/conversations/12?tab=notes#end", "/admin"):
        assert same_origin_path(path) == path


async def test_the_login_page_drops_a_next_that_leads_elsewhere(app) -> None:
    client = app.test_client()
    for hostile in ("%2F%09%2Fevil.invalid%2Fx", "%2F%0A%2Fevil.invalid", "%2F%5Cevil.invalid"):
        response = await client.get(f"/login?next={hostile}")
        assert response.status_code == 302, hostile
        assert response.headers["Location"] == "/login"
    assert (await client.get("/login?next=%2Fqueue%2Fconversations%2F3")).status_code == 200
