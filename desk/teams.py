"""Teams as a JSON API. Everyone in an organization can list its teams with their members
(the queue's filter menu needs them); only admins create, rename and delete teams. Team
names are unique within an organization; deleting a team leaves its conversations with
their owners and no team. Another organization's team is not found."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk.admin_common import clean_name, own_team
from gateway.auth import Role, current_agent, login_required, require_role
from gateway.errors import Conflict
from gateway.inputs import json_object
from gateway.models import Conversation, Team, TeamMember
from gateway.openapi import INTEGER, OK, STRING, array, documented, obj, schema
from gateway.web import database

teams_api = Blueprint("teams_api", __name__)

TEAM = schema(
    "Team", obj(["id", "name", "member_ids"], id=INTEGER, name=STRING, member_ids=array(INTEGER))
)


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


@teams_api.get("/api/teams")
@login_required()
@documented("The organization's teams", tags=["people"], response=obj(["teams"], teams=array(TEAM)))
async def list_teams() -> ResponseReturnValue:
    async with database().transaction() as session:
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


@teams_api.post("/api/teams")
@login_required(role=Role.ADMIN)
@documented(
    "Create a team (admins)",
    tags=["people"],
    body=obj(["name"], name=STRING),
    response=obj(["team"], team=TEAM),
    status=201,
    errors=(400, 403, 409),
)
async def create_team() -> ResponseReturnValue:
    me = current_agent()
    name = clean_name((await json_object()).get("name"), "a team name", 120)
    try:
        async with database().transaction() as session:
            await _unique_team_name(session, me.organization_id, name, 0)
            team = Team(organization_id=me.organization_id, name=name)
            session.add(team)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"a team named {name!r} exists", code="team_exists") from None
    return jsonify({"team": {"id": team.id, "name": team.name, "member_ids": []}}), 201


@teams_api.patch("/api/teams/<int:team_id>")
@login_required()
@documented(
    "Rename a team (admins)",
    tags=["people"],
    body=obj(["name"], name=STRING),
    response=obj(["team"], team=TEAM),
    errors=(400, 403, 409),
)
async def rename_team(team_id: int) -> ResponseReturnValue:
    me = current_agent()
    async with database().transaction() as session:
        team = await own_team(session, me.organization_id, team_id)
        require_role(Role.ADMIN)
        team.name = clean_name((await json_object()).get("name"), "a team name", 120)
        await _unique_team_name(session, me.organization_id, team.name, team.id)
        (entry,) = await _team_entries(session, [team])
    return jsonify({"team": entry})


@teams_api.delete("/api/teams/<int:team_id>")
@login_required()
@documented(
    "Delete a team (admins); its conversations keep their owners and lose the team",
    tags=["people"],
    response=OK,
    errors=(403,),
)
async def delete_team(team_id: int) -> ResponseReturnValue:
    me = current_agent()
    async with database().transaction() as session:
        team = await own_team(session, me.organization_id, team_id)
        require_role(Role.ADMIN)
        await session.execute(
            update(Conversation)
            .where(Conversation.team_id == team.id)
            .values(team_id=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
        await session.delete(team)
    return jsonify({"ok": True})
