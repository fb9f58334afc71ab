"""The agents' JSON API: login, CSRF on writes, roles, the actions, and isolation between
organizations, checked over the app's whole route table so a new conversation route
without the organization check fails here."""

from __future__ import annotations

from typing import Any

from quart import Quart

from tests.support.api import logged_in, waiting_conversation
from tests.support.factories import PASSWORD, make_agent


async def test_login_refuses_a_wrong_password_with_a_clear_error(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    response = await app.test_client().post(
        "/api/login", json={"email": agent.email, "password": "wrong password"}
    )
    assert response.status_code == 401
    assert (await response.get_json()) == {
        "error": "not_authenticated",
        "message": "wrong email or password",
    }


async def test_the_session_cookie_is_http_only_and_same_site(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    response = await app.test_client().post(
        "/api/login", json={"email": agent.email, "password": PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_writes_without_the_csrf_token_are_refused(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, _ = await logged_in(app, agent)

    response = await client.post(f"/api/conversations/{conversation_id}/claim")

    assert response.status_code == 403
    assert (await response.get_json())["error"] == "csrf_failed"


async def test_an_agent_claims_and_replies_and_the_reply_is_queued_for_delivery(
    app: Quart, services, org
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await logged_in(app, agent)

    claimed = await client.post(f"/api/conversations/{conversation_id}/claim", headers=csrf)
    replied = await client.post(
        f"/api/conversations/{conversation_id}/reply", json={"text": "Hi, Dana here."}, headers=csrf
    )
    shown = await (await client.get(f"/api/conversations/{conversation_id}")).get_json()

    assert claimed.status_code == 200
    assert (await claimed.get_json())["conversation"]["state"] == "assigned"
    assert replied.status_code == 201
    assert shown["messages"][-1]["text"] == "Hi, Dana here."
    assert shown["messages"][-1]["delivery_status"] == "pending"
    assert [t["to"] for t in shown["transitions"]] == ["queued", "assigned"]
    assert shown["conversation"]["rule_hits"][0]["rule"] == "explicit_person_request"


async def test_a_second_claim_is_refused_as_a_conflict(app: Quart, services, org) -> None:
    first, second = await make_agent(services.db, org), await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client_1, csrf_1 = await logged_in(app, first)
    client_2, csrf_2 = await logged_in(app, second)

    assert (
        await client_1.post(f"/api/conversations/{conversation_id}/claim", headers=csrf_1)
    ).status_code == 200
    late = await client_2.post(f"/api/conversations/{conversation_id}/claim", headers=csrf_2)

    assert late.status_code == 409
    assert (await late.get_json())["error"] == "not_waiting"


async def test_a_viewer_can_read_but_not_claim_or_reply(app: Quart, services, org) -> None:
    viewer = await make_agent(services.db, org, role="viewer")
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await logged_in(app, viewer)

    assert (await client.get(f"/api/conversations/{conversation_id}")).status_code == 200
    for action, body in (("claim", None), ("reply", {"text": "hi"})):
        response = await client.post(
            f"/api/conversations/{conversation_id}/{action}", json=body, headers=csrf
        )
        assert response.status_code == 403, action


def conversation_routes(app: Quart) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if "conversation_id" not in rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return routes


async def test_another_organizations_agent_gets_404_on_every_conversation_route(
    app: Quart, services, org, other_org
) -> None:
    conversation_id = await waiting_conversation(services, org)
    outsider = await make_agent(services.db, other_org, role="admin")
    client, csrf = await logged_in(app, outsider)
    routes = conversation_routes(app)
    assert len(routes) >= 6  # list + show + the actions; the walk must see them

    for method, rule in routes:
        path = rule.replace("<int:conversation_id>", str(conversation_id))
        body: dict[str, Any] = {"text": "sneaky", "message": "sneaky"}
        response = await client.open(path, method=method, json=body, headers=csrf)
        assert response.status_code == 404, f"{method} {rule} answered {response.status_code}"

    listed = await (await client.get("/api/conversations")).get_json()
    assert listed["conversations"] == []
