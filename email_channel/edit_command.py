"""`switchboard mailbox edit ADDRESS …`: change a mailbox's settings in place. Only the
options given change; an empty value clears an optional one (`--imap-sent-folder ""`),
`--no-imap` drops the IMAP settings, and a new IMAP password is read from standard input
(`--password-stdin`), never from the command line, and never printed. The result is
checked as `mailbox add` checks a new mailbox (`mailbox_edit`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from email_channel.mailbox_edit import edit_mailbox
from email_channel.mailboxes import describe
from gateway.db import Database
from gateway.errors import BadInput
from gateway.settings import Settings

# option (argparse dest) → the mailbox setting it changes
OPTIONS = {
    "name": "display_name",
    "smtp": "smtp",
    "imap_host": "imap_host",
    "imap_port": "imap_port",
    "imap_tls": "imap_tls",
    "imap_user": "imap_user",
    "imap_folder": "imap_folder",
    "imap_processed_folder": "imap_processed_folder",
    "imap_sent_folder": "imap_sent_folder",
    "trusted_authserv_id": "trusted_authserv_id",
    "trusted_relays": "trusted_relays",
}


def cmd_mailbox_edit(settings: Settings, args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {
        setting: getattr(args, option)
        for option, setting in OPTIONS.items()
        if getattr(args, option) is not None
    }
    if args.no_trusted_relays:
        changes["trusted_relays"] = ()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("no IMAP password was given on standard input")
        changes["imap_password"] = password
    if not changes and not args.no_imap:
        raise BadInput("give at least one setting to change (see --help)")

    async def edit() -> dict[str, Any]:
        db = Database(settings.resolved_database_url)
        try:
            row = await edit_mailbox(db, args.address, changes, without_imap=args.no_imap)
            return describe(row)
        finally:
            await db.dispose()

    edited = asyncio.run(edit())
    print(f"Changed mailbox {edited['address']}")
    if edited["smtp"]:
        print("Its mail may arrive through Switchboard's inbound SMTP server")
    if edited["imap"]:
        imap = edited["imap"]
        print(
            f"IMAP intake reads {imap['folder']} at {imap['host']}:{imap['port']} "
            f"as {imap['user']} (picked up within a minute by `switchboard imap`)"
        )
    return 0


def add_edit_parser(mailbox: Any) -> None:
    """Add `edit` to the `switchboard mailbox` subcommands."""
    edit = mailbox.add_parser("edit", help="change a mailbox's settings in place")
    edit.add_argument("address")
    edit.add_argument("--name", help="display name on replies")
    edit.add_argument(
        "--smtp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="take (or refuse) its mail over Switchboard's SMTP server",
    )
    edit.add_argument("--imap-host", help="read it over IMAP from this server")
    edit.add_argument("--imap-port", type=int)
    tls = edit.add_mutually_exclusive_group()
    tls.add_argument("--imap-tls", dest="imap_tls", action="store_const", const=True)
    tls.add_argument(
        "--imap-plain", dest="imap_tls", action="store_const", const=False, help="no TLS"
    )
    edit.add_argument("--imap-user")
    edit.add_argument("--imap-folder")
    edit.add_argument(
        "--imap-processed-folder", metavar="FOLDER", help='"" to leave mail where it is'
    )
    edit.add_argument("--imap-sent-folder", metavar="FOLDER", help='"" to stop watching Sent')
    edit.add_argument("--no-imap", action="store_true", help="drop the IMAP settings")
    edit.add_argument(
        "--password-stdin", action="store_true", help="read a new IMAP password from stdin"
    )
    edit.add_argument("--trusted-authserv-id", help='"" to trust no Authentication-Results')
    relays = edit.add_mutually_exclusive_group()
    relays.add_argument(
        "--trusted-relay",
        dest="trusted_relays",
        action="append",
        metavar="IP",
        help="the trusted relays (repeatable; replaces the list)",
    )
    relays.add_argument("--no-trusted-relays", action="store_true", help="trust no relay")
    edit.set_defaults(handler=cmd_mailbox_edit)
