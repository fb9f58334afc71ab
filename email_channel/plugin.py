"""The email plug-in: the `email` channel (mail in through the inbound SMTP server and
IMAP, replies out by SMTP), which sends text only for now and words its notices for a
mailbox; the `mailbox`, `smtp` and `mail` subcommands."""

from __future__ import annotations

from email_channel.channel import EmailChannel
from email_channel.commands import register
from email_channel.notices import EMAIL_NOTICES
from gateway.channels import ChannelSpec
from gateway.plugins import ChannelPlugin, channel_plugin

EMAIL: ChannelPlugin = channel_plugin(
    "email",
    ChannelSpec(
        name=EmailChannel.name,
        label="Email",
        short="MAIL",
        phrase="email",
        notices=EMAIL_NOTICES,
    ),
    EmailChannel,
    commands=register,
)
