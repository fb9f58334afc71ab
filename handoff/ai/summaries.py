"""The summary an agent reads before picking up a handoff, as short lines: who, on which
channel, the unresolved issue (what the customer asked that the AI could not answer or has
not answered yet, never a question it already answered), the key facts (order numbers,
emails, phones, amounts), how frustrated they sound (the tone rule's model), what the AI
tried, and why it handed off, in plain words (the policy's rule names stay with the
decision record). A hosted model writes it when one is configured; otherwise, or when the
model fails, it is extracted from the transcript. Either way the first line is one
sentence that can be spoken (the voice whisper), and the key facts found by pattern are
always in it, so a model cannot drop an order number."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean

from handoff.ai.llm_client import LLMConfig, LLMError, complete
from handoff.ai.offline_responder import small_talk_reply
from handoff.ai.tone import frustration
from handoff.person_request import asks_for_person

log = logging.getLogger(__name__)

QUOTE_CHARS = 160
GIST_CHARS = 90  # the first line is spoken to the agent: keep it short
TRANSCRIPT_MESSAGES = 30
MAX_SUMMARY_CHARS = 2000

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MONEY = re.compile(
    r"[$€£]\s?\d[\d,]*(?:\.\d{1,2})?"
    r"|\b\d[\d,]*(?:\.\d{1,2})?\s?(?:USD|EUR|GBP|dollars?|euros?|pounds?)\b",
    re.IGNORECASE,
)
_ORDER = re.compile(
    r"#\s?\d{3,}\b"
    r"|\b(?:ORD|ORDER|INV|RMA|PO)[-_]?\d[\w-]{2,}"
    r"|\border\s+(?:number\s+|no\.?\s*|num\s+)?(?:is\s+)?[:#]?\s*\d[\d-]{3,}",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w#.-])\+?\d[\d\s().-]{6,}\d(?![\w-])")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LEADING_ORDER = re.compile(r"^order\s+(?:number\s+|no\.?\s*|num\s+)?(?:is\s+)?[:#]?\s*", re.I)


@dataclass(frozen=True, slots=True)
class Line:
    """One message of the transcript."""

    author: str  # customer | ai | agent | system
    text: str
    knows: bool | None = None  # for the AI's answers: False when it said it was not sure


@dataclass(frozen=True, slots=True)
class SummaryInput:
    channel: str  # as it reads in a sentence ("SMS", "web chat"): `ChannelSpec.phrase`
    customer_name: str | None
    addresses: tuple[str, ...]  # how to reach the customer (phone, email)
    messages: tuple[Line, ...]
    reason: str
    rule_hits: tuple[Mapping[str, object], ...] = ()


@dataclass(frozen=True, slots=True)
class Facts:
    orders: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        found = [("orders", self.orders), ("emails", self.emails)]
        found += [("phones", self.phones), ("amounts", self.amounts)]
        return [(label, values) for label, values in found if values]

    def line(self) -> str:
        found = "; ".join(f"{label} {', '.join(values)}" for label, values in self.items())
        return f"Key facts: {found or 'none mentioned'}"


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def extract_facts(texts: Sequence[str]) -> Facts:
    """Order numbers, emails, phone numbers and amounts of money, in order of appearance."""
    orders: list[str] = []
    emails: list[str] = []
    phones: list[str] = []
    amounts: list[str] = []
    for text in texts:
        rest = text
        for pattern, found in ((_EMAIL, emails), (_MONEY, amounts), (_ORDER, orders)):
            for match in pattern.finditer(rest):
                found.append(match.group().strip())
            rest = pattern.sub(lambda m: " " * len(m.group()), rest)
        for match in _PHONE.finditer(rest):
            candidate = match.group().strip()
            digits = re.sub(r"\D", "", candidate)
            if 8 <= len(digits) <= 15 and not _DATE.match(candidate):
                phones.append(candidate)
    orders = [_LEADING_ORDER.sub("#", order).replace("# ", "#") for order in orders]
    return Facts(_unique(orders), _unique(emails), _unique(phones), _unique(amounts))


def _mood(score: float) -> str:
    if score >= 0.7:
        return "very frustrated"
    if score >= 0.5:
        return "frustrated"
    if score >= 0.3:
        return "a little frustrated"
    return "calm"


def sentiment(texts: Sequence[str]) -> tuple[str, str]:
    """How frustrated the customer sounds (the higher of their latest message and the mean
    of their messages, as the tone rule reads it), as words and the line that says so."""
    scores = [frustration(text) for text in texts if text.strip()]
    if not scores:
        return "unknown", "Mood: unknown (no customer messages)"
    overall = _mood(max(scores[-1], fmean(scores)))
    latest = _mood(scores[-1])
    trend = f"; latest message {latest}" if len(scores) > 1 and latest != overall else ""
    return overall, f"Mood: {overall}{trend}"


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1].rstrip() + '…'}”"


def _first_sentence(text: str) -> str:
    return _SENTENCE.split(" ".join(text.split()), maxsplit=1)[0]


def _substantive(text: str) -> bool:
    """Not only a greeting, thanks, or a bare request for a person."""
    if small_talk_reply(text, "") is not None:
        return False
    return not (asks_for_person(text) and len(text.split()) <= 8)


@dataclass(frozen=True, slots=True)
class Asked:
    """The customer's substantive messages: those still open, and those the AI answered."""

    unresolved: tuple[str, ...]
    answered: tuple[str, ...]
    unsure: tuple[str, ...]  # the open ones the AI said it was not sure about


def asked_of(data: SummaryInput) -> Asked:
    """Sorts what the customer asked by the reply it got: the next message from the AI or a
    person after it (customer messages in a row share one). Answered means the AI replied
    and did not say it was unsure; anything else is still open."""
    unresolved: list[str] = []
    answered: list[str] = []
    unsure: list[str] = []
    messages = data.messages
    for index, line in enumerate(messages):
        if line.author != "customer" or not line.text.strip() or not _substantive(line.text):
            continue
        reply = next((m for m in messages[index + 1 :] if m.author in ("ai", "agent")), None)
        if reply is not None and reply.author == "ai" and reply.knows is not False:
            answered.append(line.text)
            continue
        unresolved.append(line.text)
        if reply is not None and reply.author == "ai":
            unsure.append(line.text)
    return Asked(*(tuple(dict.fromkeys(texts)) for texts in (unresolved, answered, unsure)))


def issue_line(asked: Asked) -> str:
    """The unresolved issue, latest first; an answered question is never the issue."""
    if asked.unresolved:
        latest, *earlier = reversed(asked.unresolved)
        also = f" Earlier: {_quote(earlier[-1])}" if earlier else ""
        return f"Issue: {_quote(latest)}{also}"
    if asked.answered:
        return f"Issue: not stated yet (the AI answered {_quote(asked.answered[-1], 80)})"
    return "Issue: not stated yet"


def who(data: SummaryInput) -> str:
    return data.customer_name or "An unnamed customer"


def ai_attempts(data: SummaryInput, asked: Asked) -> str:
    """What the AI tried, in one short line."""
    answers = [line for line in data.messages if line.author == "ai"]
    if not answers:
        return "AI tried: nothing yet (handed off before it answered)"
    parts = []
    if asked.answered:
        shown = ", ".join(_quote(text, 60) for text in asked.answered[-2:])
        parts.append(f"answered {shown}")
    if asked.unsure:
        parts.append(f"was not sure about {_quote(asked.unsure[-1], 60)}")
    if not parts:
        parts.append(f"{len(answers)} answer{'s' * (len(answers) > 1)}")
    people = (
        "; a person from the team already wrote earlier"
        if any(line.author == "agent" for line in data.messages)
        else ""
    )
    return f"AI tried: {'; '.join(parts)}{people}"


def extractive_summary(data: SummaryInput) -> str:
    customer_texts = [line.text for line in data.messages if line.author == "customer"]
    asked = asked_of(data)
    mood, mood_line = sentiment(customer_texts)
    facts = extract_facts(customer_texts)
    gist_issue = (
        _quote(_first_sentence(asked.unresolved[-1]), GIST_CHARS)
        if asked.unresolved
        else "no open question yet"
    )
    reason = f"handed off because {data.reason}"
    gist = f"{who(data)} via {data.channel}: {gist_issue}; {mood}; {reason}."
    contact = " · ".join([who(data), *data.addresses, data.channel])
    lines = [gist, f"Customer: {contact}", issue_line(asked), facts.line(), mood_line]
    lines += [ai_attempts(data, asked), f"Why handed off: {data.reason}"]
    return "\n".join(lines)


SUMMARY_PROMPT = """You write the handoff note a support agent reads before taking over a \
customer conversation from the AI assistant. Write plain text, no Markdown, in English, in \
exactly these short lines:
1. One sentence that can be read aloud: who, the unresolved issue, their mood, why handed off.
Customer: name and contact details.
Issue: what the customer still needs, in their own words where short. Never a question \
the assistant already answered (listed below).
Key facts: order numbers, emails, phone numbers, amounts (or "none mentioned").
Mood: how frustrated the customer sounds, and whether it changed.
AI tried: what the assistant answered or could not answer.
Why handed off: the reason given below.
Use only what the transcript says; never invent facts."""


def transcript(data: SummaryInput) -> str:
    names = {"customer": "Customer", "ai": "Assistant", "agent": "Agent", "system": "Notice"}
    lines = [
        f"{names.get(line.author, line.author)}: {' '.join(line.text.split())}"
        for line in data.messages[-TRANSCRIPT_MESSAGES:]
        if line.text.strip()
    ]
    return "\n".join(lines)


async def llm_summary(data: SummaryInput, config: LLMConfig) -> str:
    facts = extract_facts([line.text for line in data.messages if line.author == "customer"])
    contact = " · ".join([who(data), *data.addresses])
    answered = "; ".join(_quote(text, 80) for text in asked_of(data).answered) or "nothing"
    user = (
        f"Channel: {data.channel}\nCustomer: {contact}\n"
        f"Why handed off: {data.reason}\n{facts.line()}\n"
        f"Already answered by the assistant: {answered}\n\nTranscript:\n{transcript(data)}"
    )
    completion = await complete(
        config, [{"role": "system", "content": SUMMARY_PROMPT}, {"role": "user", "content": user}]
    )
    text = completion.content.strip()
    if not text:
        raise LLMError("the summary is empty")
    text = text[:MAX_SUMMARY_CHARS]
    missing = [value for _, values in facts.items() for value in values if value not in text]
    return f"{text}\n{facts.line()}" if missing else text


async def summarize(data: SummaryInput, config: LLMConfig | None = None) -> str:
    """The hosted model's summary when one is configured and answers, else the extract."""
    if config is not None:
        try:
            return await llm_summary(data, config)
        except LLMError as error:
            log.warning("hosted model %s could not summarize (%s); extracting", config.model, error)
    return extractive_summary(data)
