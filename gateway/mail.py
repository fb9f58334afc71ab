"""The mail transport every sender shares (the ladder's emails to the team now, the email
channel next): one message handed to the SMTP server of SWITCHBOARD_SMTP_URL, with the
server's answers translated at this edge. A temporary refusal (4xx), a refused connection
or a timeout raises TransientDeliveryError, worth retrying; a permanent refusal (5xx, a
failed login) raises PermanentDeliveryError with the server's code as `provider_code`.
When the server takes the message for some recipients and refuses others, the message has
left: the refusals are returned, one answer per address, for the caller to record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from gateway.errors import ConfigurationError, PermanentDeliveryError, TransientDeliveryError
from gateway.settings import Settings

TIMEOUT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # TLS from the first byte (smtps://)
    start_tls: bool | None  # None: upgrade when the server offers it


def smtp_target(url: str) -> SmtpTarget:
    """Read smtp://user:pass@host:port?starttls=true|false (or smtps://)."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ConfigurationError("SWITCHBOARD_SMTP_URL must look like smtp://user:pass@host:port")
    starttls = parse_qs(parsed.query).get("starttls", ["auto"])[-1].lower()
    if starttls not in ("true", "false", "auto"):
        raise ConfigurationError("SWITCHBOARD_SMTP_URL: starttls must be true, false or auto")
    implicit = parsed.scheme == "smtps"
    return SmtpTarget(
        hostname=parsed.hostname,
        port=parsed.port or (465 if implicit else 25),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        use_tls=implicit,
        start_tls=False if implicit else {"true": True, "false": False}.get(starttls),
    )


def _refused(code: int, text: str, provider_code: str) -> Exception:
    if code < 500:
        return TransientDeliveryError(text, provider_code=provider_code)
    return PermanentDeliveryError(text, provider_code=provider_code)


async def send_mail(
    settings: Settings,
    message: EmailMessage | bytes,
    *,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
) -> dict[str, str]:
    """Send `message` (to its To/Cc/Bcc, or to `recipients`; from its From, or from the
    envelope `sender`; a message already serialized, e.g. signed, needs both). Returns the
    recipients refused while others took it, as {address: "code text"}; raises
    Transient/PermanentDeliveryError when nobody took it."""
    if settings.smtp_url is None:
        raise PermanentDeliveryError(
            "no outgoing mail server is configured (SWITCHBOARD_SMTP_URL)", provider_code="no_smtp"
        )
    if isinstance(message, bytes) and (sender is None or recipients is None):
        raise ValueError("a serialized message needs its envelope sender and recipients")
    target = smtp_target(settings.smtp_url.get_secret_value())
    try:
        errors, _answer = await aiosmtplib.send(
            message,
            sender=sender,
            recipients=list(recipients) if recipients is not None else None,
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            timeout=TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refusals = exc.recipients
        worst = max(refusals, key=lambda refusal: refusal.code)
        temporary = min(refusals, key=lambda refusal: refusal.code)
        answers = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refusals)
        code = temporary.code if temporary.code < 500 else worst.code
        raise _refused(code, f"every recipient was refused: {answers}", str(code)) from exc
    except aiosmtplib.SMTPResponseException as exc:
        text = f"the mail server answered {exc.code} {exc.message}"
        raise _refused(exc.code, text, str(exc.code)) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"could not reach the mail server: {exc}") from exc
    return {address: f"{answer.code} {answer.message}" for address, answer in errors.items()}
