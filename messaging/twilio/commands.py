"""The Twilio channel's `switchboard` subcommands: `number add`, `number list` and `number
remove` register, list and unregister the business numbers (or Messaging Services) that
incoming webhooks find their organization by. The auth token is read from standard input,
TWILIO_AUTH_TOKEN or a prompt, never from the command line (where `ps` would show it)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from gateway.commands import run_with_db
from gateway.db import Database
from gateway.errors import BadInput
from gateway.settings import Settings


def read_auth_token(from_stdin: bool) -> str:
    """A Twilio auth token: one line of stdin, TWILIO_AUTH_TOKEN, or typed at a prompt."""
    if from_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise BadInput("no auth token on standard input")
        return token
    return os.environ.get("TWILIO_AUTH_TOKEN") or getpass.getpass("Twilio auth token: ")


def cmd_number_add(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.organizations import get_organization
    from messaging.twilio.numbers import add_number

    token = read_auth_token(args.auth_token_stdin)

    async def add(db: Database) -> str:
        org = await get_organization(db, args.org_slug)
        added = await add_number(
            db, org.id, args.number, args.account_sid, token, args.messaging_service
        )
        return added.address

    address = run_with_db(settings, add)
    print(f"Registered {address} for organization {args.org_slug!r}")
    print(f'In Twilio, set "A message comes in" to POST {settings.resolved_public_url}/twilio/sms')
    print(f'For calls, set "A call comes in" to POST {settings.resolved_public_url}/twilio/voice')
    print(f'and "Call status changes" to POST {settings.resolved_public_url}/twilio/voice/status')
    return 0


def cmd_number_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.organizations import get_organization
    from messaging.twilio.numbers import list_numbers

    async def find(db: Database) -> list[str]:
        org_id = (await get_organization(db, args.org_slug)).id if args.org_slug else None
        return [number.line() for number in await list_numbers(db, org_id)]

    lines = run_with_db(settings, find)
    print("\n".join(lines) if lines else "No numbers registered.")
    return 0


def cmd_number_remove(settings: Settings, args: argparse.Namespace) -> int:
    from messaging.twilio.numbers import remove_number

    removed = run_with_db(settings, lambda db: remove_number(db, args.number))
    print(f"Removed {removed}")
    return 0


def add_commands(commands: Any) -> None:
    """Add `number` and its actions to the `switchboard` parser."""
    number = commands.add_parser(
        "number", help="manage Twilio numbers (SMS, MMS, WhatsApp)"
    ).add_subparsers(dest="number_command", required=True, metavar="ACTION")
    number_add = number.add_parser(
        "add", help="register a business number, or a Messaging Service (MG…), to an org"
    )
    number_add.add_argument("org_slug")
    number_add.add_argument("number", help="E.164 (+15551234567), a short code, or MG…")
    number_add.add_argument(
        "--account-sid", required=True, help="the account or subaccount that owns it (AC…)"
    )
    number_add.add_argument(
        "--messaging-service", metavar="MG…", help="send through this Messaging Service"
    )
    number_add.add_argument(
        "--auth-token-stdin",
        action="store_true",
        help="read the auth token from standard input (else TWILIO_AUTH_TOKEN, else a prompt)",
    )
    number_add.set_defaults(handler=cmd_number_add)
    number_list = number.add_parser("list", help="list registered numbers")
    number_list.add_argument("org_slug", nargs="?", help="only this organization's")
    number_list.set_defaults(handler=cmd_number_list)
    number_remove = number.add_parser("remove", help="unregister a number")
    number_remove.add_argument("number")
    number_remove.set_defaults(handler=cmd_number_remove)
