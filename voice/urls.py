"""The voice routes' paths and the absolute URLs Switchboard hands Twilio in TwiML and REST
calls. Each URL names the call (`c`) or the transfer attempt (`a`) and, for the caller's
turns, the turn number (`n`): they are part of the URL Twilio signs, so they cannot be
altered, and a repeated request is recognized by them."""

from __future__ import annotations

from urllib.parse import urlencode

from gateway.settings import Settings

INCOMING = "/twilio/voice"
STATUS = "/twilio/voice/status"
TURN = "/twilio/voice/turn"
WAIT = "/twilio/voice/wait"
HOLD = "/twilio/voice/hold"
DIAL_DONE = "/twilio/voice/dial-done"
CONFERENCE = "/twilio/voice/conference"
RESUME = "/twilio/voice/resume"
OFFER = "/twilio/voice/offer"
RECORDING = "/twilio/voice/recording"
AGENT = "/twilio/voice/agent"
AGENT_ANSWER = "/twilio/voice/agent-answer"
AGENT_STATUS = "/twilio/voice/agent-status"
AGENT_AMD = "/twilio/voice/agent-amd"


def url(settings: Settings, path: str, **query: int | str) -> str:
    base = settings.resolved_public_url + path
    return f"{base}?{urlencode(query)}" if query else base


def room(call_id: int, round_: int) -> str:
    """A conference's name: no customer data in it, one per transfer round."""
    return f"sb-{call_id}-{round_}"
