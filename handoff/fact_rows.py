"""What the database holds for a handoff decision, read by one statement: the customer's
recent messages, the AI's earlier answers under the same ownership, the previous decision
under it and the contact's opt-out, each part told apart by its kind. `handoff.policy.facts`
turns the rows into the policy's input.

On PostgreSQL the facts can also ride on the statement that claims the message for routing
(`message_facts_of_claimed`) or the AI's turn (`REPLY_FACTS_AS_JSON`) as one JSON array
(`handoff.context`), so each decision pays one round trip for the claim, the context and
the facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    ColumnElement,
    CompoundSelect,
    FromClause,
    Integer,
    ScalarSelect,
    Select,
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


@dataclass(frozen=True, slots=True)
class FactsAhead:
    """Facts a claim's statement read ahead of the decision: for message `message_id`, or
    for the AI's reply (None), under ownership `version`."""

    version: int
    message_id: int | None
    rows: tuple[FactRow, ...]

    def serve(self, version: int, message_id: int | None) -> tuple[FactRow, ...] | None:
        """The rows, if read for this decision under this version; None otherwise."""
        return self.rows if (version, message_id) == (self.version, self.message_id) else None


Expression = ColumnElement[Any]


def _customer_texts(conversation: Expression) -> Select[*tuple[Any, ...]]:
    return (
        select(Message.id.label("id"), Message.text.label("text"))
        .where(Message.conversation_id == conversation, Message.direction == "inbound")
        .order_by(Message.id.desc())
        .limit(RECENT_MESSAGES)
    )


def _ai_answers(conversation: Expression, version: Expression) -> Select[*tuple[Any, ...]]:
    return (
        select(Message.id.label("id"), Message.meta.label("meta"))
        .where(
            Message.conversation_id == conversation,
            Message.author == "ai",
            Message.ownership_version == version,
        )
        .order_by(Message.id.desc())
        .limit(STREAK_LIMIT)
    )


def _previous_decision(conversation: Expression, version: Expression) -> Select[*tuple[Any, ...]]:
    return (
        select(HandoffDecision.outcome.label("outcome"), HandoffDecision.fired_rule.label("rule"))
        .where(
            HandoffDecision.conversation_id == conversation,
            HandoffDecision.ownership_version == version,
        )
        .order_by(HandoffDecision.id.desc())
        .limit(1)
    )


def _opted_out_at(conversations: FromClause) -> Select[*tuple[Any, ...]]:
    """The opt-out of the contact at `conversations`' address."""
    return select(ContactIdentity.opted_out_at.label("at")).where(
        ContactIdentity.organization_id == conversations.c.organization_id,
        ContactIdentity.kind == conversations.c.address_kind,
        ContactIdentity.address == conversations.c.address,
    )


_OF_CONVERSATION: Expression = bindparam("of_conversation")
_UNDER_VERSION: Expression = bindparam("under_version")
_THE_CONVERSATION = Conversation.__table__.alias("the_conversation")
_OPTED_OUT_AT = _opted_out_at(_THE_CONVERSATION).where(_THE_CONVERSATION.c.id == _OF_CONVERSATION)


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


MESSAGE_FACTS = _statements(
    (TEXT, _customer_texts(_OF_CONVERSATION).where(Message.id <= bindparam("up_to"))),
    (DECISION, _previous_decision(_OF_CONVERSATION, _UNDER_VERSION)),
)
REPLY_FACTS = _statements(
    (TEXT, _customer_texts(_OF_CONVERSATION)),
    (AI_ANSWER, _ai_answers(_OF_CONVERSATION, _UNDER_VERSION)),
    (DECISION, _previous_decision(_OF_CONVERSATION, _UNDER_VERSION)),
)


def _as_json(statement: CompoundSelect[*tuple[Any, ...]]) -> ScalarSelect[Any]:
    """The facts statement's rows as one JSON array (PostgreSQL), for a statement that
    returns them beside its own columns."""
    rows = statement.subquery()
    return select(func.json_agg(func.json_build_array(*rows.c), type_=JSON)).scalar_subquery()


# The reply's facts with the opt-out, with the same values as `REPLY_FACTS`.
REPLY_FACTS_AS_JSON = _as_json(REPLY_FACTS[1])


def message_facts_of_claimed(
    conversations: FromClause, message_id: Expression
) -> ScalarSelect[Any]:
    """The facts for deciding on message `message_id` with the opt-out, as one JSON array,
    for a statement with `conversations` (the message's conversation row) in its FROM: its
    parts read that row's id, ownership version and address."""

    def of_the_row(rows: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
        return rows.correlate(conversations)

    conversation, version = conversations.c.id, conversations.c.ownership_version
    return _as_json(
        _facts_read(
            (TEXT, of_the_row(_customer_texts(conversation).where(Message.id <= message_id))),
            (DECISION, of_the_row(_previous_decision(conversation, version))),
            (OPT_OUT, of_the_row(_opted_out_at(conversations))),
        )
    )


def rows_of(statement_rows: Sequence[Any]) -> list[FactRow]:
    """The facts statement's rows, as read."""
    return [FactRow(*row) for row in statement_rows]


def rows_from_json(array: Sequence[Sequence[Any]] | None) -> tuple[FactRow, ...]:
    """The rows of the facts as one JSON array (None when no part found any)."""
    return tuple(FactRow(*row) for row in array or ())
