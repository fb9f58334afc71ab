"""The address an agent answers a notification mail at. A notification about one
conversation, sent to one agent, carries `Reply-To: <local>+n<conversation>a<agent>.<mac>@<domain>`
at an address of the organization that takes mail in; the email channel reads the token
back from the reply's recipients and relays the reply to the customer as that agent. The
MAC (HMAC-SHA256 under the secret key, 12 hex digits) covers the conversation and the agent
together, so a guessed, altered or re-targeted token is ignored. It lives in the core
because the notification is written by `handoff` and the reply is read by `email_channel`,
which may not import each other."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"^n(?P<conversation>\d{1,18})a(?P<agent>\d{1,18})\.(?P<mac>[0-9a-f]{12})$")


@dataclass(frozen=True, slots=True)
class ReplyToken:
    conversation_id: int
    agent_id: int


def _mac(secret: str, conversation_id: int, agent_id: int) -> str:
    seed = f"notification-reply:{conversation_id}:{agent_id}".encode()
    return hmac.new(secret.encode(), seed, hashlib.sha256).hexdigest()[:12]


def reply_token(secret: str, conversation_id: int, agent_id: int) -> str:
    return f"n{conversation_id}a{agent_id}.{_mac(secret, conversation_id, agent_id)}"


def reply_address(inbox: str, secret: str, conversation_id: int, agent_id: int) -> str:
    """`support@shop.example` → `support+n12a3.<mac>@shop.example`."""
    local, _, domain = inbox.partition("@")
    return f"{local.split('+', 1)[0]}+{reply_token(secret, conversation_id, agent_id)}@{domain}"


def read_reply_token(secret: str, address: str) -> ReplyToken | None:
    """The conversation and agent an address's valid token names, or None (no token, a
    malformed one, or a forged one)."""
    local = address.strip().lower().partition("@")[0]
    if "+" not in local:
        return None
    found = _TOKEN.match(local.split("+", 1)[1])
    if found is None:
        return None
    conversation_id, agent_id = int(found["conversation"]), int(found["agent"])
    if not hmac.compare_digest(found["mac"], _mac(secret, conversation_id, agent_id)):
        return None
    return ReplyToken(conversation_id, agent_id)
