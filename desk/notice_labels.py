"""The customer notices as an admin reads them: a name and a sentence on when each is
sent, the placeholders that make sense in it, the sample values a preview fills in, and
template problems said in words ("{order} is not a placeholder you can use here").
The notices themselves, their defaults and how a template is chosen live in
`handoff.notice_templates`."""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

from gateway.errors import BadInput
from handoff.notice_templates import MAX_TEMPLATE_CHARS, PLACEHOLDERS


@dataclass(frozen=True, slots=True)
class NoticeKind:
    label: str
    when: str
    placeholders: tuple[str, ...]


KINDS: dict[str, NoticeKind] = {
    "handoff": NoticeKind(
        "Handed to a person",
        "When the conversation is handed to a person. Outside business hours, {wait} says "
        "when the team is back.",
        ("wait", "business"),
    ),
    "agent_joined": NoticeKind(
        "An agent joined", "When an agent claims the conversation.", ("agent", "business")
    ),
    "manual_control": NoticeKind(
        "An agent took over",
        "When an agent takes manual control of a conversation the AI is handling.",
        ("agent", "business"),
    ),
    "back_to_ai": NoticeKind(
        "Back to the AI", "When an agent hands the conversation back to the AI.", ("business",)
    ),
    "nobody_available": NoticeKind(
        "Nobody available",
        "When a waiting handoff runs out of time and the AI takes over again.",
        ("business",),
    ),
    "resolved": NoticeKind(
        "Resolved", "When an agent resolves the conversation.", ("agent", "business")
    ),
    "gather_details": NoticeKind(
        "Asking for the whole problem",
        "Before a handoff at the “AI first” level: the AI asks for every detail in one message.",
        ("business",),
    ),
    "message_taken_unstaffed": NoticeKind(
        "Message taken: nobody online",
        "When a customer asks for a person and nobody from the team is online.",
        ("business",),
    ),
    "message_taken_after_hours": NoticeKind(
        "Message taken: outside business hours",
        "Outside business hours, when the settings say the AI takes a message.",
        ("next_opening", "business"),
    ),
}
ANY_CHANNEL_LABEL = "All channels"


def kind_entry(kind: str) -> dict[str, object]:
    """A notice kind for the page; one added later without a label here still reads as
    words rather than as its name."""
    known = KINDS.get(kind)
    if known is None:
        words = kind.replace("_", " ")
        known = NoticeKind(words[:1].upper() + words[1:], "", tuple(PLACEHOLDERS))
    return {
        "kind": kind,
        "label": known.label,
        "when": known.when,
        "placeholders": [name for name in known.placeholders if name in PLACEHOLDERS],
    }


def _list(names: list[str]) -> str:
    quoted = ["{" + name + "}" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def check_text(text: object) -> str:
    """A template an admin wrote, or BadInput saying in words what to change."""
    if not isinstance(text, str) or not text.strip():
        raise BadInput("Write the notice, or reset it to the default.")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise BadInput(f"A notice can hold at most {MAX_TEMPLATE_CHARS} characters.")
    try:
        parts = list(Formatter().parse(text))
    except ValueError:
        raise BadInput(
            "Curly brackets mark placeholders such as {business}; "
            "a bracket on its own can't be used."
        ) from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = "{" + name + "}" if name else "{}"
            raise BadInput(
                f"{shown} is not a placeholder you can use. "
                f"You can use {_list(list(PLACEHOLDERS))}."
            )
    return text.strip()
