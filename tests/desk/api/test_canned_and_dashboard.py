"""Canned responses (admins manage them, everyone lists them, shortcuts are unique per
organization) and the admins' dashboard computed from real handoffs, claims and releases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quart import Quart
from sqlalchemy import select

from desk.dashboard import durations
from gateway.db import Database
from gateway.models import Message, Organization, Transition
from handoff import actions
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.api import waiting_conversation
from tests.support.factories import make_agent


async def test_admins_manage_canned_responses_and_agents_use_them(
    app: Quart, services, org, other_org
) -> None:
    admin = await make_agent(services.db, org, role="admin")
    agent = await make_agent(services.db, org)
    outsider = await make_agent(services.db, other_org, role="admin")
    admin_client, csrf = await client_for(app, services.db, admin)
    agent_client, _ = await client_for(app, services.db, agent)
    outsider_client, _ = await client_for(app, services.db, outsider)

    created = await admin_client.post(
        "/api/canned-responses",
        json={"shortcut": "/Refund", "title": "Refund", "body": "We have refunded your order."},
        headers=csrf,
    )
    duplicate = await admin_client.post(
        "/api/canned-responses",
        json={"shortcut": "refund", "title": "Again", "body": "x"},
        headers=csrf,
    )
    bad = await admin_client.post(
        "/api/canned-responses",
        json={"shortcut": "no spaces", "title": "X", "body": "x"},
        headers=csrf,
    )
    row = (await created.get_json())["canned_response"]
    changed = await admin_client.patch(
        f"/api/canned-responses/{row['id']}", json={"body": "Refund sent."}, headers=csrf
    )
    listed = await (await agent_client.get("/api/canned-responses")).get_json()
    foreign = await (await outsider_client.get("/api/canned-responses")).get_json()

    assert created.status_code == 201 and row["shortcut"] == "refund"
    assert (duplicate.status_code, (await duplicate.get_json())["error"]) == (
        409,
        "shortcut_taken",
    )
    assert bad.status_code == 400
    assert (await changed.get_json())["canned_response"]["body"] == "Refund sent."
    assert [(r["shortcut"], r["body"]) for r in listed["canned_responses"]] == [
        ("refund", "Refund sent.")
    ]
    assert foreign["canned_responses"] == []
    deleted = await admin_client.delete(f"/api/canned-responses/{row['id']}", headers=csrf)
    assert deleted.status_code == 200
    assert (await (await agent_client.get("/api/canned-responses")).get_json()) == {
        "canned_responses": []
    }


async def test_the_dashboard_counts_handoffs_and_times(app: Quart, services, org) -> None:
    admin = await make_agent(services.db, org, role="admin")
    first = await waiting_conversation(services, org)
    await actions.claim(services, admin, first)
    await actions.resolve(services, admin, first)
    alone = await seed_conversation(services.db, org, state="ai")  # the AI alone
    resolved = await seed_conversation(services.db, org, state="resolved")  # the AI alone too
    unsent = await seed_conversation(services.db, org, state="resolved")  # its reply failed
    for seeded, status in [(alone, "delivered"), (resolved, "sent"), (unsent, "failed")]:
        await ai_reply(services.db, org, seeded.conversation_id, status)
    async with services.db.transaction() as session:  # the claim came 90 s after the handoff
        handoff = await session.scalar(
            select(Transition).where(
                Transition.conversation_id == first, Transition.to_state == "queued"
            )
        )
        assert handoff is not None
        handoff.created_at -= timedelta(seconds=90)
    client, _ = await client_for(app, services.db, admin)

    response = await client.get("/api/dashboard?days=7")
    data = await response.get_json()

    assert response.status_code == 200
    assert len(data["handoffs_per_day"]) == 7
    today = data["handoffs_per_day"][-1]
    assert today["total"] == 1
    assert today["by_reason"] == {"explicit_person_request": 1}
    assert today["by_channel"] == {"webchat": 1}
    assert data["claims"] == 1
    assert 89 <= data["median_time_to_claim_seconds"] <= 92
    assert data["handled"] == 1 and data["median_handle_time_seconds"] >= 0
    assert (data["conversations"], data["ai_alone"]) == (4, 2)
    assert abs(data["ai_resolved_share"] - 2 / 4) < 1e-9
    assert (await client.get("/api/dashboard?days=0")).status_code == 400


def test_handle_time_spans_a_reassignment() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        (1, "ai", "queued", t),
        (1, "queued", "assigned", t + timedelta(seconds=30)),
        (1, "assigned", "assigned", t + timedelta(seconds=60)),
        (1, "assigned", "resolved", t + timedelta(seconds=330)),
        (2, "ai", "manual", t),
        (2, "manual", "ai", t + timedelta(seconds=100)),
    ]
    found = durations(rows)
    assert found.claims == [30.0]
    assert found.handles == [300.0, 100.0]


async def ai_reply(db: Database, org: Organization, conversation_id: int, status: str) -> None:
    """An answer of the AI's in the conversation, with its delivery status."""
    async with db.transaction() as session:
        session.add(
            Message(
                organization_id=org.id,
                conversation_id=conversation_id,
                direction="outbound",
                author="ai",
                channel="webchat",
                text="We ship in two days.",
                delivery_status=status,
            )
        )
