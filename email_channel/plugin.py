"""The email plug-in: the `email` channel (mail in through the inbound SMTP server and
IMAP, replies out by SMTP), which sends text only for now and words its notices for a
mailbox; the admins' mailbox API; the organization's first mailbox as the address agents
answer notification mails at; the `mailbox`, `smtp`, `imap` and `mail` subcommands;
and on one machine, one process for all mail intake on a loopback SMTP port and the demo's
mailbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from email_channel.channel import EmailChannel
from email_channel.commands import register
from email_channel.demo import DEMO_MAILBOX, ensure_demo_mailbox
from email_channel.health import report
from email_channel.mailboxes import reply_inbox
from email_channel.notices import EMAIL_NOTICES
from gateway.channels import AdminSetting, ChannelSpec
from gateway.plugins import ChannelPlugin, OnOneMachine, channel_plugin

if TYPE_CHECKING:
    from quart import Blueprint

EMAIL: ChannelPlugin = channel_plugin(
    "email",
    ChannelSpec(
        name=EmailChannel.name,
        label="Email",
        short="MAIL",
        phrase="email",
        notices=EMAIL_NOTICES,
        max_cc=10,
        detail_label="What the mail server said",
        opted_out_wording=(
            "Mail to {address} bounced on {since} ({how}). Nothing more can be sent to it "
            "until the customer writes again from it."
        ),
    ),
    EmailChannel,
    blueprints=lambda: [_admin_blueprint()],
    commands=register,
    reply_inbox=reply_inbox,
    health=report,
    admin_settings=(
        AdminSetting(
            label="Mailboxes",
            description="The support addresses customers write to, and how their mail reaches "
            "Switchboard (its own SMTP server, IMAP, or both).",
            api="/api/email/mailboxes",
            page="/admin/mailboxes",
        ),
    ),
    on_one_machine=OnOneMachine(
        # One process for all mail intake: each interpreter more slows a small machine.
        processes=(("mail", ("smtp", "--imap")),),
        environment=lambda settings: {
            "SWITCHBOARD_INBOUND_SMTP": settings.inbound_smtp or "127.0.0.1:2525"
        },
        demo=ensure_demo_mailbox,
        welcome=lambda env: (
            f"Mail the demo at {DEMO_MAILBOX} through SMTP on {env['SWITCHBOARD_INBOUND_SMTP']}"
        ),
    ),
)


def _admin_blueprint() -> Blueprint:
    from email_channel.admin_routes import email_admin  # the web layer, for the app only

    return email_admin
