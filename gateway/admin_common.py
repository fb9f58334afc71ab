"""What the people and teams APIs share: the database, the admin check, cleaning a name,
and finding a team of the caller's organization (another organization's team is not
found)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import current_agent
from gateway.db import Database
from gateway.errors import BadInput, Forbidden, NotFound
from gateway.models import Agent, Team
from gateway.web import app_services


def database() -> Database:
    return app_services().services.db


def require_admin() -> Agent:
    agent = current_agent()
    if agent.role != "admin":
        raise Forbidden("only an admin can manage people and teams")
    return agent


def clean_name(value: object, what: str, limit: int) -> str:
    cleaned = " ".join(value.split()) if isinstance(value, str) else ""
    if not cleaned or len(cleaned) > limit:
        raise BadInput(f"{what} needs 1 to {limit} characters")
    return cleaned


async def own_team(session: AsyncSession, organization_id: int, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None or team.organization_id != organization_id:
        raise NotFound("no such team")
    return team
