"""The one way a mail enters Switchboard, for inbound SMTP and IMAP alike: parse it, set
bounces aside (they only update the message they report on), find the conversation it
continues, keep its attachments and the raw mail as media, and hand it to the core's
intake. An agent's reply to a notification mail is relayed to the customer instead
(`relay`), or, when it fails a check, stored here as its sender's unanswered message,
flagged. Mail claiming an agent's address has its DKIM signature checked here, before any
transaction, when the mailbox verifies DKIM itself (`dkim_verify`). In the intake's
transaction it indexes the Message-ID for threading, applies the AI reply budget and runs
the caller's own step (the processor deletes the spooled mail there). `record` does that
in a transaction the caller holds, so the processor can store several mails in one commit
(`together.py`). Mail that must not be answered (auto-replies, lists, our own mail) is
stored with the reason and `no_reply`, so neither the AI nor a notice ever answers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel import budget, relay, staff
from email_channel.bounces import record_bounce
from email_channel.dkim_verify import DkimVerifier
from email_channel.mailboxes import MailboxInfo
from email_channel.models import MailId
from email_channel.parsed import ParsedMail, parse_mail
from email_channel.staff import SUSPECT, Step
from email_channel.threads import CHANNEL, find_thread
from gateway.attention import flag
from gateway.consent import ConsentChange, apply, opted_out_at
from gateway.intake import Intake, Received
from gateway.media import MediaStore, StoredMedia
from gateway.messages import Attachment, InboundMessage
from gateway.models import Conversation, Message
from gateway.runtime import Services

UNKNOWN_SENDER = "unknown-sender@invalid"
MAX_TEXT = 100_000


@dataclass(frozen=True, slots=True)
class Files:
    """A mail's files written before its transaction: the raw mail and its attachments."""

    original: StoredMedia | None = None
    attachments: tuple[StoredMedia, ...] = ()


@dataclass(frozen=True, slots=True)
class Ingested:
    outcome: str  # stored | duplicate | bounce | staff | relayed
    kind: str
    message_id: int | None
    conversation_id: int | None


class MailIntake:
    def __init__(self, services: Services, *, dkim: DkimVerifier | None = None) -> None:
        self.services = services
        self.dkim = dkim or DkimVerifier()  # a mailbox that verifies DKIM itself uses it
        self.intake = Intake(services.db, services.jobs, services.events)
        self.media = MediaStore(services.settings.var_dir)
        self.secret = services.settings.require_secret_key()

    async def ingest(
        self,
        mailbox: MailboxInfo,
        raw: bytes,
        *,
        envelope_from: str | None = None,
        envelope_recipients: list[str] | None = None,
        peer: str | None = None,
        step: Step | None = None,
        await_sent: bool = False,
    ) -> Ingested:
        """Store one mail exactly once; `step` runs in the same transaction. `await_sent`:
        an unconfirmed copy of an agent's reply raises `staff.AwaitingSentCopy` (nothing
        stored) while the mailbox's Sent folder may still show it is the agent's."""
        mail = parse_mail(raw, own_domain=mailbox.domain, envelope_from=envelope_from)
        db = self.services.db
        organization_id = mailbox.organization_id
        if mail.kind == "bounce":
            async with db.transaction() as session:
                matched = await record_bounce(
                    session, organization_id, mail, self.secret, envelope_recipients or []
                )
                if step is not None:
                    await step(session)
            return Ingested("bounce", mail.kind, matched, None)
        refusal = None  # why a reply to a notification was not relayed
        signed: bool | None = None  # DKIM-signed by the sender's domain, once asked
        token = relay.token_in(mail, self.secret, envelope_recipients or [])
        if token is not None and mail.kind == "message":  # an auto-reply is flagged as such
            signed = await self._dkim_signed(mailbox, mail)
            relayed = await relay.relay(
                self.services, mailbox, mail, token, step, peer=peer, dkim_signed=signed
            )
            if relayed.refusal is None:
                return Ingested("relayed", mail.kind, relayed.message_id, relayed.conversation_id)
            refusal = relayed.refusal
        # One read transaction for everything decided before the files are written.
        async with db.transaction() as session:
            agent = None
            if mail.kind == "message" and mail.sender and refusal is None:
                agent = await staff.find_agent(session, organization_id, mail.sender)
            known = (
                await session.execute(
                    select(Message.id, Message.conversation_id).where(
                        Message.organization_id == organization_id,
                        Message.channel == CHANNEL,
                        Message.provider_message_id == mail.provider_id(),
                    )
                )
            ).first()
        if agent is not None:
            if signed is None:
                signed = await self._dkim_signed(mailbox, mail)
            handled = await staff.handle(
                self.services,
                mailbox,
                mail,
                self.secret,
                step,
                peer=peer,
                dkim_signed=signed,
                await_sent=await_sent and known is None,  # a stored copy needs no wait
            )
            if handled is not None:
                return Ingested("staff", mail.kind, handled.message_id, handled.conversation_id)
        if known is not None:
            # A repeat: stored the first time (perhaps as the agent's reply, from the Sent
            # folder), so it is not threaded again, which could open a conversation.
            async with db.transaction() as session:
                if step is not None:
                    await step(session)
            return Ingested("duplicate", mail.kind, known[0], known[1])
        files = await self.write_files(organization_id, mail)
        async with db.transaction() as session:
            return await self.record(session, mailbox, mail, files, step, refusal=refusal)

    async def _dkim_signed(self, mailbox: MailboxInfo, mail: ParsedMail) -> bool:
        """Asked only of mail claiming to be an agent's, on a mailbox that verifies DKIM
        itself, and outside any transaction: the DNS lookup holds no database lock."""
        if not mailbox.verify_dkim or not mail.sender:
            return False
        return await self.dkim.signed_by_sender(mail.raw, mail.sender)

    async def record(
        self,
        session: AsyncSession,
        mailbox: MailboxInfo,
        mail: ParsedMail,
        files: Files,
        step: Step | None,
        *,
        refusal: str | None = None,
    ) -> Ingested:
        """Thread `mail` and store it through the funnel in the caller's transaction, with
        its files' rows, the Message-ID index, the reply budget and `step`."""
        organization_id = mailbox.organization_id
        sender = mail.sender or UNKNOWN_SENDER
        thread = await find_thread(session, organization_id, mail, self.secret, sender=sender)
        original = files.original
        thread_key = (
            thread.conversation.thread_key
            if thread.conversation is not None
            else (mail.message_id or mail.provider_id())[:255]
        )
        inbound = InboundMessage(
            organization_id=organization_id,
            channel=CHANNEL,
            sender_kind="email",
            sender_address=sender,
            text=mail.text[:MAX_TEXT],
            provider_message_id=mail.provider_id(),
            sender_name=(mail.sender_name or None),
            thread_key=thread_key,
            html=mail.html,
            attachments=tuple(
                Attachment(item.url, item.content_type, item.size, item.name)
                for item in files.attachments
            ),
            no_reply=mail.kind != "message" or sender == UNKNOWN_SENDER or refusal is not None,
            meta=self._meta(
                mailbox, mail, thread.how, original.key if original else None, sender, refusal
            ),
        )

        async def within(session: AsyncSession, received: Received) -> None:
            if not received.duplicate:
                for stored in (*files.attachments, *([original] if original else [])):
                    self.media.record(session, organization_id, stored, origin="inbound")
                await self._index(session, organization_id, received, mail)
                conversation = await session.get(Conversation, received.conversation_id)
                assert conversation is not None
                if refusal is not None:
                    flag(session, self.services.events, conversation, refusal)
                elif mail.kind == "message" and sender != UNKNOWN_SENDER:
                    await _reachable_again(session, organization_id, sender, received.message_id)
                    await budget.enforce(session, conversation)
            if step is not None:
                await step(session)

        received = await self.intake.receive_in(session, inbound, within=within)
        outcome = "duplicate" if received.duplicate else "stored"
        return Ingested(outcome, mail.kind, received.message_id, received.conversation_id)

    async def write_files(self, organization_id: int, mail: ParsedMail) -> Files:
        """The attachments' and the raw mail's files; their rows go in with the message
        (a crash in between leaves stray files, never a row without its file)."""
        attachments: list[StoredMedia] = []
        limit = self.services.settings.media_max_bytes
        for item in mail.attachments[:20]:
            if not item.data or len(item.data) > limit:
                continue
            attachments.append(
                await self.media.write(
                    organization_id, item.data, item.content_type, name=item.name
                )
            )
        original = await self.media.write(
            organization_id, mail.raw, "message/rfc822", name="original.eml"
        )
        return Files(original, tuple(attachments))

    def _meta(
        self,
        mailbox: MailboxInfo,
        mail: ParsedMail,
        how: str,
        raw_key: str | None,
        sender: str,
        refusal: str | None,
    ) -> dict[str, Any]:
        email: dict[str, Any] = {
            "mailbox": mailbox.address,
            "message_id": mail.message_id,
            "subject": mail.subject,
            "from": mail.sender,
            "to": mail.to,
            "cc": mail.cc,
            "in_reply_to": mail.in_reply_to,
            "references": mail.references[-20:],
            "kind": mail.kind,
            "reason": mail.verdict.reason,
            "threaded_by": how,
            "raw_key": raw_key,
        }
        if mail.full_text.strip() != mail.text.strip():
            email["quoted_text"] = mail.full_text[:MAX_TEXT]
        if mail.problems:
            email["problems"] = mail.problems[:10]
        meta: dict[str, Any] = {"email": email}
        if mail.kind != "message" or sender == UNKNOWN_SENDER:  # stored, never answered
            meta["flag"] = mail.verdict.reason if mail.kind != "message" else "no sender address"
        elif refusal is not None:
            meta["flag"] = refusal
        elif SUSPECT in mail.problems:
            meta["flag"] = SUSPECT
        return meta

    @staticmethod
    async def _index(
        session: AsyncSession, organization_id: int, received: Received, mail: ParsedMail
    ) -> None:
        if mail.message_id:
            session.add(
                MailId(
                    message_id=received.message_id,
                    organization_id=organization_id,
                    conversation_id=received.conversation_id,
                    header_id=mail.message_id,
                    subject=mail.subject,
                    references=" ".join(f"<{ref}>" for ref in mail.references[-20:]),
                )
            )


async def _reachable_again(
    session: AsyncSession, organization_id: int, address: str, message_id: int
) -> None:
    """A customer whose address once bounced wrote again: it works."""
    if await opted_out_at(session, organization_id, "email", address) is None:
        return
    await apply(
        session,
        ConsentChange(
            organization_id,
            "email",
            address,
            False,
            "inbound_mail",
            "the customer wrote again",
            message_id,
        ),
    )
