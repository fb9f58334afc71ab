"""The email commands of `switchboard`: `mailbox add/list/remove` (`mailbox edit` in
`edit_command`; an IMAP password is read from standard input or a prompt, never from the
command line, and never printed), `mailbox dkim` (a signing key read from a file, never
printed: only the DNS record), `mailbox verify-dkim` (authenticate agents' own mail by the
DKIM signature of their domain, checked by Switchboard itself), `mail parse FILE.eml…`
(one JSON object per file: what Switchboard understood of it; exit 0 whatever the input),
`smtp` (the inbound SMTP server as its own process), `lmtp` (the same intake over LMTP,
behind a mail server) and `imap` (IMAP intake for every mailbox that has IMAP settings)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from email_channel.edit_command import add_edit_parser
from email_channel.mailboxes import add_mailbox, describe, list_mailboxes, remove_mailbox
from email_channel.parsed import parse_mail
from gateway.channels import ChannelRegistry
from gateway.db import Database
from gateway.errors import BadInput, ConfigurationError
from gateway.organizations import get_organization
from gateway.settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        db = Database(settings.resolved_database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def cmd_mailbox_add(settings: Settings, args: argparse.Namespace) -> int:
    password = None
    if args.imap_host:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass(f"IMAP password for {args.imap_user or args.address}: ")
        if not password:
            raise BadInput("an IMAP mailbox needs its password")

    async def add(db: Database) -> dict[str, Any]:
        org = await get_organization(db, args.org_slug)
        row = await add_mailbox(
            db,
            org.id,
            args.address,
            display_name=args.name or "",
            smtp=not args.no_smtp,
            imap_host=args.imap_host,
            imap_port=args.imap_port,
            imap_tls=not args.imap_plain,
            imap_user=args.imap_user,
            imap_password=password,
            imap_folder=args.imap_folder,
            imap_processed_folder=args.imap_processed_folder,
            imap_sent_folder=args.imap_sent_folder,
            trusted_authserv_id=args.trusted_authserv_id,
            trusted_relays=args.trusted_relays,
            verify_dkim=args.verify_dkim,
        )
        return describe(row)

    added = _with_db(settings, add)
    print(f"Added mailbox {added['address']} to organization {args.org_slug!r}")
    if added["smtp"]:
        print(
            "Deliver its mail to Switchboard's inbound SMTP server (switchboard smtp, "
            f"listening on {settings.inbound_smtp or 'SWITCHBOARD_INBOUND_SMTP'})"
        )
    if added["imap"]:
        imap = added["imap"]
        print(f"IMAP intake reads {imap['folder']} at {imap['host']}:{imap['port']}")
    return 0


def cmd_mailbox_list(settings: Settings, args: argparse.Namespace) -> int:
    async def find(db: Database) -> list[dict[str, Any]]:
        org_id = (await get_organization(db, args.org_slug)).id if args.org_slug else None
        return [describe(row) for row in await list_mailboxes(db, org_id)]

    rows = _with_db(settings, find)
    if not rows:
        print("No mailboxes.")
    for row in rows:
        ways = ["SMTP"] if row["smtp"] else []
        if row["imap"]:
            imap = row["imap"]
            ways.append(f"IMAP {imap['user']}@{imap['host']}:{imap['port']}/{imap['folder']}")
        if row["dkim"]:
            ways.append(f"DKIM {row['dkim']['selector']}")
        if row["verify_dkim"]:
            ways.append("verifies agents' DKIM")
        print(f"{row['address']}\t{' + '.join(ways)}")
    return 0


def cmd_mailbox_remove(settings: Settings, args: argparse.Namespace) -> int:
    removed = _with_db(settings, lambda db: remove_mailbox(db, args.address))
    print(f"Removed mailbox {removed}")
    return 0


def cmd_mailbox_dkim(settings: Settings, args: argparse.Namespace) -> int:
    from email_channel.dkim_config import set_dkim

    if args.off:
        selector, key = None, None
    elif args.selector and args.key_file:
        selector = args.selector
        try:
            key = Path(args.key_file).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read the key file {args.key_file}: {exc}") from None
    else:
        raise BadInput("give --selector and --key-file to sign, or --off to stop signing")
    result = _with_db(settings, lambda db: set_dkim(db, args.address, selector, key))
    dkim = result["dkim"]
    if dkim is None:
        print(f"Replies from {result['address']} are no longer DKIM-signed by Switchboard")
        return 0
    print(f"Replies from {result['address']} are DKIM-signed (selector {dkim['selector']}).")
    print("Publish this DNS record (TXT), then check it with a test mail:")
    print(f'{dkim["dns_name"]}. IN TXT "{dkim["dns_record"]}"')
    return 0


def cmd_mailbox_verify_dkim(settings: Settings, args: argparse.Namespace) -> int:
    from email_channel.dkim_config import set_verify_dkim

    result = _with_db(settings, lambda db: set_verify_dkim(db, args.address, not args.off))
    if result["verify_dkim"]:
        print(
            f"Mail to {result['address']} from an agent's address now counts as the agent's "
            "own when it carries a valid DKIM signature of the agent's domain "
            "(Switchboard looks the key up in DNS)."
        )
    else:
        print(
            f"{result['address']} no longer checks DKIM signatures itself: agents' own mail "
            "counts only when the trusted mail server or relay vouches for it."
        )
    return 0


def cmd_mail_parse(settings: Settings, args: argparse.Namespace) -> int:
    for path in args.files:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            print(json.dumps({"file": str(path), "error": f"cannot read it: {exc.strerror}"}))
            continue
        try:
            summary = parse_mail(raw, own_domain=args.domain or "").summary()
        except Exception as exc:  # the command must report, not crash, on any input
            summary = {"error": f"could not be parsed: {exc}"}
        print(json.dumps({"file": str(path), **summary}, ensure_ascii=False), flush=True)
    return 0


def _serve_until_signal(
    settings: Settings, body: Callable[[Any, asyncio.Event], Awaitable[None]]
) -> None:
    """Open the services, run `body(services, stop)` until SIGTERM or Ctrl-C, close."""
    from gateway import runtime

    async def main() -> None:
        services = await runtime.open_services(settings, lambda _services: ChannelRegistry())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await body(services, stop)
        finally:
            await runtime.close_services(services)

    asyncio.run(main())


def cmd_imap(settings: Settings, args: argparse.Namespace) -> int:
    from email_channel.imap_service import run_all

    settings.require_redis_url()
    settings.require_secret_key()

    async def body(services: Any, stop: asyncio.Event) -> None:
        await run_all(services, stop, refresh=args.refresh)

    _serve_until_signal(settings, body)
    return 0


def cmd_smtp(settings: Settings, args: argparse.Namespace) -> int:
    listen = args.listen or settings.inbound_smtp
    if not listen:
        raise ConfigurationError("set SWITCHBOARD_INBOUND_SMTP (e.g. 127.0.0.1:2525) or --listen")
    _serve_mail(settings, args, listen, lmtp=False)
    return 0


def cmd_lmtp(settings: Settings, args: argparse.Namespace) -> int:
    _serve_mail(settings, args, args.listen, lmtp=True)
    return 0


def _serve_mail(settings: Settings, args: argparse.Namespace, listen: str, *, lmtp: bool) -> None:
    """Run the inbound SMTP (or LMTP) server until a signal, with IMAP intake if asked."""
    from email_channel.lmtp_server import start_lmtp_server
    from email_channel.smtp_server import inbound_smtp, parse_listen, start_smtp_server

    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        what = "--listen" if lmtp else "SWITCHBOARD_INBOUND_SMTP"
        raise ConfigurationError(f"{what} {exc}") from None
    settings.require_secret_key()
    start = start_lmtp_server if lmtp else start_smtp_server

    async def body(services: Any, stop: asyncio.Event) -> None:
        limit = settings.inbound_smtp_max_bytes
        protocol = "LMTP" if lmtp else "SMTP"
        async with inbound_smtp(
            services, host, port, start=start, protocol=protocol, size_limit=limit
        ) as processor:
            log.info("inbound %s listening on %s:%s", protocol, host, port)
            if args.imap:
                from email_channel.imap_service import run_all

                await run_all(services, stop, processor=processor)
            else:
                await stop.wait()

    _serve_until_signal(settings, body)


def register(commands: Any) -> None:
    """Add the email commands to the `switchboard` parser's subcommands."""
    mailbox = commands.add_parser("mailbox", help="manage support mailboxes").add_subparsers(
        dest="mailbox_command", required=True, metavar="ACTION"
    )
    add = mailbox.add_parser("add", help="add a support address to an organization")
    add.add_argument("org_slug")
    add.add_argument("address", help="e.g. support@shop.example")
    add.add_argument("--name", help="display name on replies, e.g. 'Shop Support'")
    add.add_argument("--no-smtp", action="store_true", help="IMAP only: refuse it over SMTP")
    add.add_argument("--imap-host", help="read this mailbox over IMAP, e.g. imap.gmail.com")
    add.add_argument("--imap-port", type=int, help="default 993 (143 with --imap-plain)")
    add.add_argument("--imap-user", help="login name (default: the address)")
    add.add_argument("--imap-folder", default="INBOX")
    add.add_argument(
        "--imap-processed-folder",
        metavar="FOLDER",
        help="move each mail here once stored (if the server offers MOVE; else mark it read)",
    )
    add.add_argument(
        "--imap-sent-folder",
        metavar="FOLDER",
        help="watch this Sent folder for replies agents send from the shared mailbox",
    )
    add.add_argument("--imap-plain", action="store_true", help="no TLS (loopback only)")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the IMAP password from stdin"
    )
    add.add_argument(
        "--trusted-authserv-id",
        help="your mail server's name in Authentication-Results (for staff replies)",
    )
    add.add_argument(
        "--trusted-relay",
        dest="trusted_relays",
        action="append",
        default=[],
        metavar="IP",
        help="a relay whose SMTP deliveries count as authenticated (repeatable)",
    )
    add.add_argument(
        "--verify-dkim",
        action="store_true",
        help="authenticate agents' own mail by their domain's DKIM signature (see verify-dkim)",
    )
    add.set_defaults(handler=cmd_mailbox_add)
    listing = mailbox.add_parser("list", help="list mailboxes")
    listing.add_argument("org_slug", nargs="?")
    listing.set_defaults(handler=cmd_mailbox_list)
    remove = mailbox.add_parser("remove", help="remove a mailbox")
    remove.add_argument("address")
    remove.set_defaults(handler=cmd_mailbox_remove)
    add_edit_parser(mailbox)
    dkim = mailbox.add_parser("dkim", help="sign a mailbox's replies with DKIM (or stop)")
    dkim.add_argument("address")
    dkim.add_argument("--selector", help="the DKIM selector, e.g. sb2026")
    dkim.add_argument(
        "--key-file", metavar="PEM", help="RSA private key (openssl genrsa -out dkim.pem 2048)"
    )
    dkim.add_argument("--off", action="store_true", help="stop signing")
    dkim.set_defaults(handler=cmd_mailbox_dkim)
    verify = mailbox.add_parser(
        "verify-dkim",
        help="count agents' own mail as theirs when their domain's DKIM signature verifies",
    )
    verify.add_argument("address")
    verify.add_argument("--off", action="store_true", help="stop checking signatures")
    verify.set_defaults(handler=cmd_mailbox_verify_dkim)

    mail = commands.add_parser("mail", help="inspect mail").add_subparsers(
        dest="mail_command", required=True, metavar="ACTION"
    )
    parse = mail.add_parser(
        "parse", help="print, as JSON lines, what Switchboard reads in .eml files"
    )
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE.eml")
    parse.add_argument("--domain", help="your mailbox domain (to recognize our own mail)")
    parse.set_defaults(handler=cmd_mail_parse)

    smtp = commands.add_parser("smtp", help="run the inbound SMTP server")
    smtp.add_argument("--listen", metavar="HOST:PORT", help="default SWITCHBOARD_INBOUND_SMTP")
    smtp.add_argument(
        "--imap", action="store_true", help="also run IMAP intake in this process (as `up` does)"
    )
    smtp.set_defaults(handler=cmd_smtp)

    lmtp = commands.add_parser(
        "lmtp", help="run the same intake as an LMTP server, for a mail server in front"
    )
    lmtp.add_argument(
        "--listen", metavar="HOST:PORT", default="127.0.0.1:2424", help="default 127.0.0.1:2424"
    )
    lmtp.add_argument("--imap", action="store_true", help="also run IMAP intake in this process")
    lmtp.set_defaults(handler=cmd_lmtp)

    imap = commands.add_parser("imap", help="run IMAP intake for every mailbox that has IMAP")
    imap.add_argument(
        "--refresh", type=float, default=60.0, help="seconds between re-reading the mailbox list"
    )
    imap.set_defaults(handler=cmd_imap)
