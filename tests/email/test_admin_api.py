"""The admins' mailbox API: an admin adds, lists, edits in place (among others the
mailbox's own DKIM check) and removes their organization's mailboxes; the IMAP password
is never returned; agents and other organizations are kept out; bad input is a clear
400, a taken address a 409."""

from __future__ import annotations

from quart import Quart

from gateway.models import Organization
from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.factories import make_agent

SECRET = "imap-password-42"


async def test_admins_manage_their_mailboxes(
    app: Quart, services: Services, org: Organization, other_org: Organization
) -> None:
    admin, csrf = await logged_in(app, await make_agent(services.db, org, role="admin"))
    agent, agent_csrf = await logged_in(app, await make_agent(services.db, org))
    outsider, outsider_csrf = await logged_in(
        app, await make_agent(services.db, other_org, role="admin")
    )
    body = {
        "address": "Support@Shop.example",
        "display_name": "Shop Support",
        "imap": {"host": "imap.shop.example", "password": SECRET},
        "trusted_relays": ["192.0.2.7"],
        "verify_dkim": True,
    }
    created = await admin.post("/api/email/mailboxes", json=body, headers=csrf)
    assert created.status_code == 201
    mailbox = (await created.get_json())["mailbox"]
    assert mailbox["address"] == "support@shop.example"
    assert mailbox["imap"]["port"] == 993 and mailbox["imap"]["password_set"] is True
    assert mailbox["verify_dkim"] is True
    url = "/api/email/mailboxes/support@shop.example"
    turned_off = await admin.patch(url, json={"verify_dkim": False}, headers=csrf)
    assert (await turned_off.get_json())["mailbox"]["verify_dkim"] is False
    moved = await admin.patch(
        url, json={"smtp": False, "imap": {"folder": "Support", "tls": False}}, headers=csrf
    )
    edited = (await moved.get_json())["mailbox"]
    assert (edited["smtp"], edited["imap"]["folder"], edited["imap"]["port"]) == (
        False,
        "Support",
        143,
    )
    assert edited["imap"]["password_set"] and SECRET not in await moved.get_data(as_text=True)
    refusals = [
        ({"address": "x@shop.example"}, "not a mailbox setting"),
        ({"verify_dkim": "yes"}, "must be true or false"),
        ({"imap": {"port": True}}, "must be a whole number"),
        ({"imap": None}, "IMAP settings, inbound SMTP delivery, or both"),
        ({"imap": {"sent_folder": "Support"}}, "must differ"),
    ]
    for refused, says in refusals:
        answer = await admin.patch(url, json=refused, headers=csrf)
        assert answer.status_code == 400 and says in (await answer.get_json())["message"]
    foreign_patch = await outsider.patch(url, json={"verify_dkim": True}, headers=outsider_csrf)
    by_agent_patch = await agent.patch(url, json={"verify_dkim": True}, headers=agent_csrf)
    assert (foreign_patch.status_code, by_agent_patch.status_code) == (404, 403)
    listed = await admin.get("/api/email/mailboxes")
    text = await listed.get_data(as_text=True)
    assert SECRET not in text and SECRET not in await created.get_data(as_text=True)
    assert [m["address"] for m in (await listed.get_json())["mailboxes"]] == [
        "support@shop.example"
    ]

    taken = await outsider.post("/api/email/mailboxes", json=body, headers=outsider_csrf)
    by_agent = await agent.post("/api/email/mailboxes", json=body, headers=agent_csrf)
    bad = await admin.post("/api/email/mailboxes", json={"address": "not an address"}, headers=csrf)
    bad_relay = await admin.post(
        "/api/email/mailboxes",
        json={"address": "help@shop.example", "trusted_relays": ["nope"]},
        headers=csrf,
    )
    not_json = await admin.post("/api/email/mailboxes", data="x", headers=csrf)
    assert (taken.status_code, by_agent.status_code) == (409, 403)
    assert (bad.status_code, bad_relay.status_code, not_json.status_code) == (400, 400, 400)
    assert "plain email address" in (await bad.get_json())["message"]

    foreign = await outsider.get("/api/email/mailboxes")
    assert (await foreign.get_json())["mailboxes"] == []
    foreign_delete = await outsider.delete(
        "/api/email/mailboxes/support@shop.example", headers=outsider_csrf
    )
    assert foreign_delete.status_code == 404
    removed = await admin.delete("/api/email/mailboxes/support@shop.example", headers=csrf)
    assert removed.status_code == 200
    assert (await (await admin.get("/api/email/mailboxes")).get_json())["mailboxes"] == []
