"""`switchboard call`: try a call on one machine, without a Twilio account. It makes sure
the organization can take calls (a demo number on a local sandbox account, and an agent
with a phone as transfer target, when none are set), starts the phone sandbox that stands
in for Twilio's REST API, and places a call to the running gateway. What the caller hears
is printed; you type what the caller says (or `#1` to press keys, an empty line for
silence, `!` to hang up), and when an agent's phone rings you play that phone too."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import select

from gateway.db import Database
from gateway.models import Agent, Organization
from gateway.organizations import get_organization
from gateway.settings import Settings
from messaging.twilio.models import TwilioAccount, TwilioNumber
from messaging.twilio.numbers import add_number
from voice.models import AgentPhone
from voice.sandbox import Happened, PhoneSandbox
from voice.simulator import AgentCall, Leg, Phone

DEMO_NUMBER = "+15550100100"
DEMO_AGENT_PHONE = "+15550100200"
SANDBOX_PORT = 8089
QUIET_SECONDS = 60  # on hold with no phone ringing here this long: give up
HELP = "Say something, '#1' to press keys, an empty line for silence, '!' to hang up."


async def prepare(db: Database, slug: str) -> tuple[str, str, str, list[str]]:
    """The organization's first voice line (made on a sandbox account if it has none), its
    account's SID and token, and what was set up."""
    done: list[str] = []
    org = await get_organization(db, slug)
    async with db.transaction() as session:
        number = await session.scalar(
            select(TwilioNumber.address)
            .where(TwilioNumber.organization_id == org.id, TwilioNumber.address.like("+%"))
            .order_by(TwilioNumber.id)
            .limit(1)
        )
    if number is None:
        account = "AC" + secrets.token_hex(16)
        await add_number(db, org.id, DEMO_NUMBER, account, secrets.token_hex(16))
        number = DEMO_NUMBER
        done.append(f"registered the demo number {DEMO_NUMBER} on a sandbox account")
    async with db.transaction() as session:
        row = (
            await session.execute(select(TwilioNumber).where(TwilioNumber.address == number))
        ).scalar_one()
        account_row = await session.get(TwilioAccount, row.account_id)
        assert account_row is not None
        organization = await session.get(Organization, org.id)
        assert organization is not None
        settings = dict(organization.settings or {})
        voice = dict(settings.get("voice") or {})
        if not voice.get("transfer_targets"):
            agent = await session.scalar(
                select(Agent)
                .where(Agent.organization_id == org.id, Agent.active.is_(True))
                .order_by(Agent.role != "admin", Agent.id)
                .limit(1)
            )
            if agent is not None:
                if await session.get(AgentPhone, agent.id) is None:
                    session.add(
                        AgentPhone(
                            agent_id=agent.id,
                            organization_id=org.id,
                            number=DEMO_AGENT_PHONE,
                            available=True,
                        )
                    )
                voice["transfer_targets"] = [{"agent_id": agent.id, "label": agent.name}]
                settings["voice"] = voice
                organization.settings = settings
                done.append(f"made {agent.name} ({DEMO_AGENT_PHONE}) the transfer target")
        return number, account_row.account_sid, account_row.auth_token, done


def _transport(session: aiohttp.ClientSession, base: str) -> Any:
    async def post(path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
        async with session.post(
            base + path, data=form, headers={"X-Twilio-Signature": signature}
        ) as response:
            return response.status, await response.text()

    return post


async def _ask(prompt: str) -> str:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return "!"


async def _agent(phone: Phone, ringing: Happened) -> None:
    to = ringing.params.get("To", "")
    call = AgentCall(phone, Leg(ringing.sid, ringing.params.get("From", ""), to), ringing.params)
    print(f"\n  ☎ the agent's phone {to} is ringing.")
    await call.report("ringing")
    choice = await _ask("agent> [a]nswer, [n]o answer, [b]usy, [v]oicemail: ")
    if choice.startswith("n"):
        await call.report("no-answer")
    elif choice.startswith("b"):
        await call.report("busy")
    elif choice.startswith("v"):
        await call.machine()
    else:
        await call.answer()
        digits = await _ask("agent presses> ")
        if await call.press(digits.strip()[:1]):
            print("  ✓ the agent is connected with the caller.")
            await _ask("(talking… press Enter when the agent hangs up) ")
            await call.report("completed")
            await phone.conference_over()


async def simulate(settings: Settings, slug: str, caller_number: str) -> int:
    db = Database(settings.resolved_database_url)
    try:
        number, account_sid, token, done = await prepare(db, slug)
    finally:
        await db.dispose()
    for line in done:
        print(f"Set up: {line}.")
    api = urlsplit(settings.twilio_api_base_url)
    port = api.port if api.hostname in ("127.0.0.1", "localhost") and api.port else SANDBOX_PORT
    sandbox = await PhoneSandbox(port=port).start()
    print(
        f"Agents' phones ring here when the gateway sends its Twilio calls to "
        f"{sandbox.base_url} (start it with SWITCHBOARD_TWILIO_API_BASE_URL={sandbox.base_url})."
    )
    base = f"http://{settings.host}:{settings.port}"
    print(f"Calling {number} from {caller_number} through {base}. {HELP}")
    async with aiohttp.ClientSession() as session:
        phone = Phone(settings.resolved_public_url, account_sid, token, _transport(session, base))
        try:
            await phone.dial(caller_number, number)
            while not phone.ended:
                if phone.listening is None:  # on hold: wait for a phone to ring here
                    try:
                        happened = await asyncio.wait_for(sandbox.events.get(), QUIET_SECONDS)
                    except TimeoutError:
                        print(f"  (nothing rang here in {QUIET_SECONDS} s; hanging up)")
                        await phone.hang_up()
                        break
                    await _handle(phone, happened)
                    continue
                said = await _ask("caller> ")
                if said.strip() == "!":
                    await phone.hang_up()
                elif said.startswith("#"):
                    await phone.speak(digits=said[1:].strip())
                else:
                    await phone.speak(text=said.strip())
            # a text back goes out from the worker a moment later
            with contextlib.suppress(TimeoutError):
                while True:
                    await _handle(phone, await asyncio.wait_for(sandbox.events.get(), 5))
        finally:
            await sandbox.stop()
    return 0


async def _handle(phone: Phone, happened: Happened) -> None:
    if happened.kind == "call":
        await _agent(phone, happened)
    elif (
        happened.kind == "update"
        and happened.sid == phone.caller.sid
        and happened.params.get("Url")
    ):
        await phone.moved(happened.params["Url"])
    elif happened.kind == "update":
        print(f"  (the agent's call was ended: {happened.params.get('Status', 'moved')})")
    elif happened.kind == "sms":
        print(f"  ✉ text to {happened.params.get('To')}: {happened.params.get('Body')}")
    if phone.dial_action is not None and phone.listening is None:
        await phone.hold_audio()


def cmd_call(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(simulate(settings, args.org_slug, args.caller))


def register(commands: Any) -> None:
    call = commands.add_parser("call", help="try a phone call without Twilio (a simulator)")
    call.add_argument("org_slug", nargs="?", default="demo", help="default: demo")
    call.add_argument("--from", dest="caller", default="+15557654321", help="the caller's number")
    call.set_defaults(handler=cmd_call)
