"""What a caller hears at each change of hands, spoken rather than written: the voice
channel's default notice wording (`ChannelSpec.notices` of its plug-in)."""

from __future__ import annotations

VOICE_NOTICES = {
    # No expected wait ({wait}): it is measured on written replies, while a caller's
    # transfer rings phones at once, and with nobody to ring the caller hears so next.
    "handoff": "Please hold while I connect you to a person.",
    "agent_joined": "You're now speaking with {agent}.",
    "manual_control": "You're now speaking with {agent}.",
    "back_to_ai": "You're back with our assistant. How else can I help?",
    "nobody_available": (
        "Sorry, nobody from our team is free right now. I can keep helping, "
        "or you can ask for a person again later."
    ),
    "resolved": "Thank you for calling {business}. Goodbye.",
}
