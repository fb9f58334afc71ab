"""People as a JSON API. Everyone in an organization can list its agents (the queue's
reassign and filter menus need them); only admins create agents, set roles (viewer: read
only; agent: claim and reply; admin: settings and people), move them between teams,
deactivate them and reset passwords. An organization always keeps one active admin.
Deactivating an agent, changing their role or resetting their password ends their sessions
(open live streams too). Another organization's agent is not found."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts import validate_time_zone
from desk.admin_common import clean_name, own_team
from gateway.auth import (
    COOKIE,
    Role,
    close_agent_sessions,
    current_agent,
    has_role,
    login_required,
    require_role,
)
from gateway.errors import BadInput, Conflict, NotFound
from gateway.inputs import id_list, json_object, text_field
from gateway.models import Agent, TeamMember
from gateway.openapi import BOOLEAN, INTEGER, OK, STRING, TIMESTAMP, array, documented, obj, schema
from gateway.organizations import ROLES, normalize_email, validate_password
from gateway.passwords import hash_password
from gateway.web import app_services, database

people_api = Blueprint("people_api", __name__)

MEMBER = schema(
    "AgentEntry",
    obj(
        ["id", "name", "role", "active", "team_ids"],
        id=INTEGER,
        name=STRING,
        email={"type": "string", "description": "admins only"},
        role={"type": "string", "enum": list(ROLES)},
        active=BOOLEAN,
        time_zone=STRING,
        team_ids=array(INTEGER),
        created_at=TIMESTAMP,
    ),
)
AGENT_CHANGES = obj(
    name=STRING, role=STRING, active=BOOLEAN, team_ids=array(INTEGER), time_zone=STRING
)


def _role(value: object) -> str:
    if value not in ROLES:
        raise BadInput(f"invalid role {value!r}: use one of {', '.join(ROLES)}")
    return str(value)


async def _teams_of(session: AsyncSession, agent_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {agent_id: [] for agent_id in agent_ids}
    if agent_ids:
        rows = await session.execute(
            select(TeamMember.agent_id, TeamMember.team_id)
            .where(TeamMember.agent_id.in_(agent_ids))
            .order_by(TeamMember.team_id)
        )
        for agent_id, team_id in rows:
            found[agent_id].append(team_id)
    return found


def agent_entry(agent: Agent, team_ids: list[int], *, private: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": agent.id,
        "name": agent.name,
        "role": agent.role,
        "active": agent.active,
        "time_zone": agent.time_zone,
        "team_ids": team_ids,
    }
    if private:
        entry.update(email=agent.email, created_at=agent.created_at)
    return entry


async def _own_agent(session: AsyncSession, organization_id: int, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None or agent.organization_id != organization_id:
        raise NotFound("no such agent")
    return agent


async def _set_teams(session: AsyncSession, agent: Agent, team_ids: object) -> None:
    team_ids = id_list(team_ids, "team_ids")
    for team_id in set(team_ids):
        await own_team(session, agent.organization_id, team_id)
    await session.execute(delete(TeamMember).where(TeamMember.agent_id == agent.id))
    for team_id in sorted(set(team_ids)):
        session.add(TeamMember(team_id=team_id, agent_id=agent.id))


@people_api.get("/api/agents")
@login_required()
@documented(
    "The organization's agents (emails only for admins)",
    tags=["people"],
    response=obj(["agents"], agents=array(MEMBER)),
)
async def list_agents() -> ResponseReturnValue:
    me = current_agent()
    async with database().transaction() as session:
        agents = list(
            await session.scalars(
                select(Agent)
                .where(Agent.organization_id == me.organization_id)
                .order_by(Agent.name)
            )
        )
        teams = await _teams_of(session, [agent.id for agent in agents])
    private = has_role(me, Role.ADMIN)
    return jsonify({"agents": [agent_entry(a, teams[a.id], private=private) for a in agents]})


@people_api.post("/api/agents")
@login_required(role=Role.ADMIN)
@documented(
    "Create an agent (admins)",
    tags=["people"],
    body=obj(
        ["name", "email", "password", "role"],
        name=STRING,
        email=STRING,
        password={"type": "string", "minLength": 10},
        role=STRING,
        team_ids=array(INTEGER),
        time_zone=STRING,
    ),
    response=obj(["agent"], agent=MEMBER),
    status=201,
    errors=(400, 403, 409),
)
async def create_agent() -> ResponseReturnValue:
    me = current_agent()
    body = await json_object()
    name = clean_name(body.get("name"), "a name", 200)
    email = normalize_email(text_field(body, "email") or "")
    password = validate_password(text_field(body, "password") or "")
    role = _role(body.get("role", "agent"))
    zone = validate_time_zone(body.get("time_zone", "UTC"))
    conflict = Conflict(f"an agent with email {email!r} already exists", code="email_taken")
    try:
        async with database().transaction() as session:
            if await session.scalar(select(Agent.id).where(Agent.email == email)):
                raise conflict
            agent = Agent(
                organization_id=me.organization_id,
                name=name,
                email=email,
                password_hash=hash_password(password),
                role=role,
                time_zone=zone,
            )
            session.add(agent)
            await session.flush()
            await _set_teams(session, agent, body.get("team_ids", []))
            teams = await _teams_of(session, [agent.id])
    except IntegrityError:  # the same email was added concurrently
        raise conflict from None
    return jsonify({"agent": agent_entry(agent, teams[agent.id], private=True)}), 201


async def _admins_left(session: AsyncSession, organization_id: int, without: int) -> int:
    count = await session.scalar(
        select(func.count(Agent.id)).where(
            Agent.organization_id == organization_id,
            Agent.role == Role.ADMIN,
            Agent.active.is_(True),
            Agent.id != without,
        )
    )
    return int(count or 0)


async def _lock_admins(session: AsyncSession, organization_id: int) -> None:
    """Lock the organization's active admins' rows, in id order, before any role or
    status change: two admins demoting each other at once then take turns, and the second
    sees the first's change and is refused, rather than both succeeding and leaving the
    organization without an admin. (SQLite takes its write lock at BEGIN already.)"""
    await session.execute(
        select(Agent.id)
        .where(
            Agent.organization_id == organization_id,
            Agent.role == Role.ADMIN,
            Agent.active.is_(True),
        )
        .order_by(Agent.id)
        .with_for_update()
    )


def _last_admin_refusal(agent: Agent, me: Agent, body: dict[str, Any]) -> str:
    deactivating = body.get("active") is False
    if agent.id == me.id:
        change = "deactivate yourself" if deactivating else "change your role"
        return (
            f"You are the only active admin, so you can't {change}. "
            "Make someone else an admin first."
        )
    change = "deactivate them" if deactivating else "change their role"
    return (
        f"{agent.name} is the only active admin, so you can't {change}. "
        "Make someone else an admin first."
    )


@people_api.patch("/api/agents/<int:agent_id>")
@login_required()
@documented(
    "Change an agent: name, role, active, teams, time zone (admins)",
    tags=["people"],
    body=AGENT_CHANGES,
    response=obj(["agent"], agent=MEMBER),
    errors=(400, 403, 409),
)
async def update_agent(agent_id: int) -> ResponseReturnValue:
    me = current_agent()
    async with database().transaction() as session:
        agent = await _own_agent(session, me.organization_id, agent_id)
        require_role(Role.ADMIN)
        body = await json_object()
        if "role" in body or "active" in body:
            await _lock_admins(session, me.organization_id)
            await session.refresh(agent)  # as it is now that the admins are locked
        if "name" in body:
            agent.name = clean_name(body["name"], "a name", 200)
        if "time_zone" in body:
            agent.time_zone = validate_time_zone(body["time_zone"])
        old_role = agent.role
        if "role" in body:
            agent.role = _role(body["role"])
        if "active" in body:
            if not isinstance(body["active"], bool):
                raise BadInput("active must be true or false")
            agent.active = body["active"]
        if (not has_role(agent, Role.ADMIN) or not agent.active) and not await _admins_left(
            session, me.organization_id, agent.id
        ):
            raise Conflict(_last_admin_refusal(agent, me, body), code="last_admin")
        if "team_ids" in body:
            await _set_teams(session, agent, body["team_ids"])
        teams = await _teams_of(session, [agent.id])
    events = app_services().services.events
    if not agent.active:
        await close_agent_sessions(database(), events, agent)
    elif agent.role != old_role:
        # A new role takes a new login; an admin changing their own keeps this session.
        keep = request.cookies.get(COOKIE) if agent.id == me.id else None
        await close_agent_sessions(database(), events, agent, keep_token=keep)
    return jsonify({"agent": agent_entry(agent, teams[agent.id], private=True)})


@people_api.post("/api/agents/<int:agent_id>/password")
@login_required()
@documented(
    "Set an agent's password (admins); ends that agent's sessions",
    tags=["people"],
    body=obj(["password"], password={"type": "string", "minLength": 10}),
    response=OK,
    errors=(400, 403),
)
async def reset_password(agent_id: int) -> ResponseReturnValue:
    me = current_agent()
    async with database().transaction() as session:
        agent = await _own_agent(session, me.organization_id, agent_id)
        require_role(Role.ADMIN)
        password = text_field(await json_object(), "password") or ""
        agent.password_hash = hash_password(validate_password(password))
    await close_agent_sessions(database(), app_services().services.events, agent)
    return jsonify({"ok": True})
