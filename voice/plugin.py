"""The voice plug-in: the `voice` channel (Twilio Voice), which carries no images and
speaks its notices; its webhooks, settings API and desk API are its blueprints. Calls share the
Twilio accounts and numbers of `messaging.twilio`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.channels import AdminSetting, ChannelSpec
from gateway.plugins import ChannelPlugin, channel_plugin
from voice.channel import VoiceChannel
from voice.commands import register
from voice.notices import VOICE_NOTICES
from voice.recording import FETCH_RECORDING
from voice.recording_sweep import RECORDING_SWEEP
from voice.settings import transfer_targets_rung

if TYPE_CHECKING:
    from quart import Blueprint


def _blueprints() -> Sequence[Blueprint]:
    from voice.admin_api import voice_admin
    from voice.desk_api import voice_desk
    from voice.page import voice_page
    from voice.routes import voice_routes

    return (voice_routes, voice_admin, voice_desk, voice_page)


VOICE: ChannelPlugin = channel_plugin(
    "voice",
    ChannelSpec(
        name=VoiceChannel.name,
        label="Call",
        short="CALL",
        phrase="phone call",
        notices=VOICE_NOTICES,
        honours_opt_out=False,  # texts after the call (text-back) still check the opt-out
        staffed_without_desk=transfer_targets_rung,
    ),
    VoiceChannel,
    blueprints=_blueprints,
    commands=register,
    jobs=(FETCH_RECORDING,),
    sweeps=(RECORDING_SWEEP,),
    admin_settings=(
        AdminSetting(
            label="Calls",
            description="What callers hear, how transfers to agents' phones behave, and the "
            "URLs to paste into Twilio for each number.",
            api="/api/admin/voice",
            page="/calls/settings",  # voice.page.PATH (not imported: a worker needs no pages)
        ),
    ),
)
