"""The `switchboard` administration commands of the core and of handoff: organizations,
agents, knowledge bases, the explicit-request trigger and its guard, and the frustration
model (each channel adds its own through its plug-in). Each handler takes the settings and
the parsed arguments and returns the exit status; expected errors raise `SwitchboardError`,
which `server.cli.main` prints as one line."""

from __future__ import annotations

import argparse
import getpass
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


def cmd_tone_score(settings: Settings, args: argparse.Namespace) -> int:
    import io

    from handoff.ai.tone.commands import score_lines

    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    score_lines(lines, sys.stdout)
    return 0


def cmd_tone_eval(settings: Settings, args: argparse.Namespace) -> int:
    from handoff.ai.tone.commands import evaluate_file
    from handoff.policy.levels import PRESETS

    thresholds = {level.value: preset.frustration_threshold for level, preset in PRESETS.items()}
    evaluate_file(args.file, sys.stdout, thresholds)
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

    guard = commands.add_parser(
        "guard", help="the explicit-request trigger and the classifier that confirms it"
    ).add_subparsers(dest="guard_command", required=True, metavar="ACTION")
    guard.add_parser(
        "classify",
        help="read messages one per line on stdin; print the guard's score, the trigger's "
        "decision and the text (score<TAB>decision<TAB>text)",
    ).set_defaults(handler=cmd_guard_classify)
    guard_eval = guard.add_parser(
        "eval",
        help="precision, recall, F1 and latency of the trigger, then of the guard alone, on a "
        "CSV file (columns text, is_handoff)",
    )
    guard_eval.add_argument("file", type=Path, metavar="FILE.csv")
    guard_eval.add_argument(
        "--mistakes",
        action="store_true",
        help="also list every wrong escalation and missed request, with its score",
    )
    guard_eval.set_defaults(handler=cmd_guard_eval)

    tone = commands.add_parser(
        "tone", help="the frustration model behind the tone rule"
    ).add_subparsers(dest="tone_command", required=True, metavar="ACTION")
    tone.add_parser(
        "score",
        help="read messages one per line on stdin; print score<TAB>text (higher = more frustrated)",
    ).set_defaults(handler=cmd_tone_score)
    tone_eval = tone.add_parser(
        "eval", help="AUROC (and VADER's) on a CSV file (columns text, label; 1 = frustrated)"
    )
    tone_eval.add_argument("file", type=Path, metavar="FILE.csv")
    tone_eval.set_defaults(handler=cmd_tone_eval)
