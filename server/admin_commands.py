"""The `switchboard` administration commands: organizations, agents, knowledge bases, the
handoff guard and Twilio numbers. Each handler takes the settings and the parsed
arguments and returns the exit status; expected errors raise `SwitchboardError`, which
`server.cli.main` prints as one line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from gateway.commands import run_with_db
from gateway.db import Database
from gateway.errors import BadInput
from gateway.settings import Settings


def cmd_org_create(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.organizations import create_organization

    org = run_with_db(
        settings, lambda db: create_organization(db, args.slug, args.name, args.origins)
    )
    print(f"Created organization {org.slug!r} ({org.name})")
    print(f"Widget key: {org.widget_key}")
    print("Embed the chat widget on your site with:")
    print(
        f'  <script src="{settings.resolved_public_url}/widget.js" '
        f'data-key="{org.widget_key}" async></script>'
    )
    if not org.allowed_origins:
        print("No allowed origins yet: add your site's origin with --origin to embed it.")
    return 0


def read_password(from_stdin: bool) -> str:
    """The new password, from one line of standard input or typed twice at a prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("no password on standard input")
        return password
    password = getpass.getpass("Password (at least 10 characters): ")
    if getpass.getpass("Repeat the password: ") != password:
        raise BadInput("the passwords do not match")
    return password


def cmd_agent_create(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.organizations import create_agent, validate_password

    password = validate_password(read_password(args.password_stdin))
    agent = run_with_db(
        settings,
        lambda db: create_agent(
            db, args.org_slug, args.name, args.email, password, args.role, args.teams
        ),
    )
    team_names = ", ".join(dict.fromkeys(team.strip() for team in args.teams))
    teams = f" in team(s) {team_names}" if team_names else ""
    print(f"Created {agent.role} {agent.email} in organization {args.org_slug!r}{teams}")
    return 0


def cmd_kb_load(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.organizations import get_organization
    from handoff.ai.knowledge import load_knowledge

    async def load(db: Database) -> int:
        org = await get_organization(db, args.org_slug)
        return await load_knowledge(db, org.id, args.files, replace=not args.append)

    count = run_with_db(settings, load)
    verb = "Added" if args.append else "Loaded"
    print(f"{verb} {count} knowledge entries for organization {args.org_slug!r}")
    return 0


def cmd_guard_classify(settings: Settings, args: argparse.Namespace) -> int:
    import io

    from handoff.ai.guard.commands import classify_lines

    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    classify_lines(lines, sys.stdout)
    return 0


def cmd_guard_eval(settings: Settings, args: argparse.Namespace) -> int:
    from handoff.ai.guard.commands import evaluate_file

    evaluate_file(args.file, sys.stdout, show_mistakes=args.mistakes)
    return 0


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


def add_admin_commands(commands: Any) -> None:
    """Add the administration subcommands to the `switchboard` parser."""
    org = commands.add_parser("org", help="manage organizations").add_subparsers(
        dest="org_command", required=True, metavar="ACTION"
    )
    org_create = org.add_parser("create", help="create an organization")
    org_create.add_argument("slug", help="short id: lowercase letters, digits and '-'")
    org_create.add_argument("name", help="display name")
    org_create.add_argument(
        "--origin",
        dest="origins",
        action="append",
        default=[],
        metavar="URL",
        help="a site allowed to embed the chat widget (repeatable)",
    )
    org_create.set_defaults(handler=cmd_org_create)

    agent = commands.add_parser("agent", help="manage agents").add_subparsers(
        dest="agent_command", required=True, metavar="ACTION"
    )
    agent_create = agent.add_parser("create", help="create an agent login")
    agent_create.add_argument("org_slug")
    agent_create.add_argument("email")
    agent_create.add_argument("name")
    agent_create.add_argument("--role", choices=("admin", "agent", "viewer"), default="agent")
    agent_create.add_argument(
        "--team", dest="teams", action="append", default=[], metavar="TEAM", help="repeatable"
    )
    agent_create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    agent_create.set_defaults(handler=cmd_agent_create)

    kb = commands.add_parser("kb", help="manage knowledge bases").add_subparsers(
        dest="kb_command", required=True, metavar="ACTION"
    )
    kb_load = kb.add_parser("load", help="load Markdown or CSV files into a knowledge base")
    kb_load.add_argument("org_slug")
    kb_load.add_argument("files", nargs="+", type=Path, metavar="FILE")
    kb_load.add_argument(
        "--append", action="store_true", help="keep the existing entries (default: replace)"
    )
    kb_load.set_defaults(handler=cmd_kb_load)

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

    guard = commands.add_parser(
        "guard", help="the classifier that confirms requests for a person"
    ).add_subparsers(dest="guard_command", required=True, metavar="ACTION")
    guard.add_parser(
        "classify",
        help="read messages one per line on stdin; print score<TAB>decision<TAB>text",
    ).set_defaults(handler=cmd_guard_classify)
    guard_eval = guard.add_parser(
        "eval", help="precision, recall and latency on a CSV file (columns text, is_handoff)"
    )
    guard_eval.add_argument("file", type=Path, metavar="FILE.csv")
    guard_eval.add_argument(
        "--mistakes",
        action="store_true",
        help="also list every wrong escalation and missed request, with its score",
    )
    guard_eval.set_defaults(handler=cmd_guard_eval)
