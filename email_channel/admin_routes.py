"""The admins' API for the organization's mailboxes (`/api/email/mailboxes`): list, add,
change in place (PATCH, among others the mailbox's own DKIM check of agents' mail),
remove, and test IMAP settings (a stored mailbox's, or a form's before it is saved). An
IMAP password is accepted on creation and never returned (`password_set` says whether one
is stored)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue

from email_channel.imap_check import ImapSettings, check_imap
from email_channel.mailbox_edit import edit_mailbox
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
# the request bodies' IMAP object and trust settings, shared by adding and editing
IMAP_BODY: dict[str, Any] = {
    "host": STRING,
    "port": INTEGER,
    "tls": BOOLEAN,
    "user": STRING,
    "password": STRING,
    "folder": STRING,
    "processed_folder": nullable(STRING),
    "sent_folder": nullable(STRING),
}
TRUST_BODY: dict[str, Any] = {
    "trusted_authserv_id": nullable(STRING),
    "trusted_relays": array(STRING),
    "verify_dkim": BOOLEAN,
}
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
        imap=nullable(obj(["host", "password"], **IMAP_BODY)),
        **TRUST_BODY,
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


IMAP_FIELDS = {  # the PATCH body's imap object → the mailbox setting, and its type
    "host": ("imap_host", str),
    "port": ("imap_port", int),
    "tls": ("imap_tls", bool),
    "user": ("imap_user", str),
    "password": ("imap_password", str),
    "folder": ("imap_folder", str),
    "processed_folder": ("imap_processed_folder", str),
    "sent_folder": ("imap_sent_folder", str),
}
TOP_FIELDS = {
    "display_name": ("display_name", str),
    "smtp": ("smtp", bool),
    "trusted_authserv_id": ("trusted_authserv_id", str),
    "verify_dkim": ("verify_dkim", bool),
}
CLEARABLE = {"imap_processed_folder", "imap_sent_folder", "trusted_authserv_id"}
KINDS: dict[type, str] = {str: "text", int: "a whole number", bool: "true or false"}


@email_admin.patch("/api/email/mailboxes/<address>")
@login_required(role=Role.ADMIN)
@documented(
    "Change a mailbox's settings in place (admins)",
    tags=TAGS,
    description="Only the fields given change, and the result is checked as a new mailbox "
    "is. `imap: null` drops the IMAP settings; inside `imap`, only the fields given change "
    "(the password is kept unless one is given, and never returned); `processed_folder`, "
    "`sent_folder` and `trusted_authserv_id` are cleared with null. A new IMAP server, user "
    "or folder is read from its start, without storing a mail twice.",
    body=obj(
        display_name=STRING,
        smtp=BOOLEAN,
        imap=nullable(obj(**IMAP_BODY)),
        **TRUST_BODY,
    ),
    response=obj(["mailbox"], mailbox=MAILBOX),
    errors=(400, 403, 404),
)
async def change(address: str) -> ResponseReturnValue:
    organization_id = current_agent().organization_id
    body = await json_object()
    changes = _changes(body, TOP_FIELDS, {"imap", "trusted_relays"})
    if "trusted_relays" in body:
        relays = body["trusted_relays"]
        if not isinstance(relays, list) or not all(isinstance(item, str) for item in relays):
            raise BadInput("'trusted_relays' must be a list of IP addresses")
        changes["trusted_relays"] = relays
    imap = body.get("imap", {})
    if imap is not None and not isinstance(imap, dict):
        raise BadInput("'imap' must be an object, or null to drop the IMAP settings")
    changes.update(_changes(imap or {}, IMAP_FIELDS, set()))
    row = await edit_mailbox(
        database(), address, changes, organization_id=organization_id, without_imap=imap is None
    )
    return jsonify({"mailbox": describe(row)})


def _changes(
    body: dict[str, Any], known: dict[str, tuple[str, type]], others: set[str]
) -> dict[str, Any]:
    """The settings `body` changes, each of its type (null clears the clearable ones)."""
    unknown = sorted(set(body) - set(known) - others)
    if unknown:
        raise BadInput(f"{unknown[0][:60]!r} is not a mailbox setting")
    changes: dict[str, Any] = {}
    for name, (setting, kind) in known.items():
        if name not in body:
            continue
        value = body[name]
        if value is None and setting in CLEARABLE:
            changes[setting] = None
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BadInput(f"{name!r} must be {KINDS[kind]}")
        else:
            changes[setting] = value
    return changes


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
