"""What kind of mail this is, so that only a person's own message gets an AI answer:
`message`, `auto_reply`, `out_of_office`, `bounce`, `list` or `own_loop`. The header rules
are the union of what Zammad, FreeScout, Chatwoot and RFC 3834 check (see the README's
loop rules); each verdict comes with a sentence saying why. Bounces are read as delivery
status notifications (RFC 3464): found by their `message/delivery-status` part, not by
the Content-Type header alone, since some reports lack `report-type`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from email_channel.mime import MailParts

KINDS = ("message", "auto_reply", "out_of_office", "bounce", "list", "own_loop")
OUR_HEADER = "X-Switchboard-Conversation"
_ROBOT_SENDER = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)([+@.-]|$)", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status|failure|has failed)|failure notice|returned mail|"
    r"mail delivery failed|delivery notification",
    re.I,
)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    reason: str
    bounced_recipients: tuple[str, ...] = ()
    status: str | None = None
    action: str | None = None
    diagnostic: str = ""
    returned_message_id: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def classify(parts: MailParts, sender: str, own_domain: str, envelope_from: str | None) -> Verdict:
    """`sender` is the From address (lowercased); `envelope_from` the SMTP MAIL FROM
    ('' for the null sender, None when unknown, as over IMAP)."""
    bounce = _bounce(parts, sender, envelope_from)
    if bounce is not None:
        return bounce
    own = _own_loop(parts, own_domain)
    if own:
        return Verdict("own_loop", own)
    for check in (_out_of_office, _auto_reply, _list):
        reason = check(parts, sender)
        if reason is not None:
            return Verdict(check.__name__.strip("_"), reason)
    return Verdict("message", "a message from a person")


def _value(parts: MailParts, name: str) -> str:
    return parts.header(name).strip().lower()


def _bounce(parts: MailParts, sender: str, envelope_from: str | None) -> Verdict | None:
    returned = parts.returned_headers.get("message-id", "")
    returned_id = returned.strip().strip("<>") or None
    if parts.delivery_status:
        recipients: list[str] = []
        status = action = None
        diagnostic = ""
        for block in parts.delivery_status:
            recipient = block.get("final-recipient") or block.get("original-recipient")
            if not recipient:
                continue
            recipients.append(recipient.split(";", 1)[-1].strip().strip("<>").lower())
            action = action or block.get("action", "").strip().lower() or None
            found = _STATUS.search(block.get("status", ""))
            status = status or (found.group(0) if found else None)
            diagnostic = diagnostic or block.get("diagnostic-code", "").split(";", 1)[-1].strip()
        if recipients or action:
            return Verdict(
                "bounce",
                "a delivery status notification (a bounce)",
                tuple(dict.fromkeys(recipients)),
                status,
                action,
                diagnostic[:1000],
                returned_id,
            )
    if parts.is_report and "delivery-status" in parts.header("Content-Type").lower():
        return Verdict("bounce", "a delivery status report", returned_message_id=returned_id)
    robot = envelope_from == "" or bool(_ROBOT_SENDER.match(sender.split("@", 1)[0] + "@"))
    if robot and _BOUNCE_SUBJECT.search(parts.header("Subject")):
        found = _STATUS.search(parts.text)
        return Verdict(
            "bounce",
            "a non-delivery report from a mail server",
            tuple(_failed_addresses(parts.text)),
            found.group(0) if found else None,
            "failed",
            "",
            returned_id,
        )
    return None


def _failed_addresses(text: str) -> list[str]:
    found = re.findall(r"<?([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?", text[:20000])
    return list(dict.fromkeys(address.lower() for address in found))[:20]


def _own_loop(parts: MailParts, own_domain: str) -> str | None:
    if parts.header(OUR_HEADER):
        return "one of Switchboard's own mails came back"
    message_id = parts.header("Message-ID").strip().strip("<>").lower()
    if own_domain and message_id.startswith("sb.") and message_id.endswith("@" + own_domain):
        return "one of Switchboard's own mails came back"
    loop = _value(parts, "X-Loop")
    if own_domain and loop.endswith(own_domain):
        return "one of Switchboard's own mails came back"
    return None


def _out_of_office(parts: MailParts, sender: str) -> str | None:
    submitted = _value(parts, "Auto-Submitted")
    suppress = _value(parts, "X-Auto-Response-Suppress")
    if suppress == "all" and parts.header("X-MS-Exchange-Inbox-Rules-Loop"):
        return "an out-of-office reply (Exchange inbox rule)"
    if "vacation" in submitted or "auto-replied; owner-email=" in submitted:
        return "an out-of-office reply"
    subject = parts.header("Subject").lower()
    office = ("out of office", "out of the office", "vacation", "abwesen", "absence")
    if submitted.startswith("auto-replied") and any(word in subject for word in office):
        return "an out-of-office reply"
    if subject.startswith(("automatic reply:", "autoreply:", "out of office:")):
        return "an out-of-office reply"
    return None


def _auto_reply(parts: MailParts, sender: str) -> str | None:
    submitted = _value(parts, "Auto-Submitted")
    if submitted and submitted != "no":
        return f"sent automatically (Auto-Submitted: {submitted[:40]})"
    for name in ("X-Autoreply", "X-Autorespond"):
        if parts.header(name):
            return f"an automatic reply ({name})"
    suppress = _value(parts, "X-Auto-Response-Suppress")
    if any(value in suppress for value in ("dr", "autoreply", "all")):
        return "an automatic mail (it asks not to be answered automatically)"
    if _value(parts, "Precedence") == "auto_reply":
        return "an automatic reply (Precedence: auto_reply)"
    if _value(parts, "X-Loop") in ("yes", "true"):
        return "an automatic mail that guards against loops (X-Loop)"
    if _ROBOT_SENDER.match(sender.split("@", 1)[0] + "@"):
        return "from an address nobody reads (no-reply, mailer-daemon or postmaster)"
    return None


def _list(parts: MailParts, sender: str) -> str | None:
    if _value(parts, "Precedence") in ("bulk", "list", "junk"):
        return "bulk or list mail (Precedence)"
    for name in ("List-Id", "List-Unsubscribe", "Feedback-ID"):
        if parts.header(name):
            return f"bulk or list mail ({name})"
    return None
