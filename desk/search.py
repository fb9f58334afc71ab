"""Search for the queue: a conversation matches when its customer's name, one of the
customer's addresses (phone, email, WhatsApp, web id), or the text of one of its messages
contains the search term, ignoring case. A term that looks like a phone number also
matches with its spaces, dashes and brackets left out. On PostgreSQL the ILIKE conditions
use the trigram indexes of migration 0004 (when pg_trgm was available). SQLite scans with
LIKE, which ignores case for ASCII letters by itself (lower() on every row would double the
cost).

A list is read in one of two ways. A term with few matches (a name, a number: the usual
search) is read from its matches, `Conversation.id IN (the union of the lookups)`, and only
those are sorted. A term that matches a large share of the conversations is cheaper read
the other way, walking the view's order and testing each conversation until the page is
full. PostgreSQL's planner cannot tell the two apart from its statistics (it walked a
million conversations for a name that matched two), so `few_matches` asks first, with a
count that stops at `FEW_MATCHES`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    func,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from gateway.errors import BadInput
from gateway.models import Contact, ContactIdentity, Conversation, Message

MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 200
FEW_MATCHES = 1_000  # up to this many matching rows, a list is read from the matches
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{4,}")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


def like_pattern(term: str) -> str:
    """`%term%` with LIKE's wildcards in `term` escaped (escape character: backslash)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def clean_term(raw: str) -> str:
    term = " ".join(raw.split())
    if len(term) < MIN_TERM_CHARS:
        raise BadInput(f"search for at least {MIN_TERM_CHARS} characters")
    if len(term) > MAX_TERM_CHARS:
        raise BadInput(f"search for at most {MAX_TERM_CHARS} characters")
    return term


def _contains(column: QueryableAttribute[Any], pattern: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


@dataclass(frozen=True, slots=True)
class _Lookups:
    """The three lookups of one search: contacts by name, contacts by address, and
    conversations by message text."""

    by_name: Select[int]
    by_address: Select[int]
    by_text: Select[int]


def _lookups(organization_id: int, raw: str, dialect: str) -> _Lookups:
    term = clean_term(raw)
    pattern = like_pattern(term)
    addresses = [pattern]
    if _PHONE_LIKE.fullmatch(term):
        addresses.append(like_pattern(_PHONE_PUNCTUATION.sub("", term)))
    return _Lookups(
        by_name=select(Contact.id).where(
            Contact.organization_id == organization_id, _contains(Contact.name, pattern, dialect)
        ),
        by_address=select(ContactIdentity.contact_id).where(
            ContactIdentity.organization_id == organization_id,
            or_(*(_contains(ContactIdentity.address, p, dialect) for p in addresses)),
        ),
        by_text=select(Message.conversation_id).where(
            Message.organization_id == organization_id, _contains(Message.text, pattern, dialect)
        ),
    )


def search_condition(
    organization_id: int, raw: str, dialect: str, *, few: bool = False
) -> ColumnElement[bool]:
    """The conversations a search finds; `few`: written to be read from the matches."""
    found = _lookups(organization_id, raw, dialect)
    if few:
        by_contact = select(Conversation.id).where(
            Conversation.organization_id == organization_id,
            Conversation.contact_id.in_(union(found.by_name, found.by_address)),
        )
        return Conversation.id.in_(union(by_contact, found.by_text))
    return or_(
        Conversation.contact_id.in_(found.by_name),
        Conversation.contact_id.in_(found.by_address),
        Conversation.id.in_(found.by_text),
    )


async def few_matches(session: AsyncSession, organization_id: int, raw: str, dialect: str) -> bool:
    """Whether the search's lookups find at most FEW_MATCHES rows (contacts and messages;
    a count that stops there, so a broad term costs what FEW_MATCHES rows cost)."""
    found = _lookups(organization_id, raw, dialect)
    rows: CompoundSelect[int] = union_all(found.by_name, found.by_address, found.by_text).limit(
        FEW_MATCHES + 1
    )
    count = await session.scalar(select(func.count()).select_from(rows.subquery()))
    return (count or 0) <= FEW_MATCHES
