"""What `GET /healthz` says about email: whether the inbound SMTP (or LMTP) listener is up,
and, per mailbox read over IMAP, whether its reader is connected and when it last fetched.
The listener and the readers run in their own processes (`switchboard smtp`, `switchboard
imap`, or `switchboard up`'s), so they note their state in Redis, where any gateway
process reads it: the listener refreshes a key that expires when it stops refreshing it,
and each reader writes its mailbox's line when it connects, fetches or loses the
connection. Mailboxes are named by their id, as /healthz needs no login: no address,
host or error text is shown there (the admins' Mailboxes page says more)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from redis.exceptions import RedisError

from gateway.runtime import Services

SMTP_KEY = "switchboard:email:smtp-listening"
IMAP_KEY = "switchboard:email:imap"
HEARTBEAT_SECONDS = 10.0
HEARTBEAT_TTL_SECONDS = 30
log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def listening(services: Services, protocol: str, stop: asyncio.Event) -> None:
    """Note that the inbound listener is up until `stop` is set (it has stopped), then
    that it is not."""
    value = json.dumps({"protocol": protocol, "since": _now()})
    redis = services.events.redis
    while not stop.is_set():
        try:
            await redis.set(SMTP_KEY, value, ex=HEARTBEAT_TTL_SECONDS)
        except RedisError as error:
            log.warning("could not note that the %s listener is up (%s)", protocol, error)
        try:
            await asyncio.wait_for(stop.wait(), HEARTBEAT_SECONDS)
        except TimeoutError:
            continue
    with contextlib.suppress(RedisError):  # else the key expires on its own
        await redis.delete(SMTP_KEY)


async def note_imap(
    services: Services, mailbox_id: int, folder: str, *, connected: bool, fetched: bool = False
) -> None:
    """Note a reader's state: connected or not, and the time of a fetch just made."""
    field = f"{mailbox_id}:{folder}"
    redis = services.events.redis
    try:
        earlier = await redis.hget(IMAP_KEY, field)
        state = json.loads(earlier) if earlier else {}
        state["connected"] = connected
        if fetched:
            state["last_fetch"] = _now()
        state.setdefault("last_fetch", None)
        await redis.hset(IMAP_KEY, field, json.dumps(state))
    except (RedisError, ValueError) as error:
        log.warning("could not note mailbox %s's IMAP state (%s)", mailbox_id, error)


async def forget_imap(services: Services, mailbox_id: int) -> None:
    """A mailbox no longer read over IMAP: its lines go."""
    try:
        await services.events.redis.hdel(IMAP_KEY, f"{mailbox_id}:inbox", f"{mailbox_id}:sent")
    except RedisError as error:
        log.warning("could not forget mailbox %s's IMAP state (%s)", mailbox_id, error)


async def report(services: Services) -> Mapping[str, object]:
    """The email part of /healthz."""
    redis = services.events.redis
    smtp = await redis.get(SMTP_KEY)
    readers = await redis.hgetall(IMAP_KEY)
    imap = []
    for field, value in sorted(readers.items()):
        mailbox, _, folder = _text(field).partition(":")
        state = json.loads(value)
        imap.append(
            {
                "mailbox": int(mailbox),
                "folder": "sent" if folder == "sent" else "inbox",
                "connected": bool(state.get("connected")),
                "last_fetch": state.get("last_fetch"),
            }
        )
    listener = json.loads(smtp) if smtp else None
    return {
        "inbound_listening": listener is not None,
        "inbound_protocol": listener.get("protocol") if listener else None,
        "imap": imap,
    }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
