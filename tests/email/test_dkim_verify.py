"""A mailbox that verifies DKIM itself (no trusted mail server in front): an agent's own
mail, delivered to Switchboard's inbound SMTP server by aiosmtplib, signed with
`dkim.sign` by a throwaway key whose TXT record a stub DNS serves. Signed by the agent's
domain (below another domain's signature and a trace header, as mail arrives) it is the
agent's reply and the AI pauses; signed by another domain, changed after signing,
unsigned, or when the DNS lookup fails, it is a customer's message, flagged, and intake
goes on; with the setting off the valid signature is ignored."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import dkim
import pytest

from email_channel.dkim_signing import DkimKey, dns_record
from email_channel.dkim_verify import DkimVerifier
from email_channel.mailboxes import add_mailbox
from email_channel.processor import MailProcessor
from email_channel.smtp_server import inbound_smtp
from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from tests.email.helpers import (
    SUPPORT,
    Inbound,
    conversations,
    email_services,
    mail,
    messages,
    support_mailbox,
)
from tests.support.factories import make_agent
from tests.support.ports import free_port

SELECTOR = b"agents"
AGENT_DOMAIN = "example.test"  # make_agent's addresses
OTHER_DOMAIN = "elsewhere.example"
UNCHECKED = "orders@shop.example"  # a mailbox that leaves DKIM unchecked


def throwaway_key(folder: Path) -> str:
    """A new RSA private key (PEM), small enough to make quickly, large enough for dkimpy."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    path = folder / "dkim-verify.pem"
    subprocess.run([openssl, "genrsa", "-out", str(path), "1024"], check=True, capture_output=True)
    return path.read_text()


@pytest.fixture(scope="module")
def private_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    return throwaway_key(tmp_path_factory.mktemp("dkim-verify"))


@pytest.fixture
async def services(db: Database, redis_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    async with email_services(db, redis_url, tmp_path) as built:
        yield built


CASES = ["agent domain", "other domain", "tampered", "unsigned", "setting off", "dns fails"]


async def test_an_agents_mail_counts_as_theirs_only_when_signed_by_their_domain(
    services: Services, org: Organization, private_key: str
) -> None:
    # One server and two mailboxes for every case: the suite pays for one set-up.
    await support_mailbox(services.db, org, verify_dkim=True)
    await add_mailbox(services.db, org.id, UNCHECKED)
    agent = await make_agent(services.db, org)
    dns = StubDns(private_key)
    port = free_port()
    processor = MailProcessor(services, dkim=DkimVerifier(dnsfunc=dns.lookup))
    async with inbound_smtp(services, "127.0.0.1", port, processor=processor):
        inbound = Inbound(port, processor)
        for number, case in enumerate(CASES):
            mailbox = UNCHECKED if case == "setting off" else SUPPORT
            customer = f"customer{number}@customer.example"
            root = f"<root{number}@customer.example>"
            await deliver(inbound, mail(customer, to=mailbox, message_id=root), customer, mailbox)
            raw = mail(
                agent.email,
                to=customer,
                subject="Re: Where is my order?",
                message_id=f"<reply{number}@example.test>",
                in_reply_to=root,
                body="I have sent a new parcel today.",
            )
            domain = OTHER_DOMAIN if case == "other domain" else AGENT_DOMAIN
            if case != "unsigned":
                raw = dkim.sign(raw, SELECTOR, domain.encode(), private_key.encode()) + raw
            if case == "agent domain":  # as it arrives: another signature and a trace above
                raw = dkim.sign(raw, SELECTOR, OTHER_DOMAIN.encode(), private_key.encode()) + raw
                raw = b"Received: from mx.example.test by shop.example\r\n" + raw
            if case == "tampered":
                raw = raw.replace(b"a new parcel", b"no parcel")
            dns.failing = case == "dns fails"
            await deliver(inbound, raw, agent.email, mailbox)

            stored = await messages(services.db)
            asked = next(m for m in stored if m.meta["email"].get("message_id") == root[1:-1])
            reply = stored[-1]
            conversation = next(
                c for c in await conversations(services.db) if c.id == asked.conversation_id
            )
            if case == "agent domain":
                assert reply.author == "agent" and reply.agent_id == agent.id, case
                assert reply.delivery_status == "sent_externally"
                assert reply.conversation_id == conversation.id
                assert conversation.state == "manual" and conversation.ai_paused_until is not None
                assert conversation.assigned_agent_id == agent.id
            else:
                assert reply.author == "customer" and reply.agent_id is None, case
                assert "could not be authenticated" in reply.meta["flag"], case
                assert conversation.state != "manual", case
    # DNS is asked only where the setting is on and a signature names the agent's domain:
    # the agent domain, tampered and DNS failure cases.
    assert dns.asked == 3


class StubDns:
    """dkimpy's `dnsfunc`: both domains publish the test key; while `failing`, the name
    server does not answer."""

    def __init__(self, private_key: str) -> None:
        self.record = dns_record(DkimKey(AGENT_DOMAIN, SELECTOR.decode(), private_key)).encode()
        self.names = {f"{SELECTOR.decode()}._domainkey.{d}." for d in (AGENT_DOMAIN, OTHER_DOMAIN)}
        self.failing = False
        self.asked = 0

    def lookup(self, name: bytes, timeout: int = 5) -> bytes | None:
        self.asked += 1
        if self.failing:
            raise TimeoutError(f"no answer from the name server within {timeout} s")
        return self.record if name.decode() in self.names else None


async def deliver(inbound: Inbound, raw: bytes, sender: str, mailbox: str) -> None:
    """Send over SMTP, then wait until the processor has stored what was spooled."""
    errors, _ = await aiosmtplib.send(
        raw, sender=sender, recipients=[mailbox], hostname="127.0.0.1", port=inbound.port
    )
    assert errors == {}
    await inbound.processor.process_pending()
