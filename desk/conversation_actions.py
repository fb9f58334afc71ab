"""The queue page's actions beyond claim, reply and release (those are in
`handoff.actions`): reassign to an agent or a team, set the workflow label, write an
internal note, mark a conversation read. Each is one transaction in the agent's own
organization; while the conversation is under manual control, each restarts the review
window, so the AI stays paused while a person is working on it.

Reassigning to an agent makes the conversation `assigned` to them (from waiting, assigned
or manual); reassigning it to the agent who already has it changes nothing. Reassigning an
assigned conversation to a team only puts it back in the queue, for that team; in any
other state the team is recorded and ownership stays as it is."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from desk.agent_events import NOTE, after_commit_to_agents, updated_event
from gateway import ownership
from gateway.auth import Role, has_role, require_role
from gateway.errors import BadInput, Conflict, Forbidden, NotFound
from gateway.events import Event
from gateway.models import (
    Agent,
    Conversation,
    ConversationNote,
    ConversationRead,
    Message,
    Team,
    utcnow,
)
from gateway.ownership import State
from gateway.runtime import Services
from handoff import ladder
from handoff.actions import restart_review_window
from handoff.context import ConversationContext, load_context
from handoff.notices import post_notice
from handoff.routing import announce_state

MAX_NOTE_CHARS = 10_000
MAX_LABEL_CHARS = 120


async def _open(session: AsyncSession, agent: Agent, conversation_id: int) -> ConversationContext:
    return await load_context(session, conversation_id, organization_id=agent.organization_id)


async def _open_to_change(
    session: AsyncSession, agent: Agent, conversation_id: int
) -> ConversationContext:
    """The conversation, locked and read again, for an action that decides by its state: a
    change of hands committed meanwhile (the review window ending, say) is seen, and none
    can land before this transaction ends. Otherwise a note written as the AI took the
    conversation back would leave a pause and a `resume-ai` deadline on it."""
    context = await _open(session, agent, conversation_id)
    await session.refresh(context.conversation, with_for_update=True)
    return context


async def _keep_paused(
    session: AsyncSession, services: Services, context: ConversationContext
) -> None:
    if context.conversation.state == State.MANUAL:
        await restart_review_window(session, services, context)


async def _team(session: AsyncSession, organization_id: int, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None or team.organization_id != organization_id:
        raise NotFound("no such team")
    return team


async def _assignee(session: AsyncSession, organization_id: int, agent_id: int) -> Agent:
    target = await session.get(Agent, agent_id)
    if target is None or target.organization_id != organization_id:
        raise NotFound("no such agent")
    if not target.active:
        raise BadInput(f"{target.name} is deactivated")
    if not has_role(target, Role.AGENT):
        raise BadInput(f"{target.name} is a viewer and cannot take conversations")
    return target


async def reassign(
    services: Services,
    agent: Agent,
    conversation_id: int,
    *,
    agent_id: int | None = None,
    team_id: int | None = None,
) -> Conversation:
    """Give the conversation to another agent, to a team, or both."""
    require_role(Role.AGENT, agent)
    if agent_id is None and team_id is None:
        raise BadInput("name an agent_id, a team_id, or both")
    async with services.db.transaction() as session:
        context = await _open_to_change(session, agent, conversation_id)
        conversation = context.conversation
        state = State(conversation.state)
        if not has_role(agent, Role.ADMIN) and not (
            state == State.QUEUED or conversation.assigned_agent_id == agent.id
        ):
            raise Forbidden("only an admin may reassign a conversation another agent owns")
        team = await _team(session, agent.organization_id, team_id) if team_id else None
        target = await _assignee(session, agent.organization_id, agent_id) if agent_id else None
        if team is not None:
            conversation.team_id = team.id
        actor = ownership.agent(agent.id)
        if (
            target is not None
            and state == State.ASSIGNED
            and conversation.assigned_agent_id == target.id
        ):
            pass  # theirs already (a request sent twice, say): nobody is told again
        elif target is not None:
            if state not in (State.QUEUED, State.ASSIGNED, State.MANUAL):
                raise Conflict(
                    "only a waiting or human-owned conversation can be given to an agent; "
                    "take manual control first",
                    code="not_assignable",
                )
            await ownership.transition(
                session,
                conversation,
                State.ASSIGNED,
                actor=actor,
                reason=f"reassigned to {target.name}",
                assignee_id=target.id,
            )
            await post_notice(session, services, conversation, "agent_joined", agent=target.name)
            await ladder.schedule_unassign(session, services, conversation)
            announce_state(session, services, conversation)
        elif team is not None and state == State.ASSIGNED:
            await ownership.transition(
                session,
                conversation,
                State.QUEUED,
                actor=actor,
                reason=f"reassigned to team {team.name}",
                rule_hits=[{"rule": "reassigned_to_team", "fired": True, "team": team.name}],
            )
            await ladder.start(session, services, conversation)
            announce_state(session, services, conversation)
        else:
            await _keep_paused(session, services, context)
        await session.flush()
        after_commit_to_agents(session, services.events, updated_event(conversation))
        return conversation


def clean_label(raw: str | None) -> str | None:
    if raw is None:
        return None
    label = " ".join(raw.split())
    if len(label) > MAX_LABEL_CHARS:
        raise BadInput(f"a label may hold at most {MAX_LABEL_CHARS} characters")
    return label or None


async def set_label(
    services: Services, agent: Agent, conversation_id: int, label: str | None
) -> Conversation:
    """Set (or, with None or an empty string, clear) the workflow label."""
    require_role(Role.AGENT, agent)
    label = clean_label(label)
    async with services.db.transaction() as session:
        context = await _open_to_change(session, agent, conversation_id)
        conversation = context.conversation
        conversation.label = label
        await _keep_paused(session, services, context)
        await session.flush()
        after_commit_to_agents(session, services.events, updated_event(conversation))
        return conversation


async def add_note(
    services: Services, agent: Agent, conversation_id: int, text: str
) -> ConversationNote:
    """An internal note: stored and shown to the organization's agents, never sent."""
    require_role(Role.AGENT, agent)
    text = text.strip()
    if not text:
        raise BadInput("a note needs some text")
    if len(text) > MAX_NOTE_CHARS:
        raise BadInput(f"a note may hold at most {MAX_NOTE_CHARS} characters")
    async with services.db.transaction() as session:
        context = await _open_to_change(session, agent, conversation_id)
        note = ConversationNote(
            organization_id=agent.organization_id,
            conversation_id=conversation_id,
            agent_id=agent.id,
            text=text,
            created_at=utcnow(),
        )
        session.add(note)
        await _keep_paused(session, services, context)
        await session.flush()
        event = Event(
            NOTE,
            agent.organization_id,
            conversation_id,
            {"note_id": note.id, "agent_id": agent.id, "agent_name": agent.name, "text": text},
        )
        after_commit_to_agents(session, services.events, event)
        return note


async def mark_read(
    services: Services, agent: Agent, conversation_id: int, message_id: int | None = None
) -> int:
    """Record that `agent` has read the conversation up to `message_id` (default: its
    newest message); the mark never moves backwards. Returns the mark."""
    async with services.db.transaction() as session:
        await _open(session, agent, conversation_id)
        newest = await session.scalar(
            select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
        )
        mark = min(message_id, newest or 0) if message_id is not None else (newest or 0)
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(ConversationRead).values(
            agent_id=agent.id,
            conversation_id=conversation_id,
            last_read_message_id=mark,
            read_at=utcnow(),
        )
        kept = ConversationRead.last_read_message_id
        statement = statement.on_conflict_do_update(
            index_elements=["agent_id", "conversation_id"],
            set_={
                "last_read_message_id": case(
                    (statement.excluded.last_read_message_id > kept, mark), else_=kept
                ),
                "read_at": statement.excluded.read_at,
            },
        )
        await session.execute(statement)
        stored = await session.scalar(
            select(kept).where(
                ConversationRead.agent_id == agent.id,
                ConversationRead.conversation_id == conversation_id,
            )
        )
        return int(stored or 0)
