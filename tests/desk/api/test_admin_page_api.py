"""The admin page's own API: the business-hours preview in words (what the policy will do,
across midnight and time zones) with problems said plainly; the time zones to pick from;
the notice templates (list, preview with sample values, set and reset one without
touching the others, refusals in words); the widget snippet and its allowed websites; and
the last admin who cannot demote or deactivate themself, refused in a sentence. Other
roles get 403 everywhere."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from quart import Quart
from sqlalchemy import select

from desk.hours_preview import checked_schedule, preview, relative
from gateway.errors import BadInput
from gateway.models import Agent, Organization
from gateway.org_settings import OrganizationSettings
from handoff.notice_templates import compose
from messaging.twilio.plugin import TWILIO
from messaging.webchat.plugin import WEBCHAT
from tests.support.api import logged_in
from tests.support.factories import make_agent

WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
# Friday 27 November 2026, 18:30 UTC
FRIDAY_EVENING = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)


def said(hours: dict[str, list[list[str]]], zone: str, now: datetime) -> str:
    return str(preview(checked_schedule(hours, zone), now)["text"])


def test_the_preview_says_when_the_schedule_opens_or_closes_next() -> None:
    assert said(WEEKDAYS, "UTC", FRIDAY_EVENING) == (
        "Closed now. Opens Monday at 09:00 (in 3 days)."
    )
    berlin = said(WEEKDAYS, "Europe/Berlin", datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert berlin == "Open now. Closes today at 17:00 (in 7 hours)."
    late = {"fri": [["20:00", "24:00"]], "sat": [["00:00", "02:30"]]}
    assert said(late, "UTC", datetime(2026, 11, 27, 21, 0, tzinfo=UTC)) == (
        "Open now. Closes tomorrow at 02:30 (in 5 hours 30 minutes)."
    )
    assert said({}, "UTC", FRIDAY_EVENING).startswith("Open around the clock")
    closed = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert said(closed, "UTC", FRIDAY_EVENING).startswith("Closed every day")
    assert [relative(timedelta(minutes=m)) for m in (1, 60, 61, 600, 2880)] == [
        "in 1 minute",
        "in 1 hour",
        "in 1 hour 1 minute",
        "in 10 hours",
        "in 2 days",
    ]


@pytest.mark.parametrize(
    ("hours", "zone", "problem"),
    [
        ({"mon": [["18:00", "09:00"]]}, "UTC", "Monday: 18:00 is not before 09:00."),
        ({"tue": [["09:00", "12:00"], ["11:00", "14:00"]]}, "UTC", "overlap"),
        ({"wed": [["9am", "5pm"]]}, "UTC", "Wednesday: write times as hours and minutes"),
        ({"funday": []}, "UTC", "Monday to Sunday"),
        (WEEKDAYS, "Mars/Olympus", "Pick a time zone from the list."),
        (WEEKDAYS, "../../etc/passwd", "Pick a time zone from the list."),
    ],
)
def test_a_schedule_problem_is_said_in_words(hours: object, zone: str, problem: str) -> None:
    with pytest.raises(BadInput) as refused:
        checked_schedule(hours, zone)
    assert problem in refused.value.message


async def test_the_hours_helpers_over_http(app: Quart, services, org) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, org, role="admin"))
    zones = (await (await client.get("/api/admin/time-zones")).get_json())["zones"]
    names = [zone["name"] for zone in zones]
    assert names[0] == "UTC" and "Europe/Berlin" in names and "posixrules" not in names
    assert any(zone["label"].startswith("America/New York (UTC-0") for zone in zones)

    url = "/api/admin/business-hours/preview"
    good = await client.post(
        url, json={"business_hours": WEEKDAYS, "time_zone": "Asia/Tokyo"}, headers=csrf
    )
    assert good.status_code == 200
    shown = await good.get_json()  # open or closed depends on the hour this runs at
    assert shown["text"].startswith(
        "Open now. Closes " if shown["open_now"] else "Closed now. Opens "
    )
    bad = await client.post(url, json={"business_hours": [], "time_zone": "UTC"}, headers=csrf)
    assert bad.status_code == 400
    assert (await bad.get_json())["message"] == "Business hours must list the days of the week."


async def test_notice_templates_are_listed_previewed_set_and_reset(
    app: Quart, services, org
) -> None:
    admin = await make_agent(services.db, org, role="admin", name="Dana Admin")
    client, csrf = await logged_in(app, admin)

    listed = await (await client.get("/api/admin/notices")).get_json()
    labels = {kind["kind"]: kind["label"] for kind in listed["kinds"]}
    assert labels["message_taken_after_hours"] == "Message taken: outside business hours"
    assert labels["back_to_ai"] == "Back to the AI"
    assert {"name": "*", "label": "All channels"} in listed["channels"]
    assert listed["defaults"]["resolved"]["sms"] == "Marked as resolved. Text us any time."
    assert listed["samples"]["agent"] == "Dana Admin" and listed["templates"] == {}

    preview = await client.post(
        "/api/admin/notices/preview",
        json={"kind": "agent_joined", "channel": "sms", "text": "Hi, {agent} of {business}."},
        headers=csrf,
    )
    assert (await preview.get_json())["text"] == f"Hi, Dana Admin of {org.name}."
    for body, problem in (
        (
            {"kind": "agent_joined", "channel": "sms", "text": "Order {order}"},
            "{order} is not a placeholder",
        ),
        ({"kind": "agent_joined", "channel": "sms", "text": "a { alone"}, "a bracket on its own"),
        ({"kind": "agent_joined", "channel": "sms", "text": "  "}, "Write the notice"),
        ({"kind": "nope", "channel": "sms", "text": "x"}, "Pick a notice from the list."),
        ({"kind": "resolved", "channel": "pigeon", "text": "x"}, "Pick a channel from the list."),
    ):
        refused = await client.post("/api/admin/notices/preview", json=body, headers=csrf)
        assert refused.status_code == 400 and problem in (await refused.get_json())["message"]
        refused = await client.put("/api/admin/notices", json=body, headers=csrf)
        assert refused.status_code == 400

    for kind, channel, text in (
        ("back_to_ai", "sms", "Our assistant again."),
        ("message_taken_after_hours", "*", "Closed. Back {next_opening}."),
    ):
        saved = await client.put(
            "/api/admin/notices",
            json={"kind": kind, "channel": channel, "text": text},
            headers=csrf,
        )
        assert saved.status_code == 200
    reset = await client.put(
        "/api/admin/notices",
        json={"kind": "back_to_ai", "channel": "sms", "text": None},
        headers=csrf,
    )
    assert (await reset.get_json())["templates"] == {
        "message_taken_after_hours": {"*": "Closed. Back {next_opening}."}
    }
    async with services.db.transaction() as session:
        row = await session.get(Organization, org.id)
        assert row is not None
        settings = OrganizationSettings.from_json(row.settings)
    sms, web = TWILIO.channels[0], WEBCHAT.channels[0]
    values = {"next_opening": "Monday at 09:00 (UTC time)"}
    assert compose("message_taken_after_hours", web, settings, values) == (
        "Closed. Back Monday at 09:00 (UTC time)."
    )
    assert compose("back_to_ai", sms, settings, {}).startswith("You're back with our assistant")


async def test_the_widget_snippet_and_its_websites(app: Quart, services, org) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, org, role="admin"))
    shown = await (await client.get("/api/admin/widget")).get_json()
    assert shown["snippet"] == (
        f'<script src="{shown["script_url"]}" data-key="{org.widget_key}" async></script>'
    )
    saved = await client.put(
        "/api/admin/widget",
        json={"allowed_origins": ["https://Shop.Example.com/", "https://shop.example.com:443"]},
        headers=csrf,
    )
    assert (await saved.get_json())["allowed_origins"] == ["https://shop.example.com"]
    for bad in (["https://shop.example.com/cart"], ["javascript:alert(1)"], [""], "x", [1]):
        refused = await client.put("/api/admin/widget", json={"allowed_origins": bad}, headers=csrf)
        assert refused.status_code == 400, bad
    message = (await refused.get_json())["message"]
    assert "like https://shop.example.com" in message
    shown = await (await client.get("/api/admin/widget")).get_json()
    assert shown["allowed_origins"] == ["https://shop.example.com"]


async def test_the_last_admin_is_refused_in_words_and_other_roles_get_403(
    app: Quart, services, org
) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, csrf = await logged_in(app, admin)
    demote = await client.patch(f"/api/agents/{admin.id}", json={"role": "agent"}, headers=csrf)
    assert demote.status_code == 409
    assert (await demote.get_json())["message"] == (
        "You are the only active admin, so you can't change your role. "
        "Make someone else an admin first."
    )
    leave = await client.patch(f"/api/agents/{admin.id}", json={"active": False}, headers=csrf)
    assert "can't deactivate yourself" in (await leave.get_json())["message"]

    agent_client, agent_csrf = await logged_in(app, await make_agent(services.db, org))
    for method, url in (
        ("GET", "/api/admin/time-zones"),
        ("GET", "/api/admin/notices"),
        ("GET", "/api/admin/widget"),
        ("PUT", "/api/admin/widget"),
        ("POST", "/api/admin/business-hours/preview"),
    ):
        answer = await agent_client.open(url, method=method, json={}, headers=agent_csrf)
        assert answer.status_code == 403, url


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    app: Quart, services, org
) -> None:
    first = await make_agent(services.db, org, role="admin", name="First")
    second = await make_agent(services.db, org, role="admin", name="Second")
    (one, one_csrf), (two, two_csrf) = [await logged_in(app, a) for a in (first, second)]

    answers = await asyncio.gather(
        one.patch(f"/api/agents/{second.id}", json={"role": "agent"}, headers=one_csrf),
        two.patch(f"/api/agents/{first.id}", json={"role": "agent"}, headers=two_csrf),
    )

    # The second to act is refused: 409 when its login was checked before the first
    # demoted it (the last admin stays), or 401 after (a new role takes a new login).
    assert sorted(answer.status_code for answer in answers) in ([200, 401], [200, 409])
    async with services.db.transaction() as session:
        admins = await session.scalars(
            select(Agent.id).where(Agent.organization_id == org.id, Agent.role == "admin")
        )
        assert len(list(admins)) == 1
