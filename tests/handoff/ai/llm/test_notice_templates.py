"""Customer notices per organization and channel: channel defaults, an organization's own
templates (per channel, then for every channel), safe rendering that falls back to the
default on a bad template, and an honest expected wait computed from the organization's
recent handoffs."""

from __future__ import annotations

import logging
import math
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway import ownership
from gateway.channels import ChannelSpec, unknown_spec
from gateway.errors import BadInput
from gateway.models import Conversation, Message, utcnow
from gateway.org_settings import OrganizationSettings
from gateway.ownership import State
from gateway.runtime import Services
from handoff.expected_wait import BUSY, UNKNOWN, expected_wait, wait_sentence
from handoff.notice_templates import (
    KINDS,
    compose,
    placeholders_of,
    render,
    validate_templates,
)
from handoff.notices import post_notice
from messaging.twilio.plugin import SMS_NOTICES, TWILIO
from messaging.webchat.plugin import WEBCHAT
from tests.support.factories import chat_message, intake_for, make_agent, make_org
from tests.support.statements import statements_of
from voice.notices import VOICE_NOTICES

WEB, SMS = WEBCHAT.channels[0], TWILIO.channels[0]
# The voice plug-in declares the same spoken wording.
VOICE = ChannelSpec("voice", "Call", "CALL", "phone call", notices=VOICE_NOTICES)
VALUES = {"agent": "Dana", "business": "Acme", "wait": UNKNOWN}


def test_every_kind_has_a_default_for_every_channel_and_sms_is_shorter() -> None:
    settings = OrganizationSettings()
    for kind in KINDS:
        web = compose(kind, WEB, settings, VALUES)
        assert web and "{" not in web
        assert len(compose(kind, SMS, settings, VALUES)) <= len(web) or kind == "agent_joined"
    assert compose("agent_joined", WEB, settings, VALUES) == "Dana joined the conversation."
    assert compose("handoff", VOICE, settings, VALUES).startswith("Please hold while I connect")
    assert compose("handoff", unknown_spec("pigeon"), settings, VALUES) == compose(
        "handoff", WEB, settings, VALUES
    )


def test_an_organizations_channel_template_beats_its_any_channel_one_which_beats_defaults() -> None:
    settings = OrganizationSettings.from_json(
        {
            "notice_templates": {
                "handoff": {"sms": "SMS: a person is coming. {wait}", "*": "Hold on, {business}!"},
                "resolved": {"voice": "Bye from {business}."},
            }
        }
    )

    assert compose("handoff", SMS, settings, VALUES) == f"SMS: a person is coming. {UNKNOWN}"
    assert compose("handoff", WEB, settings, VALUES) == "Hold on, Acme!"
    assert compose("resolved", VOICE, settings, VALUES) == "Bye from Acme."
    assert compose("resolved", SMS, settings, VALUES) == SMS_NOTICES["resolved"]


@pytest.mark.parametrize(
    "template",
    [
        "Hi {agent.__class__}",
        "Hi {customer_secret}",
        "Hi {agent:>99999999}",
        "Hi {agent!r}",
        "Hi {0}",
        "Hi {",
        "x" * 1001,
    ],
)
def test_a_bad_template_is_refused_and_the_default_is_used(template: str, caplog) -> None:
    with pytest.raises(BadInput):
        placeholders_of(template)
    with pytest.raises(BadInput):
        validate_templates({"agent_joined": {"*": template}})
    settings = OrganizationSettings.from_json(
        {"notice_templates": {"agent_joined": {"*": template}}}
    )
    caplog.set_level(logging.WARNING)

    assert compose("agent_joined", WEB, settings, VALUES) == "Dana joined the conversation."
    assert "unusable" in caplog.text


def test_settings_of_the_wrong_shape_are_refused() -> None:
    for raw in ([], {"nope": {"*": "x"}}, {"handoff": "x"}, {"handoff": {"*": 3}}):
        with pytest.raises(BadInput):
            validate_templates(raw)
    assert validate_templates({"handoff": {"sms": "Wait: {wait}"}}) == {
        "handoff": {"sms": "Wait: {wait}"}
    }


def test_rendering_substitutes_values_literally() -> None:
    assert render("{agent} joined", {"agent": "{business} <b>"}) == "{business} <b> joined"
    assert render("Hello {agent}  there", {}) == "Hello there"


def test_the_wait_sentence_promises_only_what_was_measured() -> None:
    assert wait_sentence(None) == UNKNOWN and wait_sentence(math.inf) == BUSY
    assert wait_sentence(30) == "Someone usually replies within a minute."
    assert wait_sentence(4 * 60 + 10) == "Someone usually replies within about 5 minutes."
    assert wait_sentence(3 * 3600) == "Replies are taking more than an hour right now."


async def past_handoff(
    services: Services, org, waited: timedelta, *, claimed_by: int | None, visitor: str
) -> None:
    """A finished handoff of `waited`: claimed by an agent, or expired unclaimed (None)."""
    received = await intake_for(services).receive(chat_message(org, "hi", visitor=visitor))
    start = utcnow() - timedelta(hours=1)
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        queued = await ownership.transition(
            session, conversation, State.QUEUED, actor=ownership.AI, now=start
        )
        if claimed_by is not None:
            await ownership.transition(
                session,
                conversation,
                State.ASSIGNED,
                actor=ownership.agent(claimed_by),
                assignee_id=claimed_by,
                now=start + waited,
            )
        else:
            await ownership.transition(
                session, conversation, State.AI, actor=ownership.SYSTEM, now=start + waited
            )
        assert queued.created_at == start


async def test_the_expected_wait_is_the_median_of_recent_handoffs(services: Services) -> None:
    org = await make_org(services.db, "waits")
    agent = await make_agent(services.db, org)
    async with services.db.transaction() as session:
        assert await expected_wait(session, org.id) is None
    for minutes, visitor in ((2, "a"), (6, "b"), (4, "c")):
        await past_handoff(
            services, org, timedelta(minutes=minutes), claimed_by=agent.id, visitor=visitor
        )

    async with services.db.transaction() as session:
        assert await expected_wait(session, org.id) == 4 * 60
    for visitor in ("d", "e"):
        await past_handoff(services, org, timedelta(minutes=15), claimed_by=None, visitor=visitor)
    async with services.db.transaction() as session:
        assert await expected_wait(session, org.id) == 6 * 60  # 2, 4, 6, never, never
    await past_handoff(services, org, timedelta(minutes=15), claimed_by=None, visitor="f")
    async with services.db.transaction() as session:
        assert await expected_wait(session, org.id) == math.inf  # most found nobody


async def test_the_handoff_notice_tells_the_wait_on_the_channel_in_the_orgs_words(
    services: Services,
) -> None:
    org = await make_org(
        services.db,
        "worded",
        notice_templates={"handoff": {"webchat": "{business}: a person is on the way. {wait}"}},
    )
    received = await intake_for(services).receive(chat_message(org, "hello"))
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        message = await post_notice(session, services, conversation, "handoff")
        joined = await post_notice(session, services, conversation, "agent_joined", agent="Li")
        override = await post_notice(
            session, services, conversation, "handoff", wait="Back Monday at 9."
        )

    assert message.text == f"Worded: a person is on the way. {UNKNOWN}"
    assert message.meta == {"notice": "handoff", "wait": UNKNOWN}
    assert (joined.text, joined.meta) == (
        "Li joined the conversation.",
        {"notice": "agent_joined", "agent": "Li"},
    )
    assert override.text == "Worded: a person is on the way. Back Monday at 9."
    async with services.db.transaction() as session:
        stored = (await session.scalars(select(Message).order_by(Message.id))).all()
    assert [m.text for m in stored if m.author == "system"] == [
        message.text,
        joined.text,
        override.text,
    ]


async def test_a_notice_that_tells_no_wait_does_not_work_one_out(services: Services) -> None:
    """As the voice default: the hold line rings phones at once, and the two queries of
    the expected wait would only add to what the caller waits through."""
    org = await make_org(
        services.db,
        "unhurried",
        notice_templates={"handoff": {"webchat": "{business}: a person is on the way."}},
    )
    received = await intake_for(services).receive(chat_message(org, "hello"))
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        with statements_of(services.db) as statements:
            message = await post_notice(session, services, conversation, "handoff")

    assert (message.text, message.meta) == (
        "Unhurried: a person is on the way.",
        {"notice": "handoff"},
    )
    assert not [s for s in statements if "transitions" in s or "waiting_since" in s], statements


async def test_conversations_still_waiting_count_as_at_least_their_wait_so_far(
    services: Services,
) -> None:
    org = await make_org(services.db, "busy")
    agent = await make_agent(services.db, org)
    for minutes, visitor in ((2, "a"), (3, "b"), (4, "c")):
        await past_handoff(
            services, org, timedelta(minutes=minutes), claimed_by=agent.id, visitor=visitor
        )
    for minutes, visitor in ((40, "d"), (50, "e")):
        received = await intake_for(services).receive(chat_message(org, "hi", visitor=visitor))
        async with services.db.transaction() as session:
            conversation = await session.get(Conversation, received.conversation_id)
            assert conversation is not None
            await ownership.transition(
                session,
                conversation,
                State.QUEUED,
                actor=ownership.AI,
                now=utcnow() - timedelta(minutes=minutes),
            )

    async with services.db.transaction() as session:
        seconds = await expected_wait(session, org.id)
    assert seconds == 4 * 60  # 2, 3, 4, ≥40, ≥50: the queue pushes the median up from 3
