"""The questions the widget's greeting suggests to a new visitor: up to three from the
organization's knowledge base, so a click asks something the assistant can answer. An
entry qualifies when its title reads as a question ("Opening hours: when are you open?");
the question is the part after the topic, cut at its first comma and capitalized, so it
reads as a visitor would type it ("When are you open?"). Entries come in the order they
were loaded, which is the order an admin wrote them in."""

from __future__ import annotations

from sqlalchemy import select

from gateway.db import Database
from gateway.models import KnowledgeEntry

MAX_SUGGESTIONS = 3
MAX_QUESTION_CHARS = 80
CANDIDATES = 30  # titles read to find three questions


def question_from_title(title: str) -> str | None:
    """The question a knowledge title asks, or None if it asks none."""
    text = " ".join(title.split())
    if "?" not in text:
        return None
    text = text.rsplit(": ", 1)[-1]
    text = text.split(", ", 1)[0].rstrip("?").strip()
    if not text:
        return None
    question = text[0].upper() + text[1:] + "?"
    return question if len(question) <= MAX_QUESTION_CHARS else None


async def suggested_questions(db: Database, organization_id: int) -> list[str]:
    """Up to MAX_SUGGESTIONS distinct questions from the organization's knowledge base."""
    async with db.transaction() as session:
        titles = (
            await session.scalars(
                select(KnowledgeEntry.title)
                .where(
                    KnowledgeEntry.organization_id == organization_id,
                    KnowledgeEntry.title.contains("?"),
                )
                .order_by(KnowledgeEntry.id)
                .limit(CANDIDATES)
            )
        ).all()
    questions: list[str] = []
    for title in titles:
        question = question_from_title(title)
        if question is not None and question not in questions:
            questions.append(question)
        if len(questions) == MAX_SUGGESTIONS:
            break
    return questions
