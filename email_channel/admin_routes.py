"""The admins' API for the organization's mailboxes (`/api/email/mailboxes`): list, add,
remove, turn the mailbox's own DKIM check of agents' mail on or off, and test IMAP
settings (a stored mailbox's, or a form's before it is saved). An IMAP password is
accepted on creation and never returned (`password_set` says whether one is stored)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue

from email_channel.dkim_config import set_verify_dkim
from email_channel.imap_check import ImapSettings, check_imap
from email_channel.mailboxes import (
    add_mailbox,
    describe,
    imap_mailboxes,
    list_mailboxes,
    remove_mailbox,
)
from gateway.auth import Role, current_agent, login_required
from gateway.errors import BadInput, NotFound
from gateway.inputs import json_object
from gateway.openapi import BOOLEAN, INTEGER, STRING, array, documented, nullable, obj, schema
from gateway.web import database

email_admin = Blueprint("email_admin", __name__)
TAGS = ["email"]
IMAP = obj(
    ["host", "port", "tls", "user", "folder", "processed_folder", "sent_folder", "password_set"],
    host=STRING,
    port=INTEGER,
    tls=BOOLEAN,
    user=STRING,
    folder=STRING,
    processed_folder=nullable(STRING),
    sent_folder=nullable(STRING),
    password_set=BOOLEAN,
)
MAILBOX = schema(
    "Mailbox",
    obj(
        [
            "id",
            "address",
            "display_name",
            "smtp",
            "imap",
            "trusted_authserv_id",
            "trusted_relays",
            "verify_dkim",
        ],
        id=INTEGER,
        address=STRING,
        display_name=STRING,
        smtp={**BOOLEAN, "description": "mail arrives through Switchboard's SMTP server"},
        imap=nullable(IMAP),
        trusted_authserv_id=nullable(STRING),
        trusted_relays=array(STRING),
        verify_dkim={
            **BOOLEAN,
            "description": "agents' own mail counts as theirs when Switchboard finds a valid "
            "DKIM signature of the agent's domain on it",
        },
        dkim=nullable(
            {
                **obj(
                    ["selector", "dns_name", "dns_record"],
                    selector=STRING,
                    dns_name=STRING,
                    dns_record=STRING,
                ),
                "description": "replies are DKIM-signed in Switchboard; publish dns_record "
                "as a TXT record at dns_name (the private key is never shown)",
            }
        ),
    ),
)


def _optional(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise BadInput(f"{name!r} must be a {kind.__name__}")
    return value


@email_admin.get("/api/email/mailboxes")
@login_required(role=Role.ADMIN)
@documented(
    "The organization's support mailboxes (admins)",
    tags=TAGS,
    response=obj(["mailboxes"], mailboxes=array(MAILBOX)),
    errors=(403,),
)
async def mailboxes() -> ResponseReturnValue:
    found = await list_mailboxes(database(), current_agent().organization_id)
    return jsonify({"mailboxes": [describe(row) for row in found]})


@email_admin.post("/api/email/mailboxes")
@login_required(role=Role.ADMIN)
@documented(
    "Add a support mailbox (admins)",
    tags=TAGS,
    description="Mail reaches it through Switchboard's SMTP server (`smtp`, default true), "
    "through IMAP (`imap`), or both. The IMAP password is stored and never shown again.",
    body=obj(
        ["address"],
        address=STRING,
        display_name=STRING,
        smtp=BOOLEAN,
        imap=nullable(
            obj(
                ["host", "password"],
                host=STRING,
                port=INTEGER,
                tls=BOOLEAN,
                user=STRING,
                password=STRING,
                folder=STRING,
                processed_folder=nullable(STRING),
                sent_folder=nullable(STRING),
            )
        ),
        trusted_authserv_id=nullable(STRING),
        trusted_relays=array(STRING),
        verify_dkim=BOOLEAN,
    ),
    response=obj(["mailbox"], mailbox=MAILBOX),
    status=201,
    errors=(400, 403, 409),
)
async def create() -> ResponseReturnValue:
    organization_id = current_agent().organization_id
    body = await json_object()
    imap = _optional(body, "imap", dict) or {}
    relays = _optional(body, "trusted_relays", list) or []
    if not all(isinstance(relay, str) for relay in relays):
        raise BadInput("'trusted_relays' must be a list of IP addresses")
    row = await add_mailbox(
        database(),
        organization_id,
        _optional(body, "address", str) or "",
        display_name=_optional(body, "display_name", str) or "",
        smtp=_optional(body, "smtp", bool) is not False,
        imap_host=_optional(imap, "host", str) if imap else None,
        imap_port=_optional(imap, "port", int),
        imap_tls=_optional(imap, "tls", bool) is not False,
        imap_user=_optional(imap, "user", str),
        imap_password=_optional(imap, "password", str),
        imap_folder=_optional(imap, "folder", str) or "INBOX",
        imap_processed_folder=_optional(imap, "processed_folder", str),
        imap_sent_folder=_optional(imap, "sent_folder", str),
        trusted_authserv_id=_optional(body, "trusted_authserv_id", str),
        trusted_relays=relays,
        verify_dkim=_optional(body, "verify_dkim", bool) is True,
    )
    return jsonify({"mailbox": describe(row)}), 201


@email_admin.patch("/api/email/mailboxes/<address>")
@login_required(role=Role.ADMIN)
@documented(
    "Change a mailbox's settings (admins)",
    tags=TAGS,
    description="For now only `verify_dkim`: whether agents' own mail counts as theirs "
    "when Switchboard finds a valid DKIM signature of the agent's domain on it.",
    body=obj(["verify_dkim"], verify_dkim=BOOLEAN),
    response=obj(["mailbox"], mailbox=MAILBOX),
    errors=(400, 403, 404),
)
async def change(address: str) -> ResponseReturnValue:
    organization_id = current_agent().organization_id
    body = await json_object()
    unknown = sorted(set(body) - {"verify_dkim"})
    if unknown:
        raise BadInput(
            f"{unknown[0][:60]!r} cannot be changed here; remove the mailbox and add it again"
        )
    verify = _optional(body, "verify_dkim", bool)
    if verify is None:
        raise BadInput("give 'verify_dkim': true or false")
    await set_verify_dkim(database(), address, verify, organization_id=organization_id)
    for row in await list_mailboxes(database(), organization_id):
        if row.address == address.strip().lower():
            return jsonify({"mailbox": describe(row)})
    raise NotFound(f"no mailbox {address}")  # removed meanwhile


@email_admin.delete("/api/email/mailboxes/<address>")
@login_required(role=Role.ADMIN)
@documented(
    "Remove one of the organization's mailboxes (admins)",
    tags=TAGS,
    response=obj(["removed"], removed=STRING),
    errors=(403, 404),
)
async def delete(address: str) -> ResponseReturnValue:
    removed = await remove_mailbox(database(), address, current_agent().organization_id)
    return jsonify({"removed": removed})


@email_admin.post("/api/email/mailboxes/test")
@login_required(role=Role.ADMIN)
@documented(
    "Test IMAP settings: connect, log in, open the folder (admins)",
    tags=TAGS,
    description="Names a stored mailbox (`address`) or gives the settings a form holds "
    "(`imap`, as when adding one). The answer says in a sentence what worked or which "
    "setting to check; `ok` is false for a failed test (still a 200: the test ran).",
    body=obj(
        address=STRING,
        imap=obj(
            ["host", "password"],
            host=STRING,
            port=INTEGER,
            tls=BOOLEAN,
            user=STRING,
            password=STRING,
            folder=STRING,
        ),
    ),
    response=obj(["ok", "message"], ok=BOOLEAN, message=STRING),
    errors=(400, 403, 404),
)
async def check_connection() -> ResponseReturnValue:
    body = await json_object()
    address = _optional(body, "address", str)
    if address is not None:
        settings = await _stored(address.strip().lower())
    else:
        settings = _form(_optional(body, "imap", dict) or {})
    return jsonify((await check_imap(settings)).to_json())


async def _stored(address: str) -> ImapSettings:
    organization_id = current_agent().organization_id
    for access in await imap_mailboxes(database()):
        if access.mailbox.organization_id == organization_id and access.mailbox.address == address:
            return ImapSettings(
                access.host, access.port, access.tls, access.user, access.password, access.folder
            )
    raise NotFound(f"no mailbox {address} with IMAP settings")


def _form(imap: dict[str, Any]) -> ImapSettings:
    host = (_optional(imap, "host", str) or "").strip()
    if not host or any(char in host for char in " /@"):
        raise BadInput("the IMAP host must be a host name such as imap.gmail.com")
    tls = _optional(imap, "tls", bool) is not False
    port = _optional(imap, "port", int) or (993 if tls else 143)
    if not 1 <= port <= 65535:
        raise BadInput("the IMAP port must be between 1 and 65535")
    user = (_optional(imap, "user", str) or "").strip()
    password = _optional(imap, "password", str) or ""
    if not user or not password:
        raise BadInput("give the IMAP user name and password to test them")
    folder = (_optional(imap, "folder", str) or "INBOX").strip() or "INBOX"
    return ImapSettings(host, port, tls, user, password, folder)
