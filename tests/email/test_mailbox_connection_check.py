""" "Test connection" for IMAP settings over the admins' API, against a real Dovecot: good
settings say what was opened; a wrong password, a missing folder, a closed port, TLS on a
port without it and an unknown host each get a sentence naming what to check (never an
exception's name, never the password); a stored mailbox is tested by its address; agents
are refused and bad input is a 400."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from quart import Quart

from gateway.models import Organization
from gateway.runtime import Services
from tests.email.helpers import SUPPORT
from tests.support.api import logged_in
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.factories import make_agent
from tests.support.ports import free_port

PASSWORD = "imap-pass-123"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from running_dovecot(SUPPORT, PASSWORD)


def form(dovecot: Dovecot, **changes: object) -> dict[str, object]:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": dovecot.port,
        "tls": False,
        "user": SUPPORT,
        "password": PASSWORD,
        "folder": "INBOX",
    }
    return {"imap": {**settings, **changes}}


@pytest.mark.parametrize(
    ("changes", "ok", "says"),
    [
        ({}, True, "Connected to 127.0.0.1, logged in as support@shop.example and opened"),
        ({"password": "wrong-pass"}, False, "refused the user name or password"),
        ({"folder": "Archive"}, False, "there is no folder named “Archive”"),
        ({"port": "closed"}, False, "refused the connection on port"),
        ({"tls": True}, False, "does not seem to speak TLS on this port"),
        ({"host": "no-such-host.invalid"}, False, "There is no server named no-such-host.invalid"),
    ],
    ids=["good", "password", "folder", "closed port", "tls mismatch", "unknown host"],
)
async def test_a_forms_settings_are_tested_and_the_answer_says_what_to_check(
    app: Quart,
    services: Services,
    org: Organization,
    dovecot: Dovecot,
    changes: dict[str, object],
    ok: bool,
    says: str,
) -> None:
    admin, csrf = await logged_in(app, await make_agent(services.db, org, role="admin"))
    if changes.get("port") == "closed":
        changes = {"port": free_port()}

    answer = await admin.post(
        "/api/email/mailboxes/test", json=form(dovecot, **changes), headers=csrf
    )

    assert answer.status_code == 200
    result = await answer.get_json()
    assert result["ok"] is ok and says in result["message"], result
    assert PASSWORD not in result["message"] and "Error" not in result["message"]


async def test_a_stored_mailbox_is_tested_by_its_address_and_agents_are_refused(
    app: Quart, services: Services, org: Organization, dovecot: Dovecot
) -> None:
    admin, csrf = await logged_in(app, await make_agent(services.db, org, role="admin"))
    agent, agent_csrf = await logged_in(app, await make_agent(services.db, org))
    created = await admin.post(
        "/api/email/mailboxes", json={"address": SUPPORT, **form(dovecot)}, headers=csrf
    )
    assert created.status_code == 201

    stored = await admin.post("/api/email/mailboxes/test", json={"address": SUPPORT}, headers=csrf)
    by_agent = await agent.post("/api/email/mailboxes/test", json=form(dovecot), headers=agent_csrf)
    unknown = await admin.post(
        "/api/email/mailboxes/test", json={"address": "other@shop.example"}, headers=csrf
    )
    no_host = await admin.post(
        "/api/email/mailboxes/test", json=form(dovecot, host=""), headers=csrf
    )
    no_password = await admin.post(
        "/api/email/mailboxes/test", json=form(dovecot, password=""), headers=csrf
    )

    assert (await stored.get_json())["ok"] is True
    assert (by_agent.status_code, unknown.status_code) == (403, 404)
    assert (no_host.status_code, no_password.status_code) == (400, 400)
    assert "host name" in (await no_host.get_json())["message"]
