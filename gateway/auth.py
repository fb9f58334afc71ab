"""Agent login sessions, kept server-side: the cookie carries a random token and the
database keeps only its SHA-256, with a CSRF token that every API write must echo in the
`X-CSRF-Token` header. `login_required(role=...)` resolves the session for a request and
checks the agent's `Role`, so every handler works inside the agent's own organization.
Ending sessions (logout, deactivation, a password or role change) publishes a
session-revoked event on the organization's live channel, so open sockets and event
streams end within a second, on every process."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum
from functools import cache, wraps
from typing import ParamSpec, TypeVar

from quart import g, request
from sqlalchemy import delete, select

from gateway.db import Database
from gateway.errors import Forbidden, NotAuthenticated
from gateway.events import Event, EventPublisher
from gateway.models import Agent, AgentSession, utcnow
from gateway.passwords import hash_password, needs_rehash, verify_password
from gateway.web import database

COOKIE = "switchboard_session"
SESSION_REVOKED = "session_revoked"
SESSION_LIFETIME = timedelta(days=7)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

P = ParamSpec("P")
R = TypeVar("R")


@cache
def _dummy_hash() -> str:
    """A hash of no one's password, checked when the email is unknown. Made when first
    needed, not when the module loads: every command would pay for it (about 0.16 s)."""
    return hash_password(secrets.token_urlsafe(16))


def warm_up() -> None:
    """Make the unknown email's hash now (the gateway does as it starts), so the first
    login with an unknown email takes as long as any other."""
    _dummy_hash()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def authenticate(db: Database, email: str, password: str) -> Agent:
    """The active agent with this email and password, or NotAuthenticated."""
    async with db.transaction() as session:
        agent = await session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
        if agent is None or not agent.active:
            verify_password(_dummy_hash(), password)  # same cost whether or not the email exists
            raise NotAuthenticated("wrong email or password")
        if not verify_password(agent.password_hash, password):
            raise NotAuthenticated("wrong email or password")
        if needs_rehash(agent.password_hash):
            agent.password_hash = hash_password(password)
        return agent


async def open_session(db: Database, agent: Agent) -> tuple[str, str]:
    """Start a session; returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    async with db.transaction() as session:
        session.add(
            AgentSession(
                token_hash=_digest(token),
                agent_id=agent.id,
                organization_id=agent.organization_id,
                csrf_token=csrf,
                expires_at=utcnow() + SESSION_LIFETIME,
            )
        )
    return token, csrf


async def close_session(db: Database, events: EventPublisher, token: str) -> None:
    """End one session (a logout); its open live streams close within a second."""
    async with db.transaction() as session:
        owner = await session.scalar(
            select(AgentSession).where(AgentSession.token_hash == _digest(token))
        )
        if owner is None:
            return
        agent_id, organization_id = owner.agent_id, owner.organization_id
        await session.execute(delete(AgentSession).where(AgentSession.token_hash == _digest(token)))
    await announce_revoked(events, organization_id, agent_id)


async def close_agent_sessions(
    db: Database, events: EventPublisher, agent: Agent, *, keep_token: str | None = None
) -> int:
    """End every session of an agent (but the one of `keep_token`); returns how many. The
    agent's open live streams re-check their session at once and close if it ended."""
    statement = delete(AgentSession).where(AgentSession.agent_id == agent.id)
    if keep_token is not None:
        statement = statement.where(AgentSession.token_hash != _digest(keep_token))
    async with db.transaction() as session:
        result = await session.execute(statement)
    await announce_revoked(events, agent.organization_id, agent.id)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def announce_revoked(events: EventPublisher, organization_id: int, agent_id: int) -> None:
    """Tell every gateway process that an agent's sessions changed (logout, deactivation,
    a new password or role): their live streams for that agent check their session again
    instead of waiting for the next heartbeat. The event is not shown to the pages."""
    await events.publish(Event(SESSION_REVOKED, organization_id, None, {"agent_id": agent_id}))


async def resolve_session(db: Database, token: str) -> tuple[Agent, AgentSession] | None:
    async with db.read(quick=True) as session:
        row = (
            await session.execute(
                select(Agent, AgentSession)
                .join(AgentSession, AgentSession.agent_id == Agent.id)
                .where(AgentSession.token_hash == _digest(token))
            )
        ).first()
    if row is None:
        return None
    agent, agent_session = row
    if agent_session.expires_at <= utcnow() or not agent.active:
        return None
    return agent, agent_session


class Role(StrEnum):
    """What an agent may do, each role including the one before it: a viewer reads; an
    agent also claims, replies and writes notes; an admin also manages people, teams,
    settings, numbers and webhooks."""

    VIEWER = "viewer"
    AGENT = "agent"
    ADMIN = "admin"

    def includes(self, other: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(other)


_REFUSALS = {
    Role.AGENT: "a viewer can only read: this needs an agent or an admin",
    Role.ADMIN: "only an admin can do this",
}


def has_role(agent: Agent, role: Role) -> bool:
    return agent.role in Role.__members__.values() and Role(agent.role).includes(role)


def require_role(role: Role, agent: Agent | None = None) -> Agent:
    """The agent (default: the logged-in one), or Forbidden unless they have `role`. For
    the routes that first look the target up, so another organization's is a 404."""
    agent = agent or current_agent()
    if not has_role(agent, role):
        raise Forbidden(_REFUSALS.get(role, "you may not do this"))
    return agent


def login_required(
    *, role: Role = Role.VIEWER
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorator: the request must carry a live session (and its CSRF token for writes) of
    an agent with `role` (default: any); the agent is then `g.agent`."""

    def decorate(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(handler)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            token = request.cookies.get(COOKIE)
            found = await resolve_session(database(), token) if token else None
            if found is None:
                raise NotAuthenticated("log in first")
            agent, agent_session = found
            if request.method in UNSAFE_METHODS:
                sent = request.headers.get("X-CSRF-Token", "")
                if not hmac.compare_digest(sent, agent_session.csrf_token):
                    raise Forbidden("missing or wrong CSRF token", code="csrf_failed")
            g.agent = agent
            g.csrf_token = agent_session.csrf_token
            require_role(role, agent)
            return await handler(*args, **kwargs)

        return wrapper

    return decorate


def current_agent() -> Agent:
    agent: Agent = g.agent
    return agent
