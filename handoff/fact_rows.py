"""What the database holds for a handoff decision, read by one statement: the customer's
recent messages, the AI's earlier answers under the same ownership, the previous decision
under it and the contact's opt-out, each part told apart by its kind. `handoff.policy.facts`
turns the rows into the policy's input.

On PostgreSQL the reply's facts can also ride on the statement that claims the AI's turn
(`handoff.context.take_turn`) as one JSON array (`REPLY_FACTS_AS_JSON`), so storing a reply
pays one round trip for the claim, the context and the facts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    CompoundSelect,
    Integer,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)

from gateway.models import ContactIdentity, Conversation, HandoffDecision, Message

RECENT_MESSAGES = 10  # customer messages the tone and the word count look at
STREAK_LIMIT = 10  # earlier AI answers the streak looks at

TEXT, AI_ANSWER, DECISION, OPT_OUT = range(4)
_COLUMNS = {
    "id": Message.id.type,
    "text": Message.text.type,
    "meta": Message.meta.type,
    "outcome": HandoffDecision.outcome.type,
    "rule": HandoffDecision.fired_rule.type,
    "at": ContactIdentity.opted_out_at.type,
}


class FactRow(NamedTuple):
    """One row of the facts statement; only the columns of its kind's part are set."""

    kind: int
    id: int | None
    text: str | None
    meta: dict[str, Any] | None
    outcome: str | None
    rule: str | None
    at: object | None  # when the contact opted out


_CUSTOMER_TEXTS = (
    select(Message.id.label("id"), Message.text.label("text"))
    .where(Message.conversation_id == bindparam("of_conversation"), Message.direction == "inbound")
    .order_by(Message.id.desc())
    .limit(RECENT_MESSAGES)
)
_CUSTOMER_TEXTS_UP_TO = _CUSTOMER_TEXTS.where(Message.id <= bindparam("up_to"))
_AI_ANSWERS = (
    select(Message.id.label("id"), Message.meta.label("meta"))
    .where(
        Message.conversation_id == bindparam("of_conversation"),
        Message.author == "ai",
        Message.ownership_version == bindparam("under_version"),
    )
    .order_by(Message.id.desc())
    .limit(STREAK_LIMIT)
)
_PREVIOUS_DECISION = (
    select(HandoffDecision.outcome.label("outcome"), HandoffDecision.fired_rule.label("rule"))
    .where(
        HandoffDecision.conversation_id == bindparam("of_conversation"),
        HandoffDecision.ownership_version == bindparam("under_version"),
    )
    .order_by(HandoffDecision.id.desc())
    .limit(1)
)
_OPTED_OUT_AT = (
    select(ContactIdentity.opted_out_at.label("at"))
    .join(
        Conversation,
        and_(
            Conversation.organization_id == ContactIdentity.organization_id,
            Conversation.address_kind == ContactIdentity.kind,
            Conversation.address == ContactIdentity.address,
        ),
    )
    .where(Conversation.id == bindparam("of_conversation"))
)


def _part(kind: int, rows: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`rows` (their own order and limit kept) in the facts statement's columns."""
    inner = rows.subquery()
    return select(
        literal_column(str(kind), Integer()).label("kind"),
        *(
            inner.c[name] if name in inner.c else cast(null(), type_).label(name)
            for name, type_ in _COLUMNS.items()
        ),
    )


def _facts_read(
    *parts: tuple[int, Select[*tuple[Any, ...]]],
) -> CompoundSelect[*tuple[Any, ...]]:
    return union_all(*(_part(kind, rows) for kind, rows in parts))


Statements = tuple[CompoundSelect[*tuple[Any, ...]], CompoundSelect[*tuple[Any, ...]]]


def _statements(*parts: tuple[int, Select[*tuple[Any, ...]]]) -> Statements:
    """The facts statement for `parts`, without and with the contact's opt-out (read on a
    channel that honours one). Its values: `of_conversation`, `under_version` (the
    ownership version) and, for a message's facts, `up_to` (the message's id)."""
    return _facts_read(*parts), _facts_read(*parts, (OPT_OUT, _OPTED_OUT_AT))


MESSAGE_FACTS = _statements((TEXT, _CUSTOMER_TEXTS_UP_TO), (DECISION, _PREVIOUS_DECISION))
REPLY_FACTS = _statements(
    (TEXT, _CUSTOMER_TEXTS), (AI_ANSWER, _AI_ANSWERS), (DECISION, _PREVIOUS_DECISION)
)

_REPLY_ROWS = REPLY_FACTS[1].subquery()
# The reply's facts with the opt-out, as one JSON array of rows (PostgreSQL): the same
# values, for a statement that returns them beside its own columns.
REPLY_FACTS_AS_JSON: ScalarSelect[Any] = select(
    func.json_agg(func.json_build_array(*_REPLY_ROWS.c), type_=JSON)
).scalar_subquery()


def rows_of(statement_rows: Sequence[Any]) -> list[FactRow]:
    """The facts statement's rows, as read."""
    return [FactRow(*row) for row in statement_rows]


def rows_from_json(array: Sequence[Sequence[Any]] | None) -> tuple[FactRow, ...]:
    """The rows of `REPLY_FACTS_AS_JSON` (None when no part found any)."""
    return tuple(FactRow(*row) for row in array or ())
