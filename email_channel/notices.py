"""What an email customer reads at each change of hands: the email channel's default
notice wording (`ChannelSpec.notices` of its plug-in). Kinds not listed use the wording
for every channel."""

from __future__ import annotations

EMAIL_NOTICES = {
    "handoff": (
        "Thanks for your message. I've passed it to a person on our team. {wait} "
        "Their reply will come by email."
    ),
    "agent_joined": "{agent} from {business} is looking into your message.",
    "manual_control": "{agent} from {business} is now handling your message personally.",
    "resolved": "We've marked this conversation as resolved. Reply to this email any time.",
}
