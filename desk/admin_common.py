"""What the people and teams APIs share: cleaning a name, and finding a team of the
caller's organization (another organization's team is not found)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import BadInput, NotFound
from gateway.models import Team


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
