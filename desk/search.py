"""Search for the queue: a conversation matches when its customer's name, one of the
customer's addresses (phone, email, WhatsApp, web id), or the text of one of its messages
contains the search term, ignoring case. A term that looks like a phone number also
matches with its spaces, dashes and brackets left out. On PostgreSQL the ILIKE conditions
use the trigram indexes of migration 0004 (when pg_trgm was available). SQLite scans with
LIKE, which ignores case for ASCII letters by itself (lower() on every row would double the
cost)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import QueryableAttribute

from gateway.errors import BadInput
from gateway.models import Contact, ContactIdentity, Conversation, Message

MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 200
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


def search_condition(organization_id: int, raw: str, dialect: str) -> ColumnElement[bool]:
    term = clean_term(raw)
    pattern = like_pattern(term)
    addresses = [pattern]
    if _PHONE_LIKE.fullmatch(term):
        addresses.append(like_pattern(_PHONE_PUNCTUATION.sub("", term)))
    by_name = select(Contact.id).where(
        Contact.organization_id == organization_id, _contains(Contact.name, pattern, dialect)
    )
    by_address = select(ContactIdentity.contact_id).where(
        ContactIdentity.organization_id == organization_id,
        or_(*(_contains(ContactIdentity.address, p, dialect) for p in addresses)),
    )
    by_text = select(Message.conversation_id).where(
        Message.organization_id == organization_id, _contains(Message.text, pattern, dialect)
    )
    return or_(
        Conversation.contact_id.in_(by_name),
        Conversation.contact_id.in_(by_address),
        Conversation.id.in_(by_text),
    )
