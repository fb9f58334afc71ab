"""Mail failures in words, from the SMTP reply code and the enhanced status code (RFC 3463):
the sentence agents read, never the server's text, which stays the detail."""

from __future__ import annotations

import pytest

from email_channel.refusals import bounce_sentence, codes, sentence, translated
from gateway.errors import PermanentDeliveryError, TransientDeliveryError

REFUSED = "[Errno 111] Connect call failed ('127.0.0.250', 25)"  # no code in it, though "250"
POLICY = (
    "the receiving mail server refused it under its policy (for example as spam, or as not "
    "authorised to send from our address)"
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("550 5.1.1 <x@y.example>: Recipient address rejected", "the address does not exist"),
        ("550-5.1.1 The email account that you tried to reach does not exist.", None),
        ("5.1.2 Domain not found", "the address's domain does not exist or takes no mail"),
        ("556 5.1.10 Recipient address has null MX", "the address's domain takes no mail"),
        ("552 5.2.2 Mailbox full", "the customer's mailbox is full"),
        ("452 4.2.2 Over quota, try later", "the customer's mailbox is full"),
        (
            "552 5.2.3 Message exceeds local size limit",
            "the message is too large for the customer's mailbox",
        ),
        (
            "552 5.3.4 Message too big for system",
            "the message is too large for the receiving mail server",
        ),
        ("550 5.7.1 Message rejected as spam", POLICY),
        ("554 5.7.26 Unauthenticated email is not accepted", POLICY),
        (
            "535 5.7.8 Authentication credentials invalid",
            "our mail server did not accept our "
            "login, so an admin needs to check the outgoing mail settings",
        ),
        (
            "450 4.7.1 Greylisted, try again in 5 minutes",
            "the receiving mail server could not take it for now",
        ),
        ("421 Too many connections", "the receiving mail server could not take it for now"),
        ("553 sorry, that domain isn't in my list", "the address is not a valid email address"),
        ("550 5.9.9 Something new", "the receiving mail server refused it"),
        ("554 Transaction failed", "the receiving mail server refused it"),
    ],
)
def test_each_code_reads_as_a_sentence(text: str, words: str | None) -> None:
    assert sentence(*codes(text)) == (words or "the address does not exist")


def test_several_answers_are_read_by_the_reply_code_that_counted() -> None:
    text = "every recipient was refused: a@x.example: 550 5.1.1 no; b@x.example: 450 4.2.2 full"
    assert codes(text, "450") == ("450", "4.2.2")
    assert codes(text, "550") == ("550", "5.1.1")


@pytest.mark.parametrize(
    ("error", "kind", "words", "detail"),
    [
        (
            PermanentDeliveryError(
                "the mail server answered 550 5.1.1 <x@y.example>: Recipient address rejected",
                provider_code="550",
            ),
            PermanentDeliveryError,
            "the address does not exist",
            "550 5.1.1 <x@y.example>: Recipient address rejected",
        ),
        (
            TransientDeliveryError(
                "the mail server answered 451 4.3.0 Try later", provider_code="451"
            ),
            TransientDeliveryError,
            "the receiving mail server could not take it for now",
            "451 4.3.0 Try later",
        ),
        (
            TransientDeliveryError(f"could not reach the mail server: {REFUSED}"),
            TransientDeliveryError,
            "our mail server could not be reached",
            f"could not reach the mail server: {REFUSED}",
        ),
        (
            PermanentDeliveryError(
                "no outgoing mail server is configured", provider_code="no_smtp"
            ),
            PermanentDeliveryError,
            "no outgoing mail server is set up, so an admin needs to set one up",
            "no outgoing mail server is configured",
        ),
    ],
)
def test_a_refusal_while_sending_keeps_its_kind_and_the_servers_words(
    error: PermanentDeliveryError | TransientDeliveryError, kind: type, words: str, detail: str
) -> None:
    worded = translated(error)
    assert type(worded) is kind
    assert (worded.message, worded.detail, worded.provider_code) == (
        words,
        detail,
        error.provider_code,
    )


@pytest.mark.parametrize(
    ("status", "diagnostic", "words"),
    [
        ("5.1.1", "550 5.1.1 user unknown", "the address does not exist"),
        ("5.2.2", "552 mailbox full", "the customer's mailbox is full"),
        (None, "550 5.1.2 host not found", "the address's domain does not exist or takes no mail"),
        ("5.7.1", "", POLICY),
        (None, "", "the receiving mail server refused it"),
    ],
)
def test_a_bounce_reads_its_status(status: str | None, diagnostic: str, words: str) -> None:
    assert bounce_sentence(status, diagnostic) == words
