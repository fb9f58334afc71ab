"""The shared mail transport against a real SMTP server (aiosmtpd): a message is taken;
a temporary refusal is a TransientDeliveryError and a permanent one a
PermanentDeliveryError, each with the server's code; refusing some recipients still sends
to the others and reports each refusal; a server that does not answer is transient; and
without an SMTP URL nothing is attempted."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.mail import send_mail
from gateway.settings import Settings
from tests.support.ports import free_port
from tests.support.smtp_sink import SmtpSink


def mail(*to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "desk@acme.test"
    message["To"] = ", ".join(to)
    message["Subject"] = "Hello"
    message.set_content("Hello there.")
    return message


def settings(url: str | None) -> Settings:
    return Settings(smtp_url=url, secret_key="test")


async def test_a_message_is_taken_and_nobody_refused() -> None:
    with SmtpSink() as sink:
        assert await send_mail(settings(sink.url), mail("ann@acme.test")) == {}
    [received] = sink.messages
    assert (received.sender, received.recipients) == ("desk@acme.test", ("ann@acme.test",))


async def test_an_envelope_sender_and_recipients_override_the_headers() -> None:
    with SmtpSink() as sink:
        refused = await send_mail(
            settings(sink.url),
            mail("ann@acme.test"),
            sender="bounces+42@acme.test",
            recipients=["bob@acme.test"],
        )
    assert refused == {}
    [received] = sink.messages
    assert (received.sender, received.recipients) == ("bounces+42@acme.test", ("bob@acme.test",))


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        ("451 4.3.0 Try again later", TransientDeliveryError, "451"),
        ("554 5.7.1 Rejected as spam", PermanentDeliveryError, "554"),
    ],
)
async def test_a_refused_message_is_translated(answer: str, error: type, code: str) -> None:
    with SmtpSink(refuse_first=1, refusal=answer) as sink, pytest.raises(error) as refused:
        await send_mail(settings(sink.url), mail("ann@acme.test"))
    assert refused.value.provider_code == code and code in refused.value.message
    assert sink.messages == []


async def test_some_recipients_refused_the_others_get_it_and_each_refusal_is_reported() -> None:
    with SmtpSink(refuse_recipients={"gone@acme.test": "550 5.1.1 No such user"}) as sink:
        refused = await send_mail(settings(sink.url), mail("ann@acme.test", "gone@acme.test"))
    assert refused == {"gone@acme.test": "550 5.1.1 No such user"}
    [received] = sink.messages
    assert received.recipients == ("ann@acme.test",)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("450 4.2.1 Mailbox busy", TransientDeliveryError),
        ("550 5.1.1 No such user", PermanentDeliveryError),
    ],
)
async def test_every_recipient_refused_is_an_error(answer: str, error: type) -> None:
    refusing = SmtpSink(refuse_recipients={"gone@acme.test": answer})
    with refusing as sink, pytest.raises(error) as refused:
        await send_mail(settings(sink.url), mail("gone@acme.test"))
    assert "gone@acme.test" in refused.value.message and answer[:3] == refused.value.provider_code
    assert sink.messages == []


async def test_a_server_that_is_not_there_is_worth_retrying() -> None:
    with pytest.raises(TransientDeliveryError):
        await send_mail(settings(f"smtp://127.0.0.1:{free_port()}"), mail("ann@acme.test"))


async def test_without_an_smtp_url_nothing_is_sent() -> None:
    with pytest.raises(PermanentDeliveryError) as refused:
        await send_mail(settings(None), mail("ann@acme.test"))
    assert refused.value.provider_code == "no_smtp"
