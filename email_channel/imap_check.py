""" "Test connection" for a mailbox's IMAP settings, for admins on the mailbox page: reach
the server (TLS when set), log in, open the folder, log out — and say what happened in a
sentence an admin can act on (which setting to look at), never an exception's name. The
network step runs first on its own so that a wrong host, a closed port, a TLS mismatch
and a silent server are told apart; every step has a time limit, so a server that never
answers cannot hold the page."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
from dataclasses import dataclass

from aioimaplib import IMAP4

TIMEOUT_SECONDS = 10.0
_EXISTS = re.compile(rb"^(\d+) EXISTS", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Checked:
    ok: bool
    message: str

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "message": self.message}


@dataclass(frozen=True, slots=True)
class ImapSettings:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str


async def check_imap(
    settings: ImapSettings,
    *,
    seconds: float = TIMEOUT_SECONDS,
    ssl_context: ssl.SSLContext | None = None,
) -> Checked:
    context = (ssl_context or ssl.create_default_context()) if settings.tls else None
    reached = await _reach(settings, context, seconds)
    if reached is not None:
        return Checked(False, reached)
    try:
        return await asyncio.wait_for(_converse(settings, context, seconds), seconds * 2)
    except TimeoutError:
        return Checked(
            False,
            f"{settings.host} accepted the connection on port {settings.port} but did not "
            "answer as an IMAP server in time. Check the port (993 with TLS, 143 without).",
        )
    except OSError:
        return Checked(
            False,
            f"The connection to {settings.host} was lost during the test. Try again; if it "
            "keeps happening, check the port and the TLS setting.",
        )


async def _reach(
    settings: ImapSettings, context: ssl.SSLContext | None, seconds: float
) -> str | None:
    """Open and close one connection; a sentence on what stopped it, or None."""
    host, port = settings.host, settings.port
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), seconds
        )
    except socket.gaierror:
        return f"There is no server named {host}. Check the host name (for example imap.gmail.com)."
    except ConnectionRefusedError:
        return (
            f"{host} refused the connection on port {port}. Check the port: usually 993 "
            "with TLS, 143 without."
        )
    except TimeoutError:
        return (
            f"{host} did not answer on port {port} within {seconds:.0f} seconds. Check the "
            "host, the port, and any firewall between Switchboard and the mail server."
        )
    except ssl.SSLCertVerificationError as error:
        return (
            f"The security certificate of {host} could not be trusted "
            f"({error.verify_message or 'it did not verify'}). Check that the host name is the "
            "one the mail provider gives."
        )
    except ssl.SSLError:
        return (
            f"A secure (TLS) connection to {host} on port {port} failed: the server does not "
            "seem to speak TLS on this port. Use port 993 for TLS, or turn TLS off only for a "
            "server on this machine or your own network."
        )
    except OSError as error:
        return f"Could not connect to {host} on port {port} ({error.strerror or 'network error'})."
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return None


async def _converse(
    settings: ImapSettings, context: ssl.SSLContext | None, seconds: float
) -> Checked:
    client = IMAP4(settings.host, settings.port, timeout=seconds, ssl_context=context)
    try:
        await client.wait_hello_from_server()
        login = await client.login(settings.user, settings.password)
        if login.result != "OK":
            return Checked(
                False,
                f"{settings.host} refused the user name or password for {settings.user}. "
                "Gmail and Microsoft 365 need an app password, and IMAP turned on for the "
                "mailbox.",
            )
        selected = await client.select(settings.folder)
        if selected.result != "OK":
            return Checked(
                False,
                f"Logged in as {settings.user}, but there is no folder named "
                f"“{settings.folder}”. The usual one is INBOX.",
            )
        count = next(
            (
                int(found.group(1))
                for line in selected.lines
                if (found := _EXISTS.match(bytes(line)))
            ),
            None,
        )
        held = "" if count is None else f" ({count} message{'' if count == 1 else 's'} in it)"
        return Checked(
            True,
            f"Connected to {settings.host}, logged in as {settings.user} and opened "
            f"“{settings.folder}”{held}. Switchboard can read this mailbox.",
        )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), 3)
