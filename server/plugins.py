"""The one tuple of channel plug-ins this build serves. The app, the worker and the CLI are
all built from it: adding a channel is its package plus one line here."""

from __future__ import annotations

from email_channel.plugin import EMAIL
from gateway.plugins import ChannelPlugin
from messaging.twilio.plugin import TWILIO
from messaging.webchat.plugin import WEBCHAT
from voice.plugin import VOICE

PLUGINS: tuple[ChannelPlugin, ...] = (WEBCHAT, TWILIO, EMAIL, VOICE)
