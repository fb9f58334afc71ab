"""Creating organizations and agents, for the admin CLI and the first run of `switchboard up`.
Input is validated before any row is written; a duplicate slug or email is a `Conflict`
with a message that names it. `ensure_demo` creates the demo organization, its knowledge
base and its admin once, and returns the admin's generated password that one time only."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import Role
from gateway.db import Database
from gateway.errors import BadInput, Conflict, NotFound
from gateway.models import Agent, KnowledgeEntry, Organization, Team, TeamMember
from gateway.origins import parse_origin
from gateway.passwords import hash_password

ROLES = tuple(role.value for role in Role)
MIN_PASSWORD_LENGTH = 10
DEMO_SLUG = "demo"
DEMO_NAME = "Northwind Outfitters (demo)"
DEMO_ADMIN_EMAIL = "admin@demo.switchboard.test"

_SLUG = re.compile(r"[a-z0-9-]{2,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

KnowledgeLoader = Callable[[Database, int], Awaitable[int]]


@dataclass(frozen=True)
class DemoCredentials:
    organization_slug: str
    email: str
    password: str
    knowledge_entries: int


def new_widget_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


def _validate_slug(slug: str) -> str:
    if not _SLUG.fullmatch(slug):
        raise BadInput(
            f"invalid organization slug {slug!r}: use 2 to 64 lowercase letters, digits or '-'"
        )
    return slug


def _validate_name(name: str, what: str, limit: int) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise BadInput(f"{what} must not be empty")
    if len(cleaned) > limit:
        raise BadInput(f"{what} is longer than {limit} characters")
    return cleaned


def normalize_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > 320 or not _EMAIL.fullmatch(cleaned):
        raise BadInput(f"invalid email address {email!r}")
    return cleaned


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


async def get_organization(db: Database, slug: str) -> Organization:
    async with db.transaction() as session:
        org = await session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound(f"no organization with slug {slug!r}")
    return org


async def create_organization(
    db: Database, slug: str, name: str, allowed_origins: Iterable[str] = ()
) -> Organization:
    slug = _validate_slug(slug)
    name = _validate_name(name, "the organization name", 200)
    origins = list(dict.fromkeys(parse_origin(origin) for origin in allowed_origins))
    conflict = Conflict(f"an organization with slug {slug!r} already exists")
    try:
        async with db.transaction() as session:
            if await session.scalar(select(Organization.id).where(Organization.slug == slug)):
                raise conflict
            org = Organization(
                slug=slug,
                name=name,
                widget_key=new_widget_key(),
                allowed_origins=origins,
                settings={},
            )
            session.add(org)
    except IntegrityError:  # created concurrently since the check above
        raise conflict from None
    return org


async def _team(session: AsyncSession, organization_id: int, name: str) -> Team:
    team = await session.scalar(
        select(Team).where(Team.organization_id == organization_id, Team.name == name)
    )
    if team is None:
        team = Team(organization_id=organization_id, name=name)
        session.add(team)
        await session.flush()
    return team


async def create_agent(
    db: Database,
    org_slug: str,
    name: str,
    email: str,
    password: str,
    role: str = "agent",
    teams: Iterable[str] = (),
) -> Agent:
    name = _validate_name(name, "the agent's name", 200)
    email = normalize_email(email)
    if role not in ROLES:
        raise BadInput(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
    validate_password(password)
    team_names = list(dict.fromkeys(_validate_name(team, "a team name", 120) for team in teams))
    password_hash = hash_password(password)
    conflict = Conflict(f"an agent with email {email!r} already exists")
    try:
        async with db.transaction() as session:
            org = await session.scalar(select(Organization).where(Organization.slug == org_slug))
            if org is None:
                raise NotFound(f"no organization with slug {org_slug!r}")
            if await session.scalar(select(Agent.id).where(Agent.email == email)):
                raise conflict
            agent = Agent(
                organization_id=org.id,
                name=name,
                email=email,
                password_hash=password_hash,
                role=role,
            )
            session.add(agent)
            await session.flush()
            for team_name in team_names:
                team = await _team(session, org.id, team_name)
                session.add(TeamMember(team_id=team.id, agent_id=agent.id))
    except IntegrityError:  # the same email was added concurrently since the check above
        raise conflict from None
    return agent


async def ensure_demo(db: Database, load_kb: KnowledgeLoader) -> DemoCredentials | None:
    """Create the demo organization, its knowledge base and its admin on the first run;
    None when it exists already. Should loading the knowledge base fail, the organization
    and admin are removed again, so the next run starts over."""
    async with db.transaction() as session:
        if await session.scalar(select(Organization.id).where(Organization.slug == DEMO_SLUG)):
            return None
    org = await create_organization(db, DEMO_SLUG, DEMO_NAME)
    password = secrets.token_urlsafe(12)
    try:
        await create_agent(db, DEMO_SLUG, "Demo Admin", DEMO_ADMIN_EMAIL, password, "admin")
        entries = await load_kb(db, org.id)
    except BaseException:
        await _remove_organization(db, org.id)
        raise
    return DemoCredentials(DEMO_SLUG, DEMO_ADMIN_EMAIL, password, entries)


async def _remove_organization(db: Database, organization_id: int) -> None:
    """Undo a half-finished demo set-up (it has no conversations yet)."""
    async with db.transaction() as session:
        agents = select(Agent.id).where(Agent.organization_id == organization_id)
        teams = select(Team.id).where(Team.organization_id == organization_id)
        await session.execute(delete(TeamMember).where(TeamMember.agent_id.in_(agents)))
        await session.execute(delete(TeamMember).where(TeamMember.team_id.in_(teams)))
        await session.execute(delete(Team).where(Team.organization_id == organization_id))
        await session.execute(delete(Agent).where(Agent.organization_id == organization_id))
        await session.execute(
            delete(KnowledgeEntry).where(KnowledgeEntry.organization_id == organization_id)
        )
        await session.execute(delete(Organization).where(Organization.id == organization_id))
