"""Registering business numbers: `switchboard number add/list/remove` as real subprocesses,
and the admins' JSON API, both scoped to one organization, with clear errors for bad
input. A removed number's webhooks are no longer accepted, and registering a number under
a known account puts in its new auth token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from quart import Quart

from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.factories import make_agent
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    incoming_params,
    post_signed,
)

SID = "AC" + "12" * 16
SERVICE = "MG" + "34" * 16


def run_cli(
    var_dir: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
    env.pop("TWILIO_AUTH_TOKEN", None)
    env.update(SWITCHBOARD_VAR_DIR=str(var_dir), SWITCHBOARD_LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        input=stdin,
        env=env,
        cwd=var_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_number_commands(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    assert run_cli(var_dir, "migrate").returncode == 0
    assert run_cli(var_dir, "org", "create", "acme", "Acme").returncode == 0

    added = run_cli(
        var_dir,
        "number",
        "add",
        "acme",
        "+1 (555) 000-1111",
        "--account-sid",
        SID,
        "--auth-token-stdin",
        stdin="f" * 32 + "\n",
    )
    pooled = run_cli(
        var_dir,
        "number",
        "add",
        "acme",
        SERVICE,
        "--account-sid",
        SID,
        "--auth-token-stdin",
        stdin="f" * 32 + "\n",
    )
    again = run_cli(
        var_dir,
        "number",
        "add",
        "acme",
        "+15550001111",
        "--account-sid",
        SID,
        "--auth-token-stdin",
        stdin="f" * 32 + "\n",
    )
    bad = run_cli(
        var_dir,
        "number",
        "add",
        "acme",
        "555-CALL-NOW",
        "--account-sid",
        SID,
        "--auth-token-stdin",
        stdin="f" * 32 + "\n",
    )
    listed = run_cli(var_dir, "number", "list")
    removed = run_cli(var_dir, "number", "remove", "+15550001111")
    after = run_cli(var_dir, "number", "list", "acme")

    assert added.returncode == 0, added.stderr
    assert "Registered +15550001111 for organization 'acme'" in added.stdout
    assert "POST http://127.0.0.1:8080/twilio/sms" in added.stdout
    assert "POST http://127.0.0.1:8080/twilio/voice\n" in added.stdout
    assert "POST http://127.0.0.1:8080/twilio/voice/status" in added.stdout
    assert pooled.returncode == 0, pooled.stderr
    assert (again.returncode, again.stderr.strip()) == (
        2,
        "switchboard: error: +15550001111 is already registered; remove it first to move it",
    )
    assert bad.returncode == 2 and "not a phone number in E.164 form" in bad.stderr
    assert listed.stdout.splitlines() == [
        f"+15550001111\tacme\t{SID}\t-",
        f"{SERVICE}\tacme\t{SID}\t{SERVICE}",
    ]
    assert "f" * 32 not in listed.stdout  # the token is never shown
    assert removed.returncode == 0 and after.stdout.splitlines() == [
        f"{SERVICE}\tacme\t{SID}\t{SERVICE}"
    ]


async def test_admins_manage_their_organizations_numbers(
    twilio_app: Quart, twilio_services: Services, fake_twilio: FakeTwilio, org, other_org
) -> None:
    account = fake_twilio.add_account()
    admin, csrf = await logged_in(
        twilio_app, await make_agent(twilio_services.db, org, role="admin")
    )
    agent, agent_csrf = await logged_in(twilio_app, await make_agent(twilio_services.db, org))
    outsider, outsider_csrf = await logged_in(
        twilio_app, await make_agent(twilio_services.db, other_org, role="admin")
    )
    body = {"number": BUSINESS, "account_sid": account.sid, "auth_token": account.token}

    created = await admin.post("/api/twilio/numbers", json=body, headers=csrf)
    duplicate = await outsider.post("/api/twilio/numbers", json=body, headers=outsider_csrf)
    by_agent = await agent.post("/api/twilio/numbers", json=body, headers=agent_csrf)
    invalid = await admin.post(
        "/api/twilio/numbers", json={**body, "account_sid": "nope"}, headers=csrf
    )
    listed = await (await admin.get("/api/twilio/numbers")).get_json()
    foreign_list = await (await outsider.get("/api/twilio/numbers")).get_json()
    foreign_delete = await outsider.delete(f"/api/twilio/numbers/{BUSINESS}", headers=outsider_csrf)

    assert created.status_code == 201
    assert (duplicate.status_code, by_agent.status_code, invalid.status_code) == (409, 403, 400)
    assert [n["number"] for n in listed["numbers"]] == [BUSINESS]
    assert "auth_token" not in listed["numbers"][0]
    assert foreign_list["numbers"] == [] and foreign_delete.status_code == 404

    # Once removed, the number's webhooks are no longer accepted.
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Hi")
    accepted = await post_signed(
        twilio_app.test_client(), PUBLIC_URL + "/twilio/sms", params, account.token
    )
    deleted = await admin.delete(f"/api/twilio/numbers/{BUSINESS}", headers=csrf)
    params["MessageSid"] = "SM" + "9" * 32
    refused = await post_signed(
        twilio_app.test_client(), PUBLIC_URL + "/twilio/sms", params, account.token
    )
    assert (accepted.status_code, deleted.status_code, refused.status_code) == (200, 200, 404)


async def test_registering_under_a_known_account_rotates_its_token(
    twilio_app: Quart, twilio_services: Services, account: Account, org, business_number
) -> None:
    from messaging.twilio.numbers import add_number

    rotated = "r" * 32
    await add_number(twilio_services.db, org.id, "+15550005555", account.sid, rotated)
    client = twilio_app.test_client()
    old = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="old token")
    new = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="new token")

    assert (
        await post_signed(client, PUBLIC_URL + "/twilio/sms", old, account.token)
    ).status_code == 403
    assert (await post_signed(client, PUBLIC_URL + "/twilio/sms", new, rotated)).status_code == 200
