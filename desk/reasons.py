"""Words an agent reads: what to call a customer, and why a conversation was handed off
(each policy rule's id, the key the policy, the audit trail and the dashboard count by,
with the sentence the desk shows for it, and each handoff level's name). The one place
that says these, so the queue, the conversation view and the dashboard's legend say the
same; the ids stay in the API for integrations and behind a disclosure on the page."""

from __future__ import annotations

from typing import Any

RULE_WORDS = {
    "explicit_person_request": "The customer asked for a person",
    "ai_decision": "The AI asked for a person",
    "low_confidence_streak": "The AI could not answer",
    "keywords": "The customer used a word that calls a person",
    "restricted_topic": "A topic the AI must not handle",
    "negative_sentiment": "The customer sounded frustrated",
    "details_gathered": "The customer described the problem, as asked",
    "outside_business_hours": "Outside business hours",
    "nobody_online": "Nobody was online",
    "human_owned": "A person already owns the conversation",
    "opted_out": "The customer opted out",
    "reassigned_to_team": "Reassigned to a team",
}
LEVEL_WORDS = {
    "ai_only": "AI only",
    "quick": "Quick handoff",
    "balanced": "Balanced",
    "ai_first": "AI first",
}


def customer_words(name: str | None, address: str, kind: str, page: str | None) -> str:
    """What to call a customer (as words.js does on the page): their name, else their
    address, a web visitor "Visitor from /products" or "Web visitor", never their token."""
    if name:
        return name
    if kind == "web":
        return f"Visitor from {page}" if page else "Web visitor"
    return address.removeprefix("whatsapp:")


def rule_words(rule: str | None) -> str:
    """The sentence for a rule id; an id this version does not know reads as words too."""
    if not rule:
        return "No reason recorded"
    return RULE_WORDS.get(rule) or _first_upper(rule.replace("_", " "))


def level_words(level: str | None) -> str | None:
    return None if level is None else LEVEL_WORDS.get(level, _first_upper(level.replace("_", " ")))


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def labelled_hits(hits: Any) -> list[Any]:
    """Rule results with each one's `label` in words added (the rest left as stored)."""
    if not isinstance(hits, list):
        return []
    return [
        {**hit, "label": rule_words(str(hit.get("rule") or ""))} if isinstance(hit, dict) else hit
        for hit in hits
    ]


def labelled_decision(decision: dict[str, Any] | None) -> dict[str, Any] | None:
    """A policy decision's JSON with its rules, deciding rule and level in words."""
    if decision is None:
        return None
    fired = decision.get("fired_rule")
    return {
        **decision,
        "rules": labelled_hits(decision.get("rules")),
        "fired_rule_label": rule_words(fired) if fired else None,
        "level_label": level_words(decision.get("level")),
    }
