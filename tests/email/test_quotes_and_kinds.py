"""Quote stripping on the quoting styles of Gmail, Outlook, Apple Mail and our own marker,
built as real MIME mails; and the kind of each auto-reply, out-of-office, list and bounce
mail, with the DSNs of CPython's test data."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path

import pytest
import test as cpython_tests

from email_channel.parsed import parse_mail
from email_channel.quotes import MARKER

CPYTHON = Path(os.path.dirname(cpython_tests.__file__)) / "test_email" / "data"
OLD = "Your order 1234 ships tomorrow.\nKind regards, Shop"


def built(body: str, html: str | None = None, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Carol <carol@customer.example>")
    message["To"] = "support@shop.example"
    message["Subject"] = headers.pop("Subject", "Re: Your order")
    message["Message-ID"] = "<q@customer.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return bytes(message)


GMAIL = (
    "Thanks, that fixed it.\n\n"
    "On Mon, Jan 8, 2024 at 10:02 AM Shop Support <support@shop.example> wrote:\n\n"
    + "\n".join("> " + line for line in OLD.splitlines())
)
OUTLOOK = (
    "Thanks, that fixed it.\n\n"
    "________________________________\n"
    "From: Shop Support <support@shop.example>\n"
    "Sent: Monday, January 8, 2024 10:02 AM\n"
    "To: Carol <carol@customer.example>\n"
    "Subject: Re: Your order\n\n" + OLD
)
APPLE = (
    "Thanks, that fixed it.\n\nSent from my iPhone\n\n"
    "> On 8 Jan 2024, at 10:02, Shop Support <support@shop.example> wrote:\n>\n"
    + "\n".join("> " + line for line in OLD.splitlines())
)
OURS = f"Thanks, that fixed it.\n\nOn Monday Shop wrote:\n> {MARKER}\n> {OLD}"
GERMAN = (
    "Danke, das hat geholfen.\n\n"
    "Am Mo., 8. Jan. 2024 um 10:02 Uhr schrieb Shop Support <support@shop.example>:\n"
    + "\n".join("> " + line for line in OLD.splitlines())
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GMAIL, "Thanks, that fixed it."),
        (OUTLOOK, "Thanks, that fixed it."),
        (APPLE, "Thanks, that fixed it."),
        (OURS, "Thanks, that fixed it."),
        (GERMAN, "Danke, das hat geholfen."),
        ("Thanks!\n\n-- \nCarol Smith\nACME Corp", "Thanks!"),
        ("> only a quote, nothing new", "> only a quote, nothing new"),
    ],
    ids=["gmail", "outlook", "apple", "own-marker", "german", "signature", "only-quote"],
)
def test_only_the_new_text_is_kept_and_the_whole_text_stays(body: str, expected: str) -> None:
    parsed = parse_mail(built(body))
    assert parsed.text == expected
    assert parsed.full_text.strip() == body.strip()


def test_hostile_html_is_made_inert_and_cid_images_are_inlined() -> None:
    message = EmailMessage()
    message["From"] = "carol@customer.example"
    message["Subject"] = "pic"
    message.set_content("see picture")
    message.add_alternative(
        '<p onclick="x()">Hi<script>alert(1)</script><img src="cid:pic1">'
        '<img src="https://tracker.example/p.gif"></p>',
        subtype="html",
    )
    html_part = message.get_payload()[1]  # type: ignore[index]
    html_part.add_related(b"\x89PNG\r\n\x1a\nfake", "image", "png", cid="<pic1>")
    parsed = parse_mail(bytes(message))
    assert parsed.html is not None
    assert "<script" not in parsed.html and "onclick" not in parsed.html
    assert "data:image/png;base64," in parsed.html
    assert "tracker.example" not in parsed.html


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto_Submitted": "auto-generated"}, "auto_reply"),
        ({"Auto_Submitted": "no"}, "message"),
        ({"X_Auto_Response_Suppress": "DR, AutoReply"}, "auto_reply"),
        ({"Precedence": "auto_reply"}, "auto_reply"),
        ({"Precedence": "junk"}, "list"),
        ({"List_Unsubscribe": "<mailto:u@x.example>"}, "list"),
        ({"Auto_Submitted": "auto-replied; owner-email=carol@customer.example"}, "out_of_office"),
        (
            {"X_Auto_Response_Suppress": "All", "X_MS_Exchange_Inbox_Rules_Loop": "c@x.example"},
            "out_of_office",
        ),
        ({"Subject": "Automatic reply: Your order"}, "out_of_office"),
        ({"From": "MAILER-DAEMON@mx.example", "Subject": "Undeliverable: x"}, "bounce"),
        ({"From": "postmaster@mx.example"}, "auto_reply"),
    ],
)
def test_each_header_rule_gives_its_kind(headers: dict[str, str], kind: str) -> None:
    parsed = parse_mail(built("I am away.", **dict(headers)), own_domain="shop.example")
    assert parsed.kind == kind, parsed.verdict.reason


def test_our_own_message_id_coming_back_is_a_loop() -> None:
    raw = built("x").replace(b"<q@customer.example>", b"<sb.1.2@shop.example>")
    assert parse_mail(raw, own_domain="shop.example").kind == "own_loop"


@pytest.mark.parametrize(
    ("name", "recipients", "status"),
    [
        ("msg_16.txt", ["jangel1@cougar.noc.ucla.edu"], "5.0.0"),
        ("msg_43.txt", 11, "5.7.1"),
        ("msg_05.txt", [], None),
    ],
)
def test_cpython_dsns_are_bounces(
    name: str, recipients: list[str] | int, status: str | None
) -> None:
    parsed = parse_mail((CPYTHON / name).read_bytes())
    assert parsed.kind == "bounce"
    found = list(parsed.verdict.bounced_recipients)
    assert (len(found) if isinstance(recipients, int) else found) == recipients
    assert parsed.verdict.status == status
