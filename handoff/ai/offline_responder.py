"""The responder that needs no hosted model: it answers the customer's last message from the
organization's knowledge base when retrieval is confident enough, says honestly that it
does not know otherwise (so the policy can offer a person), and answers greetings and
thanks itself. It is the default responder and the one the tests and the demo run."""

from __future__ import annotations

import re

from gateway.db import Database
from handoff.ai.knowledge import current_index
from handoff.ai.responder import ResponderReply, ResponderRequest
from handoff.ai.retrieval import Hit

MAX_ANSWER = 600
CANDIDATES = 3
DONT_KNOW = (
    "I'm not sure about that one. You can rephrase, or ask to talk to a person and I'll "
    "connect you."
)
THANKS_REPLY = "You're welcome! Is there anything else I can help you with?"

_ACK = r"(?:(?:ok|okay|great|perfect|cool|awesome|brilliant|lovely|nice)[\s,.!]*)?"
_GREETING = re.compile(
    r"(?:hi|hello|hey|hiya|howdy|good\s+(?:morning|afternoon|evening)|greetings)"
    r"(?:\s+(?:there|team|all|everyone))?[\s,.!?:)]*"
)
_THANKS = re.compile(
    _ACK + r"(?:thanks|thank\s+you|thx|ty|cheers|many\s+thanks)"
    r"(?:\s+(?:so\s+much|very\s+much|a\s+lot|a\s+bunch))?(?:\s+for\s+[\w\s']{1,40})?[\s,.!:)]*"
)
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)


class OfflineResponder:
    """Answers from the knowledge base, above `threshold` retrieval confidence."""

    def __init__(self, db: Database, threshold: float = 0.45) -> None:
        self.db = db
        self.threshold = threshold

    async def respond(self, request: ResponderRequest) -> ResponderReply:
        question = next(
            (turn.text.strip() for turn in reversed(request.history) if turn.author == "customer"),
            "",
        )
        small_talk = small_talk_reply(question, request.business_name)
        if small_talk is not None:
            return ResponderReply(small_talk, confidence=1.0, knows=True)
        best = (
            await self.best_hit(request.organization_id, question, request.knowledge_version)
            if question
            else None
        )
        if best is None or best.confidence < self.threshold:
            confidence = 0.0 if best is None else best.confidence
            return ResponderReply(DONT_KNOW, confidence=confidence, knows=False)
        return ResponderReply(
            trim_answer(catalog_answer(best.title, best.body) or plain_text(best.body)),
            confidence=best.confidence,
            knows=True,
            sources=(best.title,),
        )

    async def best_hit(
        self, organization_id: int, question: str, knowledge_version: str | None = None
    ) -> Hit | None:
        """The most confident of the best-ranked entries (the first of them on a tie), from
        the index of `knowledge_version` when this process holds it."""
        index = await current_index(self.db, organization_id, knowledge_version)
        hits = index.search(question, limit=CANDIDATES)
        return max(hits, key=lambda hit: hit.confidence, default=None)


def small_talk_reply(text: str, business_name: str) -> str | None:
    """A short answer to a message that is only a greeting or only thanks, else None."""
    normalized = " ".join(text.lower().replace("\u2019", "'").split())
    if _GREETING.fullmatch(normalized):
        where = f" to {business_name}" if business_name else ""
        return f"Hi! Welcome{where}. How can I help you today?"
    if _THANKS.fullmatch(normalized):
        return THANKS_REPLY
    return None


_OWN_LINE = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s)")


def _unwrap(markdown: str) -> str:
    """Join the lines a source file wrapped; headings and list items keep their own line."""
    lines: list[str] = []
    for line in markdown.splitlines():
        joinable = lines and lines[-1].strip() and line.strip()
        if joinable and not _OWN_LINE.match(line) and not _OWN_LINE.match(lines[-1]):
            lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
        else:
            lines.append(line)
    return "\n".join(lines)


def plain_text(markdown: str) -> str:
    """Knowledge text without Markdown markup, readable in an SMS or a spoken reply."""
    text = _LINK.sub(r"\1 (\2)", _unwrap(markdown))
    return _HEADING.sub("", _EMPHASIS.sub("", text)).strip()


def catalog_answer(title: str, body: str) -> str | None:
    """A catalog row (`handoff.ai.knowledge.parse_csv`: a `column: value` line for each
    filled column, the first naming the entry) as short sentences that read and speak
    well: "Nordlys 2 Tent. Price: 299.00. Sizes: 2 persons. …". None for any other text."""
    rows = [line.partition(": ") for line in body.splitlines()]
    if len(rows) < 2 or any(not sep for _, sep, _ in rows) or rows[0][2].strip() != title:
        return None
    lines = [title] + [
        f"{column.strip().capitalize()}: {value.strip()}" for column, _, value in rows[1:]
    ]
    return "\n".join(line if line.endswith((".", "!", "?")) else f"{line}." for line in lines)


def trim_answer(text: str, limit: int = MAX_ANSWER) -> str:
    """`text` cut to at most `limit` characters, at the last sentence end that keeps at
    least half of it, or else at a word boundary with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    ends = [match.end() for match in _SENTENCE_END.finditer(head) if match.end() <= limit]
    if ends and ends[-1] >= limit // 2:
        return head[: ends[-1]].strip()
    window = text[: limit - 1]
    cut = window.rsplit(None, 1)[0] if re.search(r"\s", window.strip()) else window
    return cut.rstrip(" ,;:-") + "…"
