"""Accounts over the HTTP API: the login rate limit (per email, across clients), password
change (ends the other sessions, refuses a wrong current password), the agent's own time
zone, and the admins' people and team management."""

from __future__ import annotations

import pytest
from quart import Quart

from gateway.login_limit import PER_EMAIL, LoginLimit, TooManyLogins
from tests.desk.api.helpers import client_for
from tests.support.api import logged_in
from tests.support.factories import PASSWORD, make_agent

NEW_PASSWORD = "a brand new passphrase"


async def test_logins_are_rate_limited_per_email(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    client = app.test_client()
    wrong = {"email": agent.email, "password": "wrong guess"}

    statuses = [(await client.post("/api/login", json=wrong)).status_code for _ in range(PER_EMAIL)]
    blocked = await client.post("/api/login", json={"email": agent.email, "password": PASSWORD})

    assert statuses == [401] * PER_EMAIL
    assert blocked.status_code == 429
    assert (await blocked.get_json())["error"] == "too_many_logins"
    assert int(blocked.headers["Retry-After"]) > 0
    other = await make_agent(services.db, org)
    ok = await client.post("/api/login", json={"email": other.email, "password": PASSWORD})
    assert ok.status_code == 200  # another account from the same address is unaffected


async def test_a_successful_login_clears_the_emails_count(services, org) -> None:
    clock = [1_000.0]
    limit = LoginLimit(services.events.redis, per_email=2, clock=lambda: clock[0])
    email, address = "dana@example.test", "10.0.0.1"
    await limit.attempt(email, address)
    await limit.succeeded(email, address)  # the count starts over
    await limit.attempt(email, address)
    clock[0] += 30
    await limit.attempt(email, address)
    clock[0] += 30
    with pytest.raises(TooManyLogins) as refused:
        await limit.attempt(email, address)
    assert refused.value.retry_after == 15 * 60 - 60  # when the first of the two is forgotten
    clock[0] += 15 * 60 - 60  # a window after the first: it no longer counts
    await limit.attempt(email, address)
    with pytest.raises(TooManyLogins):  # the second still does, and this one now
        await limit.attempt(email, address)


async def test_no_window_boundary_lets_a_double_burst_through(services) -> None:
    """With fixed windows, the limit's worth just before a boundary and again just after
    gave twice the guesses in a few seconds."""
    clock = [15 * 60 * 1000 - 1.0]  # one second before a quarter-hour boundary
    limit = LoginLimit(services.events.redis, per_email=3, clock=lambda: clock[0])
    for _ in range(3):
        await limit.attempt("eve@example.test", "10.0.0.9")
    clock[0] += 2.0
    with pytest.raises(TooManyLogins):
        await limit.attempt("eve@example.test", "10.0.0.9")


async def test_a_login_form_posted_from_another_site_is_refused(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    response = await app.test_client().post(
        "/api/login", form={"email": agent.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers


async def test_changing_the_password_ends_the_other_sessions(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    laptop, laptop_csrf = await logged_in(app, agent)
    phone, _ = await logged_in(app, agent)

    wrong = await laptop.post(
        "/api/password",
        json={"current_password": "not it", "new_password": NEW_PASSWORD},
        headers=laptop_csrf,
    )
    short = await laptop.post(
        "/api/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=laptop_csrf,
    )
    changed = await laptop.post(
        "/api/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=laptop_csrf,
    )

    assert (wrong.status_code, (await wrong.get_json())["error"]) == (400, "wrong_password")
    assert short.status_code == 400
    assert changed.status_code == 200
    assert (await laptop.get("/api/me")).status_code == 200
    assert (await phone.get("/api/me")).status_code == 401
    fresh = app.test_client()
    old = await fresh.post("/api/login", json={"email": agent.email, "password": PASSWORD})
    new = await fresh.post("/api/login", json={"email": agent.email, "password": NEW_PASSWORD})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_an_agent_sets_their_time_zone(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    client, csrf = await client_for(app, services.db, agent)

    changed = await client.patch("/api/me", json={"time_zone": "Europe/Berlin"}, headers=csrf)
    bad = await client.patch("/api/me", json={"time_zone": "Mars/Olympus"}, headers=csrf)
    me = await (await client.get("/api/me")).get_json()

    assert changed.status_code == 200
    assert bad.status_code == 400
    assert me["agent"]["time_zone"] == "Europe/Berlin"
    queue = await (await client.get("/api/queue/waiting")).get_json()
    assert queue["time_zone"] == "Europe/Berlin"


async def test_an_admin_creates_agents_sets_roles_and_teams(app: Quart, services, org) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, csrf = await client_for(app, services.db, admin)

    team = await (
        await client.post("/api/teams", json={"name": "Billing"}, headers=csrf)
    ).get_json()
    duplicate = await client.post("/api/teams", json={"name": "Billing"}, headers=csrf)
    created = await client.post(
        "/api/agents",
        json={
            "name": "Lee Chen",
            "email": "Lee@Example.test",
            "password": "long enough password",
            "role": "viewer",
            "team_ids": [team["team"]["id"]],
        },
        headers=csrf,
    )
    body = await created.get_json()
    again = await client.post(
        "/api/agents",
        json={"name": "Lee", "email": "lee@example.test", "password": "x" * 12, "role": "agent"},
        headers=csrf,
    )
    promoted = await client.patch(
        f"/api/agents/{body['agent']['id']}", json={"role": "agent"}, headers=csrf
    )
    teams = await (await client.get("/api/teams")).get_json()

    assert duplicate.status_code == 409
    assert created.status_code == 201
    assert (body["agent"]["email"], body["agent"]["role"]) == ("lee@example.test", "viewer")
    assert again.status_code == 409
    assert (await promoted.get_json())["agent"]["role"] == "agent"
    assert teams["teams"] == [
        {"id": team["team"]["id"], "name": "Billing", "member_ids": [body["agent"]["id"]]}
    ]
    lee = app.test_client()
    login = await lee.post(
        "/api/login", json={"email": "lee@example.test", "password": "long enough password"}
    )
    assert (await login.get_json())["agent"]["role"] == "agent"


async def test_bad_agent_input_is_refused_and_creates_nothing(app: Quart, services, org) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, csrf = await client_for(app, services.db, admin)
    base = {"name": "Sam", "email": "sam@example.test", "password": "long enough pw"}

    for change in (
        {"role": "owner"},
        {"email": "not-an-email"},
        {"password": "short"},
        {"team_ids": [999_999]},
        {"name": "  "},
    ):
        response = await client.post("/api/agents", json={**base, **change}, headers=csrf)
        assert response.status_code in (400, 404), change
    agents = await (await client.get("/api/agents")).get_json()
    assert [a["id"] for a in agents["agents"]] == [admin.id]


async def test_the_last_admin_cannot_be_demoted_or_deactivated(app: Quart, services, org) -> None:
    admin = await make_agent(services.db, org, role="admin")
    agent = await make_agent(services.db, org)
    client, csrf = await client_for(app, services.db, admin)
    agent_client, _ = await client_for(app, services.db, agent)

    demote = await client.patch(f"/api/agents/{admin.id}", json={"role": "agent"}, headers=csrf)
    deactivate = await client.patch(f"/api/agents/{admin.id}", json={"active": False}, headers=csrf)
    off = await client.patch(f"/api/agents/{agent.id}", json={"active": False}, headers=csrf)

    assert (demote.status_code, (await demote.get_json())["error"]) == (409, "last_admin")
    assert (await demote.get_json())["message"] == (
        "You are the only active admin, so you can't change your role. "
        "Make someone else an admin first."
    )
    assert deactivate.status_code == 409
    assert off.status_code == 200
    assert (await agent_client.get("/api/me")).status_code == 401  # their sessions ended


async def test_agents_and_teams_lists_hide_emails_from_non_admins(
    app: Quart, services, org
) -> None:
    agent = await make_agent(services.db, org)
    client, _ = await client_for(app, services.db, agent)
    listed = await (await client.get("/api/agents")).get_json()
    assert listed["agents"][0]["id"] == agent.id
    assert "email" not in listed["agents"][0]
