"""People and teams, as a JSON API. Everyone in an organization can list its agents and
teams (the queue's reassign and filter menus need them); only admins create agents, set
roles (viewer: read only; agent: claim and reply; admin: settings and people), deactivate
agents, reset passwords, and manage teams. An organization always keeps one active admin.
Deactivating an agent or resetting their password ends their sessions. Another
organization's agent or team is not found."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts import validate_time_zone
from gateway.auth import close_agent_sessions, current_agent, login_required
from gateway.db import Database
from gateway.errors import BadInput, Conflict, Forbidden, NotFound
from gateway.models import Agent, Conversation, Team, TeamMember
from gateway.openapi import BOOLEAN, INTEGER, OK, STRING, TIMESTAMP, array, documented, obj, schema
from gateway.organizations import ROLES, normalize_email, validate_password
from gateway.passwords import hash_password
from gateway.web import app_services

admin_api = Blueprint("admin_api", __name__)

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
TEAM = schema(
    "Team", obj(["id", "name", "member_ids"], id=INTEGER, name=STRING, member_ids=array(INTEGER))
)
AGENT_CHANGES = obj(
    name=STRING, role=STRING, active=BOOLEAN, team_ids=array(INTEGER), time_zone=STRING
)


def _db() -> Database:
    return app_services().services.db


def _admin() -> Agent:
    agent = current_agent()
    if agent.role != "admin":
        raise Forbidden("only an admin can manage people and teams")
    return agent


async def _body() -> dict[str, Any]:
    body = await request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("send a JSON object")
    return body


def _name(value: object, what: str, limit: int) -> str:
    cleaned = " ".join(value.split()) if isinstance(value, str) else ""
    if not cleaned or len(cleaned) > limit:
        raise BadInput(f"{what} needs 1 to {limit} characters")
    return cleaned


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


async def _own_team(session: AsyncSession, organization_id: int, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None or team.organization_id != organization_id:
        raise NotFound("no such team")
    return team


async def _set_teams(session: AsyncSession, agent: Agent, team_ids: object) -> None:
    if not isinstance(team_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in team_ids
    ):
        raise BadInput("team_ids must be a list of team ids")
    for team_id in set(team_ids):
        await _own_team(session, agent.organization_id, team_id)
    await session.execute(delete(TeamMember).where(TeamMember.agent_id == agent.id))
    for team_id in sorted(set(team_ids)):
        session.add(TeamMember(team_id=team_id, agent_id=agent.id))


@admin_api.get("/api/agents")
@login_required(_db)
@documented(
    "The organization's agents (emails only for admins)",
    tags=["people"],
    response=obj(["agents"], agents=array(MEMBER)),
)
async def list_agents() -> ResponseReturnValue:
    me = current_agent()
    async with _db().transaction() as session:
        agents = list(
            await session.scalars(
                select(Agent)
                .where(Agent.organization_id == me.organization_id)
                .order_by(Agent.name)
            )
        )
        teams = await _teams_of(session, [agent.id for agent in agents])
    private = me.role == "admin"
    return jsonify({"agents": [agent_entry(a, teams[a.id], private=private) for a in agents]})


@admin_api.post("/api/agents")
@login_required(_db)
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
    me = _admin()
    body = await _body()
    name = _name(body.get("name"), "a name", 200)
    email = normalize_email(str(body.get("email", "")))
    password = validate_password(str(body.get("password", "")))
    role = _role(body.get("role", "agent"))
    zone = validate_time_zone(body.get("time_zone", "UTC"))
    conflict = Conflict(f"an agent with email {email!r} already exists", code="email_taken")
    try:
        async with _db().transaction() as session:
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
            Agent.role == "admin",
            Agent.active.is_(True),
            Agent.id != without,
        )
    )
    return int(count or 0)


@admin_api.patch("/api/agents/<int:agent_id>")
@login_required(_db)
@documented(
    "Change an agent: name, role, active, teams, time zone (admins)",
    tags=["people"],
    body=AGENT_CHANGES,
    response=obj(["agent"], agent=MEMBER),
    errors=(400, 403, 409),
)
async def update_agent(agent_id: int) -> ResponseReturnValue:
    me = current_agent()
    async with _db().transaction() as session:
        agent = await _own_agent(session, me.organization_id, agent_id)
        _admin()
        body = await _body()
        if "name" in body:
            agent.name = _name(body["name"], "a name", 200)
        if "time_zone" in body:
            agent.time_zone = validate_time_zone(body["time_zone"])
        if "role" in body:
            agent.role = _role(body["role"])
        if "active" in body:
            if not isinstance(body["active"], bool):
                raise BadInput("active must be true or false")
            agent.active = body["active"]
        if (agent.role != "admin" or not agent.active) and not await _admins_left(
            session, me.organization_id, agent.id
        ):
            raise Conflict("the organization needs at least one active admin", code="last_admin")
        if "team_ids" in body:
            await _set_teams(session, agent, body["team_ids"])
        teams = await _teams_of(session, [agent.id])
    if not agent.active:
        await close_agent_sessions(_db(), agent.id)
    return jsonify({"agent": agent_entry(agent, teams[agent.id], private=True)})


@admin_api.post("/api/agents/<int:agent_id>/password")
@login_required(_db)
@documented(
    "Set an agent's password (admins); ends that agent's sessions",
    tags=["people"],
    body=obj(["password"], password={"type": "string", "minLength": 10}),
    response=OK,
    errors=(400, 403),
)
async def reset_password(agent_id: int) -> ResponseReturnValue:
    me = current_agent()
    async with _db().transaction() as session:
        agent = await _own_agent(session, me.organization_id, agent_id)
        _admin()
        password = (await _body()).get("password")
        agent.password_hash = hash_password(validate_password(str(password or "")))
    await close_agent_sessions(_db(), agent_id)
    return jsonify({"ok": True})


async def _team_entries(session: AsyncSession, teams: list[Team]) -> list[dict[str, Any]]:
    members: dict[int, list[int]] = {team.id: [] for team in teams}
    if teams:
        rows = await session.execute(
            select(TeamMember.team_id, TeamMember.agent_id)
            .where(TeamMember.team_id.in_(list(members)))
            .order_by(TeamMember.agent_id)
        )
        for team_id, agent_id in rows:
            members[team_id].append(agent_id)
    return [{"id": t.id, "name": t.name, "member_ids": members[t.id]} for t in teams]


@admin_api.get("/api/teams")
@login_required(_db)
@documented("The organization's teams", tags=["people"], response=obj(["teams"], teams=array(TEAM)))
async def list_teams() -> ResponseReturnValue:
    async with _db().transaction() as session:
        teams = list(
            await session.scalars(
                select(Team)
                .where(Team.organization_id == current_agent().organization_id)
                .order_by(Team.name)
            )
        )
        return jsonify({"teams": await _team_entries(session, teams)})


async def _unique_team_name(
    session: AsyncSession, organization_id: int, name: str, own: int
) -> None:
    taken = await session.scalar(
        select(Team.id).where(
            Team.organization_id == organization_id, Team.name == name, Team.id != own
        )
    )
    if taken is not None:
        raise Conflict(f"a team named {name!r} exists", code="team_exists")


@admin_api.post("/api/teams")
@login_required(_db)
@documented(
    "Create a team (admins)",
    tags=["people"],
    body=obj(["name"], name=STRING),
    response=obj(["team"], team=TEAM),
    status=201,
    errors=(400, 403, 409),
)
async def create_team() -> ResponseReturnValue:
    me = _admin()
    name = _name((await _body()).get("name"), "a team name", 120)
    try:
        async with _db().transaction() as session:
            await _unique_team_name(session, me.organization_id, name, 0)
            team = Team(organization_id=me.organization_id, name=name)
            session.add(team)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"a team named {name!r} exists", code="team_exists") from None
    return jsonify({"team": {"id": team.id, "name": team.name, "member_ids": []}}), 201


@admin_api.patch("/api/teams/<int:team_id>")
@login_required(_db)
@documented(
    "Rename a team (admins)",
    tags=["people"],
    body=obj(["name"], name=STRING),
    response=obj(["team"], team=TEAM),
    errors=(400, 403, 409),
)
async def rename_team(team_id: int) -> ResponseReturnValue:
    me = current_agent()
    async with _db().transaction() as session:
        team = await _own_team(session, me.organization_id, team_id)
        _admin()
        team.name = _name((await _body()).get("name"), "a team name", 120)
        await _unique_team_name(session, me.organization_id, team.name, team.id)
        (entry,) = await _team_entries(session, [team])
    return jsonify({"team": entry})


@admin_api.delete("/api/teams/<int:team_id>")
@login_required(_db)
@documented(
    "Delete a team (admins); its conversations keep their owners and lose the team",
    tags=["people"],
    response=OK,
    errors=(403,),
)
async def delete_team(team_id: int) -> ResponseReturnValue:
    me = current_agent()
    async with _db().transaction() as session:
        team = await _own_team(session, me.organization_id, team_id)
        _admin()
        await session.execute(
            update(Conversation)
            .where(Conversation.team_id == team.id)
            .values(team_id=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
        await session.delete(team)
    return jsonify({"ok": True})
