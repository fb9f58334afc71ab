"""DKIM signing in the app: a mailbox given a selector and an RSA key (by `switchboard
mailbox dkim`) signs its replies; what the SMTP peer receives verifies with `dkim.verify`
against the TXT record Switchboard says to publish (served by a stub DNS function), and
fails once a signed header is changed. The private key is never shown: not by the
command, nor by the mailbox listing or the admin API. `switchboard mailbox verify-dkim`
turns a mailbox's own check of agents' signatures on and off."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest

from email_channel.dkim_config import set_dkim
from email_channel.mailboxes import describe, list_mailboxes
from gateway.db import Database
from gateway.delivery import deliver_message
from gateway.errors import BadInput
from gateway.models import Organization
from tests.email.helpers import SUPPORT, email_services, support_mailbox
from tests.email.test_outbound import customer_mail, store_reply
from tests.server.test_cli import run_cli
from tests.support.smtp_sink import SmtpSink

SELECTOR = "sb2026"


def _openssl_key(folder: Path, bits: int = 2048) -> Path:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    path = folder / f"dkim-{bits}.pem"
    subprocess.run(
        [openssl, "genrsa", "-out", str(path), str(bits)], check=True, capture_output=True
    )
    return path


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield _openssl_key(tmp_path_factory.mktemp("dkim"))


def stub_dns(records: dict[str, str]):  # type: ignore[no-untyped-def]
    """dkimpy's `dnsfunc`: the TXT record of a name, as DNS would answer."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        found = records.get(name.decode().rstrip("."))
        return found.encode() if found is not None else None

    return lookup


async def test_a_signed_reply_verifies_against_the_published_record(
    db: Database, redis_url: str, org: Organization, tmp_path: Path, key_file: Path
) -> None:
    with SmtpSink() as sink:
        async with email_services(db, redis_url, tmp_path, smtp_url=sink.url) as services:
            mailbox = await support_mailbox(db, org)
            configured = await set_dkim(db, SUPPORT, SELECTOR, key_file.read_text())
            dns = configured["dkim"]
            assert dns["dns_name"] == f"{SELECTOR}._domainkey.shop.example"
            conversation_id = await customer_mail(services, mailbox)
            reply_id = await store_reply(
                db, conversation_id, "ai", "It ships tomorrow. Grüße, Ihr Team"
            )
            assert await deliver_message(services, reply_id) == "sent"
            (received,) = await sink.wait_for(1)
    raw = received.raw
    assert raw.startswith(b"DKIM-Signature:")
    assert raw.isascii()  # 8-bit text was encoded before signing: any server takes it
    header = " ".join(str(received.message["DKIM-Signature"]).split())
    assert "d=shop.example;" in header and f"s={SELECTOR};" in header
    assert "c=relaxed/relaxed;" in header
    dnsfunc = stub_dns({dns["dns_name"]: dns["dns_record"]})
    assert dkim.verify(raw, dnsfunc=dnsfunc)
    assert received.text.startswith("It ships tomorrow. Grüße, Ihr Team")
    # A relay that changes a signed header breaks it; one without the record cannot check.
    tampered = raw.replace(b"Subject: Re: Where is my order?", b"Subject: Re: Pay now")
    assert tampered != raw
    assert not dkim.verify(tampered, dnsfunc=dnsfunc)
    assert not dkim.verify(raw, dnsfunc=stub_dns({}))


async def test_without_a_key_nothing_is_signed_and_off_stops_signing(
    db: Database, redis_url: str, org: Organization, tmp_path: Path, key_file: Path
) -> None:
    with SmtpSink() as sink:
        async with email_services(db, redis_url, tmp_path, smtp_url=sink.url) as services:
            mailbox = await support_mailbox(db, org)
            await set_dkim(db, SUPPORT, SELECTOR, key_file.read_text())
            assert (await set_dkim(db, SUPPORT, None, None))["dkim"] is None
            conversation_id = await customer_mail(services, mailbox)
            reply_id = await store_reply(db, conversation_id, "ai", "It ships tomorrow.")
            assert await deliver_message(services, reply_id) == "sent"
            (received,) = await sink.wait_for(1)
    assert received.message["DKIM-Signature"] is None


async def test_bad_keys_and_selectors_are_refused_plainly(
    db: Database, org: Organization, tmp_path: Path, key_file: Path
) -> None:
    await support_mailbox(db, org)
    small = _openssl_key(tmp_path, 512)
    cases = [
        (SELECTOR, "not a key", "RSA private key in PEM form"),
        (SELECTOR, small.read_text(), "512 bits"),
        ("bad selector!", key_file.read_text(), "DNS label"),
    ]
    for selector, key, says in cases:
        with pytest.raises(BadInput, match=says):
            await set_dkim(db, SUPPORT, selector, key)
    (row,) = await list_mailboxes(db)
    assert describe(row)["dkim"] is None


async def test_the_key_is_never_described(db: Database, org: Organization, key_file: Path) -> None:
    await support_mailbox(db, org)
    await set_dkim(db, SUPPORT, SELECTOR, key_file.read_text())
    (row,) = await list_mailboxes(db)
    shown = json.dumps(describe(row))
    assert "PRIVATE KEY" not in shown and row.dkim_private_key
    body = row.dkim_private_key.split("-----")[2].split()
    assert all(line not in shown for line in body)
    assert describe(row)["dkim"]["dns_record"].startswith("v=DKIM1; k=rsa; p=MII")


def test_the_command_prints_the_record_and_never_the_key(tmp_path: Path, key_file: Path) -> None:
    var_dir = tmp_path / "var"
    assert run_cli(var_dir, "migrate").returncode == 0
    assert run_cli(var_dir, "org", "create", "shop", "Shop").returncode == 0
    assert run_cli(var_dir, "mailbox", "add", "shop", SUPPORT).returncode == 0
    signed = run_cli(
        var_dir, "mailbox", "dkim", SUPPORT, "--selector", SELECTOR, "--key-file", str(key_file)
    )
    assert signed.returncode == 0, signed.stderr
    assert f'{SELECTOR}._domainkey.shop.example. IN TXT "v=DKIM1; k=rsa; p=' in signed.stdout
    checking = run_cli(var_dir, "mailbox", "verify-dkim", SUPPORT)
    assert checking.returncode == 0 and "valid DKIM signature" in checking.stdout
    listed = run_cli(var_dir, "mailbox", "list", "shop")
    assert f"DKIM {SELECTOR} + verifies agents' DKIM" in listed.stdout
    key_lines = key_file.read_text().split("-----")[2].split()
    for output in (signed.stdout + signed.stderr, listed.stdout + listed.stderr):
        assert "PRIVATE KEY" not in output
        assert all(line not in output for line in key_lines)
    refused = run_cli(var_dir, "mailbox", "dkim", SUPPORT, "--selector", SELECTOR)
    assert refused.returncode == 2 and "--key-file" in refused.stderr
    off = run_cli(var_dir, "mailbox", "dkim", SUPPORT, "--off")
    assert off.returncode == 0 and "no longer" in off.stdout
    unchecked = run_cli(var_dir, "mailbox", "verify-dkim", SUPPORT, "--off")
    assert unchecked.returncode == 0 and "no longer checks" in unchecked.stdout
