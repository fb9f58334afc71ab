"""The explicit-request trigger: recognizing a customer who asks for a person, the first and
strongest reason to hand off. Named patterns propose (so a hit can say which way of asking
it saw), the classifier guard (`handoff.ai.guard`) confirms; `explicit_request` is that
decision, the one the policy and `switchboard guard eval` both run.

The patterns aim at recall, the guard at precision. They read the message lower-cased with
misspelled key words corrected (`handoff.spelling`) and catch: talk / speak / chat in any
form, with or without "to" ("talking with an agent", "speak someone"); contact, reach, get
hold of, get through to, get in touch with; connect, transfer, put through, pass on;
want / need / prefer / would like / rather a person; "is there a human?", "is a person
available?"; a person asked to act ("can a human take over", "have someone call me");
weariness with automation ("I'm done with this robot", "stop with the canned answers");
short answers ("no - a person please", "human!!", "agent pls") in any clause; escalation;
and named people or roles ("Maria from billing", "the owner", "a manager", "the sales
team", customer service or support).

What counts as a person: a human, person, someone, an agent, representative, operator,
advisor, assistant, staff, manager, supervisor, owner, a team or department, and customer
service, support, sales or billing: the customer is already in the business's support
channel, so asking for it by name means asking for the people behind it. Asking when
service is open or for its phone number is a question the AI answers (the guard learned
that from Bitext's `contact_customer_service` rows, labelled as `handoff.ai.guard.bitext` says).

What stays with the AI: a clause that asks about the assistant ("are you a bot?", "am I
talking to a person?") or when people can be reached ("what hours can I contact
support?"), phoning ("how do I call customer service?": the AI gives the number), a request
negated in its own clause ("I don't need a person", while "I don't know how to talk to a
person" still asks: the negation belongs to "know"), past tenses ("I already talked to
someone"), other people's roles ("my agent said", "a real estate agent", "someone at
work") and "talk to me" (the patterns do not propose them, or the guard, trained on such
sentences, vetoes them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from handoff.ai.guard import confirm_proposal
from handoff.spelling import correct_text

_DETERMINER = (
    r"(?:(?:a|an|the|some|any|your|ur|one\s+of\s+your|one\s+of\s+the|a\s+member\s+of"
    r"|member\s+of|(?:someone|somebody|anyone)\s+(?:from|in|on))\s+)"
)
_ADJECTIVE = (
    r"(?:(?:real|live|actual|human|proper|genuine|physical|flesh\s+and\s+blood|competent"
    r"|qualified|senior)\s+)"
)
# One free word before the noun ("the store manager", "a sales rep"), never a possessive:
# "my agent", "our manager" are the customer's own people.
_FILLER = r"(?:(?!(?:my|our|his|her|their|estate)\b)[a-z]+\s+)?"
_SERVICE = (
    r"customer\s*(?:service|support|care|services|assistance|help)"
    r"(?:\s+(?:team|department|desk|rep|representative|agent|person|executive))?"
    r"|(?:support|service|sales|billing|accounts?|returns|refunds?|tech(?:nical)?\s+support)"
    r"\s+(?:team|staff|desk|department|dept|agent|rep|representative|people|person)"
    r"|help\s*desk|support|sales|billing|accounts|tech(?:nical)?\s+support"
    r"|(?:human|live|real|personal)\s+(?:help|support|assistance|contact)"
)
_STAFF = (
    r"hum(?:an|na|en)s?(?:\s+beings?)?|persons?|people|agents?|representatives?|reps?"
    r"|operators?|advis[oe]rs?|consultants?|specialists?|executives?|colleagues?"
    r"|staff(?:\s+members?)?|team\s+members?|members?\s+of\s+staff|employees?|managers?"
    r"|supervisors?|associates?|assistants?|management|owner|boss|real\s+one|team"
    r"|(?:whoever|someone|somebody|the\s+person)\s+(?:is\s+)?in\s+charge"
)
# "an agent account", "a person's order", "customer service hours": the noun is a modifier.
_NOT_MODIFIER = (
    r"(?!'s\b|\s+(?:account|login|portal|number|id|code|app|fee|estate|profile|software"
    r"|hours|email|e-mail|address|phone|line|chat\s+hours))"
)
_NOUN = (
    rf"{_DETERMINER}?{_ADJECTIVE}?{_FILLER}{_ADJECTIVE}?(?:{_SERVICE}|{_STAFF})\b{_NOT_MODIFIER}"
)
_SOMEONE = (
    r"(?:someone|somebody|anyone|anybody|some\s+one|some\s+body)\b"
    r"(?!\s+(?:else|at\s+(?:the|my|home|work|school)|in\s+my|from\s+my|in\s+person))"
)
PERSON = rf"(?:{_NOUN}|{_SOMEONE})"
_NOT_A_NAME = (
    r"(?!(?:me|you|ya|yourself|it|someone|somebody|anyone|anybody|this|that|them|him|her|my"
    r"|our|the|a|an|about|in|so|again|later|soon|now|back)\b)"
)
# "Maria from billing", "Tom in accounts"
_NAMED = rf"{_NOT_A_NAME}[a-z]+\s+(?:from|in|at|on)\s+(?:the\s+)?[a-z]+"
_TALK = r"(?:talk|talking|speak|speaking|chat|chatting|converse|communicate|deal|dealing)"
_TO = r"(?:to|with|w/|w|2)"
_AUTOMATION = (
    r"(?:this\s+|the\s+|your\s+|a\s+|these\s+|talking\s+to\s+(?:a\s+|the\s+|this\s+)?)?"
    r"(?:bots?|robots?|machines?|automated|automation|ai|chat\s*bots?|canned|computers?"
    r"|scripts?|scripted|auto\s*replies|automatic)"
)
_POLITE = r"(?:\s+(?:please|pls|plz|now|asap|thanks|thank\s+you|thx|here|right\s+now|then))*"

PATTERNS: dict[str, re.Pattern[str]] = {
    # "can I talk to a human?", "speaking with somebody", "talk person", "help from a person"
    "talk_to_person": re.compile(
        rf"\b{_TALK}\s+(?:{_TO}\s+)?(?:{PERSON}|{_NAMED}|(?:someone|somebody|anyone)\s+else\b)"
        rf"|\b(?:help|assistance|support|callback|call\s+back|(?<!got\sa\s)(?<!had\sa\s)call|reply|answer)\s+from\s+{PERSON}"
    ),
    # "how do I reach an agent", "get hold of someone", "get through to a human"
    "contact_person": re.compile(
        r"\b(?:contact|contacting|reach|reaching|get(?:ting)?\s+(?:a\s+)?(?:hold|ahold)\s+of"
        r"|get(?:ting)?\s+through\s+to|get(?:ting)?\s+in\s+(?:touch|contact)\s+with"
        r"|get(?:ting)?\s+to|(?:(?:get|put)\s+(?:me|us)\s+|be\s+|been\s+|be\s+put\s+)?in\s+"
        r"(?:touch|contact)\s+with"
        rf"|message|email)\s+{PERSON}"
    ),
    # "connect me to someone", "put me through to Sarah", "pass my question on to an agent"
    "connect_to_person": re.compile(
        r"\b(?:connect|connecting|connected|transfer|transferring|transferred|put|pass|switch"
        r"|forward"
        r"|hand|redirect|route|direct)\s+"
        r"(?:(?:me|us|this|this\s+chat|it|(?:my|the)\s+[a-z]+)\s+)?(?:on\s+)?"
        r"(?:through\s+|over\s+|on\s+|back\s+)?"
        rf"(?:{_TO}\s+(?:{PERSON}|{_NOT_A_NAME}[a-z]+\b)|{PERSON})"
    ),
    # "I want a real person", "I'd prefer a human", "get me your manager"
    "want_person": re.compile(
        r"\b(?:want|wanna|need|needs|(?:'d|would|d)\s+like|prefer|request|requesting"
        r"|get\s+me|give\s+me|gimme|get|have|bring|find\s+me|demand|require|ask\s+for"
        r"|asking\s+for|rather|wish\s+for)\s+"
        rf"(?:{_NOUN}|{_SOMEONE}\s+(?:real|human|to|who|from|in|on|that|call|contact|email"
        r"|phone|ring|look|help|get\s+back)\b)"
        r"(?!\s+(?:said|says|told|asked|wants|needs|was|is|did|had))"
    ),
    # "can a real person take over", "have an agent call me"
    "person_acts": re.compile(
        rf"\b(?:{_DETERMINER}?{_ADJECTIVE}?(?:{_STAFF})|{_SOMEONE}\s+(?:real|from\s+[a-z]+))\s+"
        r"(?:to\s+)?(?:take\s+over|step\s+in|look\s+(?:at|into)|handle|call|contact|email"
        r"|phone|ring|read|answer|help|get\s+back|join|reply|deal\s+with|sort|check|review"
        r"|fix|assist)\b"
    ),
    # "is there a human?", "is a person available?", "any humans around?"
    "person_available": re.compile(
        r"\b(?:is|are)\s+there\s+(?:a|an|any|some)?\s*(?:real\s+|live\s+|actual\s+)?"
        r"(?:humans?|person|people|agents?|representatives?|operators?|staff|reps?"
        r"|(?:someone|somebody|anyone|anybody)\s+(?:real|human))\b"
        r"|\b(?:is|are)\s+there\s+(?:someone|somebody|anyone|anybody|a\s+person|a\s+human)"
        r"\s+(?:i|we|who|that|to)\b"
        r"|\b(?:is|are)\s+(?:a|an|any)?\s*(?:real\s+|live\s+|actual\s+)?(?:humans?|persons?"
        r"|agents?|representatives?|operators?|staff|reps?)\s+(?:available|around|online|free)\b"
        r"|\b(?:is|are)\s+(?:anyone|anybody|someone|somebody)\s+(?:available|online|free)\b"
        r"|\bany(?:one|body)?\s+(?:real|human|humans|people|agents?)\s+(?:here|there|around"
        r"|online|available)\b"
    ),
    # a whole clause is the request: "agent please", "no - a human", "stop. person please"
    "bare_request": re.compile(
        r"(?:(?:please|pls|plz|ok|okay|just|then|so|hi|hello|ugh)[\s,.!\-]+"
        r"|(?:no|nope|nah|not\s+a\s+bot|no\s+bot)\s*[,.!\-]+\s*)*"
        rf"{_DETERMINER}?{_ADJECTIVE}?(?:{_SERVICE}|{_STAFF}|someone\s+real|somebody\s+real)"
        rf"{_POLITE}\s*[!.?]*"
    ),
    # "please escalate this", "I want this escalated"
    "escalate": re.compile(r"\bescalat(?:e|ed|ing|ion)\b(?!\s+(?:process|policy))"),
    # "I'm done with this robot", "stop with the canned answers", "not a bot"
    "tired_of_automation": re.compile(
        rf"\b(?:done|tired|sick|fed\s+up|enough|bored|finished|over)\s+(?:with|of)\s+{_AUTOMATION}\b"
        r"|\b(?:stop|quit|no\s+more|enough)\s+(?:with\s+)?(?:the\s+|these\s+|your\s+)?"
        r"(?:canned|automated|automatic|scripted|bot|robot|copy\s+paste)\b"
        rf"|\bgive\s+up\s+on\s+{_AUTOMATION}\b"
        r"|\bnot\s+(?:a|an|the|another)\s+(?:bot|robot|machine|ai|faq)\b"
    ),
}

# A negation governs the request in its clause, unless it belongs to another verb: "I don't
# know how to talk to a person" asks, "I don't need a person" does not.
_NEGATION = re.compile(
    r"\b(?:don't|dont|do\s+not|doesn't|does\s+not|didn't|did\s+not|never|no\s+need|not"
    r"|won't|wouldn't|no(?!\s+(?:i|thanks|thank|please))|without|nor|wasn't|weren't|isn't"
    r"|aren't)\b"
    r"(?:\s+(?:really|even|actually|yet))?"
    r"(?!\s+(?:know|understand|see|get\s+(?:how|why|it)|care|mind|think|sure|working|help"
    r"|helpful|answer|answering|getting|understanding|make\s+sense|just"
    r"|a\s+bot|an?\s+ai|a\s+robot|a\s+machine))"
)
# A clause that asks about the assistant itself: "are you a real person?"
_ABOUT_ASSISTANT = re.compile(
    r"^\s*(?:am\s+i|are\s+(?:you|we)|r\s+(?:u|you)|is\s+(?:this|that)"
    r"|is\s+it\s+(?:a|an|real|human|automated|ai)\b|you(?:'re|\s+are)?)\b"
)
# Asking when someone can be reached is a question the AI answers from the knowledge base.
_WHEN_OPEN = re.compile(
    r"\b(?:what|which)\s+(?:hours?|time|times|days?)\b|\bat\s+what\s+time\b|\bhours\b"
    r"|\bopen(?:ing)?\b|\bavailable\s+(?:on|at|until)\b"
)
_CLAUSE_BREAK = re.compile(r"[.;!?,:]|\s[-\u2013\u2014]+\s|\s-|\bbut\b|\bjust\b")
_CLAUSES = re.compile(r"[.;!?,:]+|\s[-\u2013\u2014]+\s")


@dataclass(frozen=True, slots=True)
class PersonRequest:
    """A proposed request for a person: the named pattern that fired and the words."""

    pattern: str
    phrase: str


@dataclass(frozen=True, slots=True)
class ExplicitRequest:
    """The trigger's decision on one message: what the patterns proposed, the guard's
    score, and whether the customer asked for a person (proposed and confirmed)."""

    proposal: PersonRequest | None
    score: float
    asked: bool


def normalize(text: str) -> str:
    """Lower case, one space between words, straight apostrophes, key words spelled right."""
    return correct_text(" ".join(text.lower().replace("\u2019", "'").split()))


def find_person_request(text: str) -> PersonRequest | None:
    """The first pattern that proposes `text` as asking for a person, if any."""
    normalized = normalize(text)
    for name, pattern in PATTERNS.items():
        if name == "bare_request":
            for clause in _CLAUSES.split(normalized):
                if pattern.fullmatch(clause.strip()):
                    return PersonRequest(name, clause.strip())
            continue
        for match in pattern.finditer(normalized):
            clause = _CLAUSE_BREAK.split(normalized[: match.start()])[-1]
            if _ABOUT_ASSISTANT.search(clause) or _WHEN_OPEN.search(clause):
                continue
            if name == "tired_of_automation" or not _NEGATION.search(clause):
                return PersonRequest(name, match.group(0).strip())
    return None


def explicit_request(text: str) -> ExplicitRequest:
    """The trigger as the policy runs it: the patterns propose, the guard confirms."""
    proposal = find_person_request(text)
    if proposal is None:
        return ExplicitRequest(None, 0.0, False)
    guard = confirm_proposal(text)
    return ExplicitRequest(proposal, guard.score, guard.wants_person)


def asks_for_person(text: str) -> bool:
    """Whether the message explicitly asks to talk to a person (proposed and confirmed)."""
    return explicit_request(text).asked
