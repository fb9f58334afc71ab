"""Storing several spooled mails in one commit. A commit costs more than the few
statements one mail needs, so the processor hands this module a group of mails: each is
parsed, the group's repeats and agents are looked up with one query each, the new mails'
files are written, and then every plain customer mail is threaded and stored through the
funnel in one transaction, in order (a reply later in the group finds the mail it answers
earlier in it), each with its own step (deleting its spool row). If anything in that
transaction fails, none of it is committed and the caller processes the group one mail
at a time. Mails with a path of their own (bounces, replies to notification mails,
mails from an agent's address) are left to `MailIntake.ingest`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from email_channel import relay
from email_channel.ingest import Files, Ingested, MailIntake
from email_channel.mailboxes import MailboxInfo
from email_channel.parsed import ParsedMail, parse_mail
from email_channel.staff import Step
from email_channel.threads import CHANNEL
from gateway.models import Agent, Message


@dataclass(frozen=True, slots=True)
class Incoming:
    mailbox: MailboxInfo
    raw: bytes
    envelope_from: str | None
    envelope_recipients: list[str]
    step: Step | None


async def ingest_together(
    mail_intake: MailIntake, group: Sequence[Incoming]
) -> list[Ingested | None]:
    """Store the group's plain mails in one transaction; None for a mail left to the
    caller. Raises (having committed nothing) when the transaction fails."""
    parsed: list[ParsedMail] = []
    for item in group:
        parsed.append(
            parse_mail(item.raw, own_domain=item.mailbox.domain, envelope_from=item.envelope_from)
        )
        await asyncio.sleep(0)  # parsing is CPU work: let the listeners answer in between
    db = mail_intake.services.db
    organizations = {item.mailbox.organization_id for item in group}
    agents: dict[int, set[str]] = {}
    known: set[tuple[int, str]] = set()
    async with db.transaction() as session:
        for organization_id in organizations:
            ids = [
                mail.provider_id()
                for item, mail in zip(group, parsed, strict=True)
                if item.mailbox.organization_id == organization_id
            ]
            found = await session.scalars(
                select(Message.provider_message_id).where(
                    Message.organization_id == organization_id,
                    Message.channel == CHANNEL,
                    Message.provider_message_id.in_(ids),
                )
            )
            known.update((organization_id, value) for value in found if value)
            addresses = await session.scalars(
                select(Agent.email).where(
                    Agent.organization_id == organization_id,
                    Agent.active.is_(True),
                    Agent.role.in_(("agent", "admin")),
                )
            )
            agents[organization_id] = {address for address in addresses if address}
    plain = [
        _plain(mail_intake, item, mail, agents[item.mailbox.organization_id])
        for item, mail in zip(group, parsed, strict=True)
    ]
    files: list[Files] = []
    for item, mail, simple in zip(group, parsed, plain, strict=True):
        organization_id = item.mailbox.organization_id
        if simple and (organization_id, mail.provider_id()) not in known:
            files.append(await mail_intake.write_files(organization_id, mail))
        else:
            files.append(Files())  # a repeat keeps the files stored the first time
    results: list[Ingested | None] = [None] * len(group)
    async with db.transaction() as session:
        for index, (item, mail) in enumerate(zip(group, parsed, strict=True)):
            if plain[index]:
                results[index] = await mail_intake.record(
                    session, item.mailbox, mail, files[index], item.step
                )
    return results


def _plain(mail_intake: MailIntake, item: Incoming, mail: ParsedMail, agents: set[str]) -> bool:
    """A customer's mail that takes the common path (see `MailIntake.ingest`)."""
    if mail.kind == "bounce":
        return False
    if mail.kind == "message":
        if relay.token_in(mail, mail_intake.secret, item.envelope_recipients) is not None:
            return False
        if mail.sender and mail.sender in agents:
            return False
    return True
