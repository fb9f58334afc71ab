"""The Twilio Messaging plug-in: the `sms` and `whatsapp` channels (one adapter class,
Twilio's Messaging API), each taking up to ten images per message as Twilio does, with
WhatsApp's 24-hour window as its reachability rule and short notice wording for phones;
the webhooks, the numbers API and the admins' numbers page; the `number` subcommands; the
media fetch job and the sweep that re-fetches media a crash left pending."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.channels import AdminSetting, ChannelSpec
from gateway.plugins import ChannelPlugin
from messaging.twilio.addresses import SMS, WHATSAPP
from messaging.twilio.commands import add_commands
from messaging.twilio.inbound import FETCH_MEDIA
from messaging.twilio.media_sweep import MEDIA_SWEEP
from messaging.twilio.window import whatsapp_window

if TYPE_CHECKING:
    from quart import Blueprint

    from gateway.channels import Channel
    from gateway.runtime import Services

MAX_MEDIA_URLS = 10  # Twilio takes up to ten media URLs per message

SMS_NOTICES = {
    "handoff": "Connecting you to a person. {wait}",
    "agent_joined": "{agent} from {business} here.",
    "manual_control": "{agent} from {business} is taking over from our assistant.",
    "back_to_ai": "You're back with our assistant. Ask anything, or ask for a person.",
    "nobody_available": (
        "Sorry, nobody is free right now. Our assistant can help; ask for a person later."
    ),
    "resolved": "Marked as resolved. Text us any time.",
}
WHATSAPP_NOTICES = {**SMS_NOTICES, "resolved": "Marked as resolved. Message us any time."}


def _blueprints() -> Sequence[Blueprint]:
    from messaging.twilio.admin_routes import twilio_admin
    from messaging.twilio.page import twilio_page
    from messaging.twilio.webhooks import twilio_webhooks

    return (twilio_webhooks, twilio_admin, twilio_page)


def _adapters(services: Services) -> list[Channel]:
    from messaging.twilio.channel import twilio_channels

    return list(twilio_channels(services))


TWILIO: ChannelPlugin = ChannelPlugin(
    name="twilio",
    channels=(
        ChannelSpec(
            name=SMS,
            label="SMS",
            short="SMS",
            phrase="SMS",
            max_attachments=MAX_MEDIA_URLS,
            counts_segments=True,
            notices=SMS_NOTICES,
        ),
        ChannelSpec(
            name=WHATSAPP,
            label="WhatsApp",
            short="WA",
            phrase="WhatsApp",
            max_attachments=MAX_MEDIA_URLS,
            reachability=whatsapp_window,
            notices=WHATSAPP_NOTICES,
        ),
    ),
    adapters=_adapters,
    blueprints=_blueprints,
    commands=add_commands,
    jobs=(FETCH_MEDIA,),
    sweeps=(MEDIA_SWEEP,),
    admin_settings=(
        AdminSetting(
            label="Twilio numbers",
            description="The business numbers and Messaging Services that receive SMS, "
            "MMS and WhatsApp messages for this organization.",
            api="/api/twilio/numbers",
            page="/admin/twilio",  # messaging.twilio.page.PATH (a worker needs no pages)
        ),
    ),
)
