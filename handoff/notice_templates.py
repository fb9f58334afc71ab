"""What the customer is told at each change of hands, as templates per organization and
channel. Each channel declares its own default wording (`ChannelSpec.notices`: short for
SMS, spoken for calls), over the defaults here for every channel; an organization
overrides any of them in its settings as `notice_templates: {kind: {channel or "*": text}}`.
Templates may use only the known placeholders, filled in by plain substitution (no
attribute access, no format specs); an organization's template that breaks these rules is
logged and the default is used instead, so a customer always gets a sensible notice."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from string import Formatter

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels import ChannelSpec
from gateway.errors import BadInput
from gateway.models import Conversation, Organization
from gateway.org_settings import OrganizationSettings
from handoff.expected_wait import expected_wait, wait_sentence

log = logging.getLogger(__name__)

ANY_CHANNEL = "*"
MAX_TEMPLATE_CHARS = 1000
PLACEHOLDERS = {
    "agent": "the name of the agent who joined",
    "business": "the organization's name",
    "wait": "one sentence on the expected wait (handoff only)",
    "next_opening": "when the team is back, such as “Monday at 09:00” (outside hours only)",
}
AGENT_FALLBACK = "A person from our team"
_SPACES = re.compile(r"[ \t]{2,}")  # an empty placeholder leaves no double space

# The wording on every channel; a channel declares its own per kind
# (`ChannelSpec.notices`: short for SMS, spoken for calls), which wins over these.
DEFAULTS: dict[str, str] = {
    "handoff": "I'm connecting you to a person. {wait}",
    "agent_joined": "{agent} joined the conversation.",
    "manual_control": "{agent} from our team is now handling this conversation.",
    "back_to_ai": "You're back with our assistant. Ask me anything, or ask for a person again.",
    "nobody_available": (
        "Sorry, nobody from our team is free right now. You're back with our assistant; "
        "ask for a person again any time."
    ),
    "resolved": "This conversation is marked as resolved. Write again any time.",
    # the handoff policy (handoff/policy): the AI keeps the conversation for now
    "gather_details": (
        "I'll get a person to help. So they can help straight away, please describe the whole "
        "problem in one message: what happened, and any order or account number."
    ),
    "message_taken_unstaffed": (
        "Nobody from our team is online right now, so I've noted your message for them and "
        "someone will follow up here. Add any details that would help."
    ),
    "message_taken_after_hours": (
        "Our team is away right now and back {next_opening}. I've noted your message for "
        "them, and someone will follow up here then. Add any details that would help."
    ),
}
KINDS = tuple(DEFAULTS)


def placeholders_of(template: str) -> set[str]:
    """The placeholders a template uses; BadInput if it uses anything else."""
    if len(template) > MAX_TEMPLATE_CHARS:
        raise BadInput(f"a notice template may hold at most {MAX_TEMPLATE_CHARS} characters")
    try:
        parts = list(Formatter().parse(template))
    except ValueError as error:
        raise BadInput(f"notice template {template!r}: {error}") from None
    names = set()
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            known = ", ".join("{" + known + "}" for known in PLACEHOLDERS)
            raise BadInput(f"notice template {template!r}: only {known} may be used")
        names.add(name)
    return names


def render(template: str, values: Mapping[str, str]) -> str:
    """Plain substitution of known placeholders (see `placeholders_of`)."""
    placeholders_of(template)
    pieces = []
    for literal, name, _spec, _conversion in Formatter().parse(template):
        pieces.append(literal)
        if name is not None:
            pieces.append(values.get(name, ""))
    return _SPACES.sub(" ", "".join(pieces)).strip()


def validate_templates(raw: object) -> dict[str, dict[str, str]]:
    """An organization's `notice_templates` setting, checked; BadInput names the problem."""
    if not isinstance(raw, dict):
        raise BadInput("notice_templates must map a notice kind to {channel or '*': text}")
    checked: dict[str, dict[str, str]] = {}
    for kind, by_channel in raw.items():
        if kind not in DEFAULTS:
            raise BadInput(f"unknown notice kind {kind!r}; known: {', '.join(KINDS)}")
        if not isinstance(by_channel, dict):
            raise BadInput(f"notice_templates.{kind} must map a channel or '*' to a text")
        for channel, template in by_channel.items():
            if not isinstance(channel, str) or not isinstance(template, str) or not template:
                raise BadInput(f"notice_templates.{kind}: each channel needs a text")
            placeholders_of(template)
        checked[kind] = dict(by_channel)
    return checked


def default_for(kind: str, channel_notices: Mapping[str, str]) -> str:
    """The channel's own default for this kind, else the one for every channel."""
    return channel_notices.get(kind) or DEFAULTS[kind]


def template_for(
    kind: str, channel: str, overrides: Mapping[str, object], channel_notices: Mapping[str, str]
) -> str:
    """The organization's template for this kind and channel (or for every channel), else
    the channel's default, else the default for every channel."""
    own = overrides.get(kind)
    if isinstance(own, Mapping):
        for key in (channel, ANY_CHANNEL):
            template = own.get(key)
            if isinstance(template, str) and template:
                return template
    return default_for(kind, channel_notices)


def usable_template(kind: str, channel: ChannelSpec, settings: OrganizationSettings) -> str:
    """The template the notice is rendered from: a broken organization template falls back
    to the default."""
    template = template_for(kind, channel.name, settings.notice_templates or {}, channel.notices)
    try:
        placeholders_of(template)
    except BadInput as error:
        log.warning(
            "notice template for %s on %s is unusable (%s); using the default",
            kind,
            channel.name,
            error.message,
        )
        return default_for(kind, channel.notices)
    return template


def compose(
    kind: str,
    channel: ChannelSpec,
    settings: OrganizationSettings,
    values: Mapping[str, str],
) -> str:
    """The notice text, from `usable_template`."""
    return render(usable_template(kind, channel, settings), values)


async def notice_text(
    session: AsyncSession,
    conversation: Conversation,
    channel: ChannelSpec,
    kind: str,
    values: Mapping[str, str],
) -> tuple[str, dict[str, str]]:
    """The notice for this conversation's organization and channel, and what to record
    with it (the caller's values, and the expected wait of a handoff whose notice tells it:
    the voice default does not, and working it out takes two queries)."""
    if kind not in DEFAULTS:
        raise BadInput(f"unknown notice kind {kind!r}")
    organization = await session.get(Organization, conversation.organization_id)
    settings = OrganizationSettings.from_json(organization.settings if organization else None)
    recorded = dict(values)
    template = usable_template(kind, channel, settings)
    if kind == "handoff" and "wait" not in recorded and "wait" in placeholders_of(template):
        seconds = await expected_wait(session, conversation.organization_id, conversation.id)
        recorded["wait"] = wait_sentence(seconds)
        if seconds is not None:
            recorded["wait_seconds"] = "inf" if math.isinf(seconds) else str(round(seconds))
    filled = {"business": organization.name if organization else "", "agent": AGENT_FALLBACK}
    filled.update(recorded)
    return render(template, filled), recorded
