"""The admins' settings API: admins see the settings with the levels' presets and change
them; other roles get 403; an unknown key or a bad value is refused with a clear message
and changes nothing; each organization sees and changes only its own settings."""

from __future__ import annotations

from typing import Any

import pytest
from quart import Quart

from gateway.db import Database
from gateway.models import Organization
from tests.support.api import logged_in
from tests.support.factories import make_agent

URL = "/api/admin/settings"


async def stored_settings(db: Database, org: Organization) -> dict[str, Any]:
    async with db.transaction() as session:
        row = await session.get(Organization, org.id)
        assert row is not None
        return dict(row.settings)


async def test_an_admin_sees_the_settings_and_the_levels(app: Quart, services, org) -> None:
    client, _ = await logged_in(app, await make_agent(services.db, org, role="admin"))

    response = await client.get(URL)

    assert response.status_code == 200
    body = await response.get_json()
    assert body["settings"]["handoff_level"] == "balanced"
    assert body["settings"]["outside_hours"] == "queue_with_notice"
    assert set(body["levels"]) == {"ai_only", "quick", "balanced", "ai_first"}
    assert body["levels"]["quick"]["values"]["low_confidence_streak"] == 1
    assert "frustration" in body["levels"]["quick"]["description"]
    in_force = body["channel_levels_in_force"]
    assert "webchat" in in_force and set(in_force.values()) == {"balanced"}
    assert sorted(in_force) == body["choices"]["channels"]
    assert "billing_dispute" in body["choices"]["restricted_topics"]


async def test_an_admin_changes_levels_presets_and_hours(app: Quart, services, org) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, org, role="admin"))
    change = {
        "handoff_level": "quick",
        "channel_levels": {"webchat": "ai_first"},
        "level_presets": {"ai_first": {"frustration_threshold": 0.6, "gather_words": 10}},
        "handoff_keywords": ["  warranty   claim ", "warranty claim", "recall"],
        "custom_topics": {"safety": ["smoke", "fire"]},
        "restricted_topics": ["legal", "safety"],
        "business_hours": {"mon": [["09:00", "17:00"]]},
        "time_zone": "Europe/Berlin",
        "outside_hours": "ai_takes_message",
    }

    response = await client.put(URL, json=change, headers=csrf)

    assert response.status_code == 200, await response.get_json()
    body = await response.get_json()
    assert body["channel_levels_in_force"]["webchat"] == "ai_first"
    assert {
        level for channel, level in body["channel_levels_in_force"].items() if channel != "webchat"
    } <= {"quick"}
    ai_first = body["levels"]["ai_first"]
    assert ai_first["values"]["frustration_threshold"] == 0.6
    assert ai_first["defaults"]["frustration_threshold"] == 0.7
    assert ai_first["edited"] == ["frustration_threshold", "gather_words"]
    stored = await stored_settings(services.db, org)
    assert stored["handoff_keywords"] == ["warranty claim", "recall"]
    assert stored["time_zone"] == "Europe/Berlin" and stored["handoff_level"] == "quick"
    again = await (await client.get(URL)).get_json()
    assert again["settings"]["restricted_topics"] == ["legal", "safety"]


BAD_CHANGES: list[tuple[dict[str, Any], str, str]] = [
    ({"handof_level": "quick"}, "unknown_setting", "unknown setting 'handof_level'"),
    ({"handoff_level": "eager"}, "bad_input", "unknown handoff level 'eager'"),
    ({"channel_levels": {"fax": "quick"}}, "bad_input", "unknown channel 'fax'"),
    (
        {"level_presets": {"quick": {"frustration_threshold": -0.5}}},
        "bad_input",
        "frustration_threshold must be between 0 and 1",
    ),
    (
        {"level_presets": {"quick": {"sentiment_threshold": 0.5}}},
        "bad_input",
        "sentiment_threshold must be between -1 and 0",
    ),
    (
        {"level_presets": {"quick": {"patience": 3}}},
        "bad_input",
        "unknown preset value 'patience'",
    ),
    ({"restricted_topics": ["weather"]}, "bad_input", "unknown restricted topic 'weather'"),
    ({"time_zone": "Mars/Olympus"}, "bad_input", "unknown time zone"),
    ({"business_hours": {"mon": [["18:00", "09:00"]]}}, "bad_input", "cross midnight"),
    ({"outside_hours": "panic"}, "bad_input", "outside_hours must be one of"),
    ({"handoff_keywords": "refund"}, "bad_input", "handoff_keywords: Input should be"),
    ({"queue_expiry_seconds": True}, "bad_input", "queue_expiry_seconds"),
    ({"ai_confidence_threshold": 3}, "bad_input", "between 0 and 1"),
    ({}, "bad_input", "send a JSON object"),
]


async def test_a_bad_change_is_refused_and_changes_nothing(app: Quart, services, org) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, org, role="admin"))
    before = await stored_settings(services.db, org)
    valid = {"handoff_level": "quick"}

    for change, error, words in BAD_CHANGES:
        response = await client.put(URL, json={**valid, **change} if change else {}, headers=csrf)

        assert response.status_code == 400, change
        body = await response.get_json()
        assert body["error"] == error and words in body["message"], body
        assert await stored_settings(services.db, org) == before


@pytest.mark.parametrize("role", ["agent", "viewer"])
async def test_only_admins_may_see_or_change_settings(app: Quart, services, org, role: str) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, org, role=role))

    shown = await client.get(URL)
    changed = await client.put(URL, json={"handoff_level": "quick"}, headers=csrf)

    assert (shown.status_code, changed.status_code) == (403, 403)
    assert "handoff_level" not in await stored_settings(services.db, org)


async def test_a_change_needs_the_csrf_token_and_a_login(app: Quart, services, org) -> None:
    client, _ = await logged_in(app, await make_agent(services.db, org, role="admin"))

    forged = await client.put(URL, json={"handoff_level": "quick"})
    anonymous = await app.test_client().get(URL)

    assert (forged.status_code, anonymous.status_code) == (403, 401)
    assert "handoff_level" not in await stored_settings(services.db, org)


async def test_an_admin_changes_only_their_own_organization(
    app: Quart, services, org, other_org
) -> None:
    client, csrf = await logged_in(app, await make_agent(services.db, other_org, role="admin"))

    response = await client.put(URL, json={"handoff_level": "ai_only"}, headers=csrf)

    assert response.status_code == 200
    assert (await stored_settings(services.db, other_org))["handoff_level"] == "ai_only"
    assert "handoff_level" not in await stored_settings(services.db, org)
