"""The summary an agent reads before picking up a handoff: who, on which channel, what they
want, the key facts (order numbers, emails, phones, amounts), their sentiment, what the AI
already tried and why it handed off. A hosted model writes it when one is configured;
otherwise, or when the model fails, it is extracted from the transcript. Either way the
first line is one sentence that can be spoken (the voice whisper), and the key facts found
by pattern are always in it, so a model cannot drop an order number."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from statistics import fmean

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from handoff.ai.llm_client import LLMConfig, LLMError, complete
from handoff.ai.offline_responder import small_talk_reply
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


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _label(compound: float) -> str:
    if compound <= -0.5:
        return "very negative"
    if compound <= -0.05:
        return "negative"
    if compound >= 0.5:
        return "very positive"
    if compound >= 0.05:
        return "positive"
    return "neutral"


def sentiment(texts: Sequence[str]) -> tuple[str, str]:
    """The customer's overall mood (VADER's compound score, averaged over their messages)
    and the mood of their latest message, as words and the line that says so."""
    scores = [_analyzer().polarity_scores(text)["compound"] for text in texts if text.strip()]
    if not scores:
        return "unknown", "Sentiment: unknown (no customer messages)"
    overall = _label(fmean(scores))
    detail = f"VADER {fmean(scores):+.2f} over {len(scores)} message{'s' * (len(scores) > 1)}"
    latest = _label(scores[-1])
    trend = f"; latest message {latest}" if len(scores) > 1 and latest != overall else ""
    return overall, f"Sentiment: {overall} ({detail}{trend})"


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


def requests_of(data: SummaryInput) -> list[str]:
    """What the customer asked, as the first and the latest substantive message."""
    asked = [line.text for line in data.messages if line.author == "customer" and line.text]
    substantive = [text for text in asked if _substantive(text)]
    if not substantive:
        return asked[-1:]
    return list(dict.fromkeys([substantive[0], substantive[-1]]))


def who(data: SummaryInput) -> str:
    return data.customer_name or "An unnamed customer"


def why(data: SummaryInput) -> str:
    rules = [str(hit.get("rule")) for hit in data.rule_hits if hit.get("fired") and "rule" in hit]
    return data.reason + (f" (rules: {', '.join(rules)})" if rules else "")


def ai_attempts(data: SummaryInput) -> str:
    answers = [line for line in data.messages if line.author == "ai"]
    if not answers:
        return "AI so far: no answers before the handoff"
    unsure = sum(1 for line in answers if line.knows is False)
    counted = f"{len(answers)} answer{'s' * (len(answers) > 1)}"
    if unsure:
        counted += f", {unsure} of them “not sure”"
    people = (
        " A person from the team already wrote earlier."
        if any(line.author == "agent" for line in data.messages)
        else ""
    )
    return f"AI so far: {counted}; last: {_quote(answers[-1].text)}{people}"


def extractive_summary(data: SummaryInput) -> str:
    customer_texts = [line.text for line in data.messages if line.author == "customer"]
    asked = requests_of(data)
    mood, mood_line = sentiment(customer_texts)
    facts = extract_facts(customer_texts)
    gist_request = _quote(_first_sentence(asked[0]), GIST_CHARS) if asked else "no message yet"
    gist = (
        f"{who(data)} on {data.channel} wants help with {gist_request}; "
        f"mood {mood}; handed off because {data.reason}."
    )
    contact = " · ".join([who(data), *data.addresses, data.channel])
    wants = "Wants: " + (" Latest: ".join(_quote(text) for text in asked) or "not said yet")
    lines = [gist, f"Customer: {contact}", wants, facts.line(), mood_line, ai_attempts(data)]
    lines.append(f"Why handed off: {why(data)}")
    return "\n".join(lines)


SUMMARY_PROMPT = """You write the handoff note a support agent reads before taking over a \
customer conversation from the AI assistant. Write plain text, no Markdown, in English, in \
exactly these lines:
1. One sentence that can be read aloud: who, what they want, their mood, why handed off.
Customer: name and contact details.
Wants: what the customer wants, in their own words where short.
Key facts: order numbers, emails, phone numbers, amounts (or "none mentioned").
Sentiment: the customer's mood and whether it changed.
AI so far: what the assistant answered or could not answer.
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
    user = (
        f"Channel: {data.channel}\nCustomer: {contact}\n"
        f"Why handed off: {why(data)}\n{facts.line()}\n\nTranscript:\n{transcript(data)}"
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
