"""Search for the queue: a conversation matches when its customer's name, one of the
customer's addresses (phone, email, WhatsApp, web id), or the text of one of its messages
contains the search term, ignoring case. A term that looks like a phone number also
matches with its spaces, dashes and brackets left out. On PostgreSQL the ILIKE conditions
use the trigram indexes of migration 0004 (when pg_trgm was available), and a number in
the term is first looked up by its four-digit sequences (migration 0022): the trigrams of
"500017" are each in thousands of a million names, its sequences in tens. SQLite scans
with LIKE, which ignores case for ASCII letters by itself (lower() on every row would
double the cost).

A list is read in one of two ways. A term with few matches (a name, a number: the usual
search) is read from its matches, and only those are sorted. A term that matches a large
share of the conversations is cheaper read the other way, walking the view's order and
testing each conversation until the page is full. PostgreSQL's planner cannot tell the two
apart from its statistics (it walked a million conversations for a name that matched two),
so `few_matches` runs the lookups first, stopping after `FEW_MATCHES` rows; when they
found no more, the page is read by the ids they returned, without looking up again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Select,
    Text,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from gateway.errors import BadInput
from gateway.models import Contact, ContactIdentity, Conversation, Message

MIN_TERM_CHARS = 2
MAX_TERM_CHARS = 200
FEW_MATCHES = 1_000  # up to this many matching rows, a list is read from the matches
NARROW_ROWS = 2_000  # rows found by a term's identifier word, to be tested for the term
MIN_IDENTIFIER_DIGITS = 4
_DIGIT = re.compile(r"\d")
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{4,}")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
_DIGIT_RUN = re.compile(r"[0-9]{4,}")


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


def _contains(
    column: ColumnElement[Any] | QueryableAttribute[Any],
    pattern: str | BindParameter[Any],
    dialect: str,
) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def identifier_word(term: str) -> str | None:
    """In a term of several words, the one that looks like an identifier: four digits or
    more, the most digits first (an order number, part of a phone number, the number in
    "Hopper 48213"). Such a word is rare, while the common words' trigrams are most of
    what a trigram index reads for the whole term."""
    words = term.split()
    if len(words) < 2:
        return None
    word = max(words, key=lambda w: (len(_DIGIT.findall(w)), len(w)))
    return word if len(_DIGIT.findall(word)) >= MIN_IDENTIFIER_DIGITS else None


def narrowing_word(term: str, dialect: str) -> str | None:
    """The word a lookup narrows by: the identifier word of a term of several words; on
    PostgreSQL, a one-word term itself when it has a run of four digits (an order or
    phone number), which its digit runs' index finds faster than its trigrams."""
    if len(term.split()) == 1:
        return term if dialect == "postgresql" and digit_grams(term) else None
    return identifier_word(term)


def digit_grams(word: str) -> list[str]:
    """The four-digit sequences of `word`'s runs of four digits or more, as PostgreSQL's
    `digit_grams` (migration 0022) indexes them: a text containing `word` has them all."""
    runs = _DIGIT_RUN.findall(word)
    return sorted({run[i : i + 4] for run in runs for i in range(len(run) - 3)})


@dataclass(frozen=True, slots=True)
class _Term:
    """One search's values, bound by name in its lookups, and what decides the shape of
    the statement that looks them up (see `few_matches`)."""

    organization_id: int
    term: str
    addresses: tuple[str, ...]  # LIKE patterns for the addresses
    word: str | None  # the word the names and texts are narrowed by
    grams: tuple[str, ...]  # its digit sequences, when PostgreSQL's index finds it by them

    @property
    def shape(self) -> tuple[int, bool, bool]:
        return len(self.addresses), self.word is not None, bool(self.grams)

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "search_organization": self.organization_id,
            "search_term": like_pattern(self.term),
        }
        values.update({f"search_address_{n}": p for n, p in enumerate(self.addresses)})
        if self.grams:  # the word, by its digit sequences
            values["search_grams"] = list(self.grams)
        elif self.word is not None:
            values["search_word"] = like_pattern(self.word)
        return values


def _term(organization_id: int, raw: str, dialect: str, *, narrow: bool) -> _Term:
    """`narrow`: look names and texts up by the term's narrowing word first (see
    `_narrowed`)."""
    term = clean_term(raw)
    # No address has a space in it (numbers are kept as +15551234567, and neither email
    # addresses nor visitor ids have one), so a term with a space is looked up among the
    # addresses only as a phone number without its punctuation, if it looks like one.
    addresses = [] if " " in term else [like_pattern(term)]
    if _PHONE_LIKE.fullmatch(term):
        addresses.append(like_pattern(_PHONE_PUNCTUATION.sub("", term)))
    word = narrowing_word(term, dialect) if narrow else None
    grams = digit_grams(word) if word is not None and dialect == "postgresql" else []
    return _Term(organization_id, term, tuple(addresses), word, tuple(grams))


@dataclass(frozen=True, slots=True)
class _Lookups:
    """The three lookups of one search: contacts by name, contacts by address, and
    conversations by message text."""

    by_name: Select[Any] | CompoundSelect[Any]
    by_address: Select[Any] | CompoundSelect[Any]
    by_text: Select[Any] | CompoundSelect[Any]


def _lookups(organization_id: int, raw: str, dialect: str, *, narrow: bool = False) -> _Lookups:
    """The lookups for a term as it was typed, its values bound in them."""
    return _built(_term(organization_id, raw, dialect, narrow=narrow), dialect)


def _built(found: _Term, dialect: str) -> _Lookups:
    """The lookups for `found`, its values bound by name (`_Term.params`)."""
    bound = {
        name: bindparam(name, value, type_=ARRAY(Text) if name == "search_grams" else None)
        for name, value in found.params().items()
    }
    organization, pattern = bound["search_organization"], bound["search_term"]
    in_names = Contact.organization_id == organization
    in_texts = Message.organization_id == organization
    by_word = bound.get("search_grams", bound.get("search_word"))
    addresses = [bound[f"search_address_{n}"] for n in range(len(found.addresses))]
    return _Lookups(
        by_name=(
            _narrowed(Contact.id, Contact.name, in_names, pattern, by_word, dialect)
            if by_word is not None
            else select(Contact.id).where(in_names, _contains(Contact.name, pattern, dialect))
        ),
        by_address=select(ContactIdentity.contact_id).where(
            ContactIdentity.organization_id == organization,
            or_(false(), *(_contains(ContactIdentity.address, p, dialect) for p in addresses)),
        ),
        by_text=(
            _narrowed(Message.conversation_id, Message.text, in_texts, pattern, by_word, dialect)
            if by_word is not None
            else select(Message.conversation_id).where(
                in_texts, _contains(Message.text, pattern, dialect)
            )
        ),
    )


def _narrowed(
    key: QueryableAttribute[int],
    column: QueryableAttribute[Any],
    in_organization: ColumnElement[bool],
    pattern: BindParameter[Any],
    word: BindParameter[Any],
    dialect: str,
) -> CompoundSelect[Any]:
    """The rows whose `column` contains the term (`pattern`), found by its narrowing
    `word` first: the rows that may contain the word (at most NARROW_ROWS + 1 of them),
    then those of them that contain the whole term. "Hopper 48213" at a million
    customers: the index's entries for "48213" instead of those for "hopper" too, 0.4 ms
    instead of 8. The word comes as its LIKE pattern, or on PostgreSQL as its digit
    sequences (`search_grams`), which the index of digit runs finds: a superset of the
    rows containing it. If the word is in more rows than that, the whole term is looked
    up as usual instead, so nothing is missed. One statement: the planner runs whichever
    branch the count of candidates allows."""
    may_contain = (
        func.digit_grams(column, type_=ARRAY(Text)).contains(word)
        if word.key == "search_grams"
        else _contains(column, word, dialect)
    )
    candidates = (
        select(key.label("id"), column.label("found"))
        .where(in_organization, may_contain)
        .limit(NARROW_ROWS + 1)
        .cte(f"{column.key}_candidates")
    )
    few = select(func.count()).select_from(candidates).scalar_subquery() <= NARROW_ROWS
    return union_all(
        select(candidates.c.id).where(few, _contains(candidates.c.found, pattern, dialect)),
        select(key).where(~few, in_organization, _contains(column, pattern, dialect)),
    )


@dataclass(frozen=True, slots=True)
class Matches:
    """What a search's lookups found: customers (by name or address) and conversations (by
    a message's text)."""

    contacts: tuple[int, ...]
    conversations: tuple[int, ...]


def search_condition(
    organization_id: int, raw: str, dialect: str, *, matches: Matches | None = None
) -> ColumnElement[bool]:
    """The conversations a search finds; with its `matches` looked up already, read from
    them."""
    if matches is not None:
        return or_(
            Conversation.contact_id.in_(matches.contacts),
            Conversation.id.in_(matches.conversations),
        )
    found = _lookups(organization_id, raw, dialect)
    return or_(
        Conversation.contact_id.in_(found.by_name),
        Conversation.contact_id.in_(found.by_address),
        Conversation.id.in_(found.by_text),
    )


# The statement of `few_matches` for each shape of term, built once: building it and its
# cache key took 1.3 ms of a search; a later term of the same shape binds its own values.
_FEW_MATCHES_STATEMENTS: dict[tuple[object, ...], CompoundSelect[Any]] = {}


def _few_matches_statement(found: _Term, dialect: str) -> CompoundSelect[Any]:
    shape = (dialect, found.shape, NARROW_ROWS, FEW_MATCHES)
    statement = _FEW_MATCHES_STATEMENTS.get(shape)
    if statement is None:
        lookups = _built(found, dialect)

        def tagged(lookup: Select[Any] | CompoundSelect[Any], is_contact: bool) -> Select[Any]:
            rows = lookup.subquery()
            return select(rows.c[0], literal(is_contact))

        statement = union_all(
            tagged(lookups.by_name, True),
            tagged(lookups.by_address, True),
            tagged(lookups.by_text, False),
        ).limit(FEW_MATCHES + 1)
        _FEW_MATCHES_STATEMENTS[shape] = statement
    return statement


async def few_matches(
    session: AsyncSession, organization_id: int, raw: str, dialect: str
) -> Matches | None:
    """The search's matches if its lookups find at most FEW_MATCHES rows (customers and
    messages; the lookups stop there, so a broad term costs what FEW_MATCHES rows cost),
    else None."""
    found = _term(organization_id, raw, dialect, narrow=True)
    statement = _few_matches_statement(found, dialect)
    matched = (await session.execute(statement, found.params())).all()
    if len(matched) > FEW_MATCHES:
        return None
    contacts = {int(row_id) for row_id, is_contact in matched if is_contact}
    conversations = {int(row_id) for row_id, is_contact in matched if not is_contact}
    return Matches(tuple(sorted(contacts)), tuple(sorted(conversations)))
