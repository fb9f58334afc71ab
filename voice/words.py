"""The fixed lines Switchboard speaks on a call: prompts, fillers, and one line per
transfer outcome. Terminal lines are fixed text, never generated, so a caller always
hears something sensible however the model behaves."""

from __future__ import annotations

STILL_THERE = "Are you still there? Tell me how I can help, or press 0 for a person."
NO_SOUND_GOODBYE = "I can't hear anything, so I'll end the call now. Please call back any time."
REPEAT = "Sorry, I didn't catch that. Could you say it again?"
ONE_MOMENT = "One moment."
TOO_SLOW = "Sorry, that's taking me longer than it should. Could you say that again?"
PERSON_REQUEST = "I'd like to talk to a person."
ANYTHING_ELSE = "Is there anything else I can help you with?"
RECORDING_NOTICE = "This call may be recorded."

# What a caller waiting on hold hears after an attempt ended, by its outcome.
ON_HOLD_AFTER: dict[str, str] = {
    "declined": "That person can't take the call right now. I'm trying someone else.",
    "no_answer": "Nobody answered there. I'm trying someone else.",
    "busy": "That line is busy. I'm trying someone else.",
    "failed": "I couldn't get through. I'm trying someone else.",
    "voicemail": "I reached a voicemail. I'm trying someone else.",
    "claimed_elsewhere": "Someone is picking up your conversation. Please hold.",
}
DROPPED = "Sorry, the line to our team member dropped."
CALLING_BACK = "I'm calling them back now. Please hold."
CALL_BACK_FAILED = "Sorry, I couldn't reach our team member again."
AGENT_LEFT = "Thanks for holding."

OFFER_TEXT_BACK = (
    "Nobody can take your call right now. Say yes or press 1 and we'll text you when "
    "someone is free, or just keep talking to me."
)
OFFER_CLOSED = (
    "Our team is away right now. Say yes or press 1 and we'll text you when someone is "
    "back, or just keep talking to me."
)
NOBODY_NOW = "Nobody can take your call right now, so I'm here to help. What can I do for you?"
TEXT_BACK_SENT = "Okay, we'll text you at this number when someone is free. Goodbye."
TEXT_BACK_IMPOSSIBLE = "I can't send you a text, but the team has your request. Goodbye."
BACK_WITH_AI = "Okay, I'm here. What else can I help you with?"
TEXT_BACK_SMS = (
    "Hi, this is {business}. You called and asked for a person; someone will reply here "
    "as soon as they're free."
)

# What the agent hears.
WHISPER = "Call from {name}. {summary} Press 1 to take it, or 2 to decline."
WHISPER_REASON = "Reason: {reason}."  # when the summary's first line does not give it
AGENT_CALLER_LEFT = "The caller has already hung up. Thanks."
AGENT_TAKEN = "Someone else has already taken this call. Thanks."
AGENT_DECLINED = "Okay, thanks."
