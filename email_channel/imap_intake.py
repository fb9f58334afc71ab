"""IMAP intake for one mailbox. New mail is fetched in batches (one `UID FETCH` per batch
of UIDs) and spooled for processing in one transaction per batch that also moves the
mailbox's UID cursor past the batch: a crash before that commit fetches the batch again,
one after it never does, and the cursor only ever covers spooled (committed) mail. Only
afterwards, as a courtesy, the batch is moved to the mailbox's processed folder (when it
has one and the server offers MOVE) or marked `\\Seen`; neither is ever read as
"processed" (a mail someone opened in webmail first is still ingested). The same reader
watches a shared mailbox's Sent folder (`sent=True`), with a cursor of its own moved with
each agent's reply it stores (`sent_folder.py`), and leaves that folder as it is. A new
UIDVALIDITY (the folder was
recreated) rescans from the start; processing's dedupe keeps that free of duplicates. New
mail is awaited with IDLE where offered (re-issued well within the 29 minutes RFC 2177
allows), by polling otherwise; a lost connection is retried with exponential back-off and
jitter. A Redis lock makes sure one process reads a mailbox at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import secrets
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any

from aioimaplib import IMAP4, quoted

from email_channel import health
from email_channel import imap_cursors as cursors
from email_channel.mailboxes import ImapAccess
from email_channel.models import ImapCursor, SentCursor
from email_channel.sent_folder import SentFolderIntake
from email_channel.spool import Arrival, spool
from gateway.runtime import Services

log = logging.getLogger(__name__)

LOCK_SECONDS = 90
IDLE_SECONDS = 30.0
COMMAND_SECONDS = 60.0  # re-issue IDLE (and renew the lock) this often
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_START = re.compile(rb"^\*?\s*\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
BATCH = 25  # mails per UID FETCH and per spool transaction


class ConnectionLost(Exception):
    pass


class ImapIntake:
    def __init__(
        self,
        services: Services,
        access: ImapAccess,
        *,
        poll_seconds: float = 60.0,
        idle_seconds: float = IDLE_SECONDS,
        backoff: tuple[float, float] = (1.0, 300.0),
        ssl_context: ssl.SSLContext | None = None,
        batch: int = BATCH,
        on_spooled: Callable[[], None] | None = None,
        sent: bool = False,
    ) -> None:
        """`sent`: read the mailbox's Sent folder (agents' replies) instead of its folder."""
        self.services = services
        self.access = access
        self.sent = sent
        self.folder = (access.sent_folder or "") if sent else access.folder
        self.cursor_model: cursors.CursorModel = SentCursor if sent else ImapCursor
        self.sent_intake = SentFolderIntake(services, access.mailbox)
        self.batch = max(1, batch)
        self.on_spooled = on_spooled  # after each commit that spooled mail
        self.poll_seconds = poll_seconds
        self.idle_seconds = idle_seconds
        self.backoff = backoff
        self.ssl_context = ssl_context
        self._lost = asyncio.Event()
        self._lock_key = f"switchboard:imap:{access.mailbox.id}" + (":sent" if sent else "")
        self._lock_token = secrets.token_hex(8)

    async def run(self, stop: asyncio.Event) -> None:
        """Read the mailbox until `stop` is set, reconnecting after any failure."""
        delay = self.backoff[0]
        while not stop.is_set():
            try:
                if await self._hold_lock():
                    await self._session(stop)
                    delay = self.backoff[0]
                else:
                    await _wait(stop, self.idle_seconds)
                    continue
            except Exception as exc:
                await self._note(connected=False)
                log.warning(
                    "IMAP %s: %s; connecting again in %.0f s",
                    self.access.mailbox.address,
                    _describe(exc),
                    delay,
                )
            await _wait(stop, delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.backoff[1])
        with contextlib.suppress(Exception):
            await self._release_lock()

    async def read_once(self) -> int:
        """Connect, spool what is new, disconnect; returns how many mails it spooled."""
        async with self.connected() as (client, uidvalidity):
            return await self.sync(client, uidvalidity)

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[tuple[IMAP4, int]]:
        """A logged-in client with the folder selected, and the folder's UIDVALIDITY."""
        client = await self._connect()
        try:
            uidvalidity = await self._select(client)
            await self._prepare(client)
            yield client, uidvalidity
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 5)

    async def _session(self, stop: asyncio.Event) -> None:
        client = await self._connect()
        try:
            uidvalidity = await self._select(client)
            await self._prepare(client)
            idle = client.has_capability("IDLE")
            while not stop.is_set():
                await self.sync(client, uidvalidity)
                if not await self._hold_lock():
                    return
                if idle:
                    await self._idle(client, stop)
                else:
                    await _wait(stop, self.poll_seconds, self._lost)
                    await self._check(client.noop(), "NOOP")
        finally:
            await self._note(connected=False)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 5)

    async def _connect(self) -> IMAP4:
        # One event per connection: a closing earlier connection reports its loss late,
        # and must not mark this one as lost.
        lost = self._lost = asyncio.Event()
        context = None
        if self.access.tls:
            context = self.ssl_context or ssl.create_default_context()
        client = IMAP4(
            self.access.host,
            self.access.port,
            timeout=30,
            conn_lost_cb=lambda _exc: lost.set(),
            ssl_context=context,
        )
        await client.wait_hello_from_server()
        await self._check(client.login(self.access.user, self.access.password), "login")
        log.info("IMAP %s: connected", self.access.mailbox.address)
        await self._note(connected=True)
        return client

    async def _note(self, *, connected: bool, fetched: bool = False) -> None:
        folder = "sent" if self.sent else "inbox"
        await health.note_imap(
            self.services, self.access.mailbox.id, folder, connected=connected, fetched=fetched
        )

    async def _select(self, client: IMAP4) -> int:
        response = await self._check(client.select(quoted(self.folder)), "SELECT")
        for line in response.lines:
            found = _UIDVALIDITY.search(bytes(line))
            if found:
                return int(found.group(1))
        raise ConnectionLost("the server sent no UIDVALIDITY")

    async def sync(self, client: IMAP4, uidvalidity: int) -> int:
        """Spool every mail after the cursor, in UID order, a batch per command and per
        transaction (the cursor moves with the batch); returns how many."""
        model, mailbox_id = self.cursor_model, self.access.mailbox.id
        last_uid = await cursors.read(self.services.db, model, mailbox_id, uidvalidity)
        if last_uid is None:
            log.warning(
                "IMAP %s: UIDVALIDITY of %s changed (the folder was recreated); reading it again",
                self.access.mailbox.address,
                self.folder,
            )
            last_uid = await cursors.reset(self.services.db, model, mailbox_id, uidvalidity)
        response = await self._check(client.uid_search("UID", f"{last_uid + 1}:*"), "SEARCH")
        uids = sorted(
            int(token)
            for line in response.lines[:-1]
            for token in bytes(line).replace(b"SEARCH", b"").split()
            if token.isdigit()
        )
        # `n:*` always includes the highest UID, even one at or below the cursor.
        uids = [uid for uid in uids if uid > last_uid]
        await self._note(connected=True, fetched=True)
        count = 0
        for start in range(0, len(uids), self.batch):
            wanted = uids[start : start + self.batch]
            fetched = await self._fetch(client, wanted)
            if not fetched:
                continue  # all expunged meanwhile
            count += len(fetched)
            if self.sent:  # left where they are: the Sent folder is the agents' own record
                for uid, raw in fetched:
                    step = cursors.advance(model, mailbox_id, uidvalidity, uid)
                    await self.sent_intake.ingest(raw, step)
                continue
            await self._spool(uidvalidity, fetched)
            if self.on_spooled is not None:
                self.on_spooled()
            await self._processed(client, _uid_set(uid for uid, _ in fetched))
        return count

    async def _prepare(self, client: IMAP4) -> None:
        """Create the processed folder if it is missing (a server answers NO when it
        exists already, which is fine)."""
        folder = self.access.processed_folder
        if folder and not self.sent and client.has_capability("MOVE"):
            with contextlib.suppress(Exception):
                await self._guard(client.create(quoted(folder)), "CREATE")

    async def _processed(self, client: IMAP4, uids: str) -> None:
        """After the commit, cosmetic only: the cursor already moved past `uids`. A move
        the server refuses (a folder name it does not allow) falls back to `\\Seen`."""
        address, folder = self.access.mailbox.address, self.access.processed_folder
        try:
            if folder and client.has_capability("MOVE"):
                try:
                    await self._check(client.uid("move", uids, quoted(folder)), "MOVE")
                    return
                except ConnectionLost as exc:
                    if self._lost.is_set():
                        raise
                    log.warning("IMAP %s: cannot move mail to %s (%s)", address, folder, exc)
            await self._check(client.uid("store", uids, "+FLAGS.SILENT", r"(\Seen)"), "STORE")
        except ConnectionLost as exc:
            log.info("IMAP %s: %s left where they are (%s)", address, uids, exc)

    async def _spool(self, uidvalidity: int, fetched: list[tuple[int, bytes]]) -> None:
        """The fetched mails and the cursor past the last of them, in one transaction."""
        mailbox_id = self.access.mailbox.id
        last = fetched[-1][0]
        async with self.services.db.transaction() as session:
            await spool(session, [Arrival(mailbox_id, raw) for _, raw in fetched], ids=False)
            await cursors.advance(ImapCursor, mailbox_id, uidvalidity, last)(session)

    async def _fetch(self, client: IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
        """(UID, raw mail) of the wanted UIDs the server still has, in UID order."""
        response = await self._check(
            client.uid("fetch", _uid_set(uids), "(UID BODY.PEEK[])"), "FETCH"
        )
        wanted = set(uids)
        found = {uid: raw for uid, raw in _fetched(response.lines) if uid in wanted}
        return sorted(found.items())

    async def _idle(self, client: IMAP4, stop: asyncio.Event) -> None:
        idle = await self._guard(client.idle_start(timeout=self.idle_seconds), "IDLE")
        push = asyncio.ensure_future(client.wait_server_push(timeout=self.idle_seconds + 5))
        stopped = asyncio.ensure_future(stop.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({push, stopped, lost}, return_when=asyncio.FIRST_COMPLETED)
            pushed = push.result() if push.done() and not push.exception() else None
            lines = getattr(pushed, "lines", None) or (pushed if isinstance(pushed, list) else [])
            if self._lost.is_set() or any(b"BYE" in bytes(line) for line in lines):
                raise ConnectionLost("the server went away while we waited for mail")
            client.idle_done()
            # A server that dies now never ends the IDLE: stop waiting when it goes.
            await asyncio.wait({idle, lost}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            if not idle.done():
                raise ConnectionLost("the server did not end IDLE")
        finally:
            for task in (push, stopped, lost):
                task.cancel()

    async def _check(self, call: Awaitable[Any], what: str) -> Any:
        response = await self._guard(call, what)
        if response.result != "OK":
            raise ConnectionLost(f"{what} failed: {response.result}")
        return response

    async def _guard(self, call: Awaitable[Any], what: str) -> Any:
        """Await one command, giving up when the connection drops or the server stalls
        (aioimaplib leaves some commands waiting forever on a dead connection)."""
        if self._lost.is_set():
            if isinstance(call, Coroutine):
                call.close()
            raise ConnectionLost("the connection was lost")
        command = asyncio.ensure_future(call)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait(
                {command, lost}, timeout=COMMAND_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            lost.cancel()
        if not command.done():
            command.cancel()
            raise ConnectionLost(f"{what}: the server did not answer")
        return command.result()

    async def _hold_lock(self) -> bool:
        redis = self.services.events.redis
        if await redis.set(self._lock_key, self._lock_token, nx=True, ex=LOCK_SECONDS):
            return True
        held = await redis.get(self._lock_key)
        if held in (self._lock_token, self._lock_token.encode()):
            await redis.expire(self._lock_key, LOCK_SECONDS)
            return True
        return False

    async def _release_lock(self) -> None:
        redis = self.services.events.redis
        held = await redis.get(self._lock_key)
        if held in (self._lock_token, self._lock_token.encode()):
            await redis.delete(self._lock_key)


async def _wait(stop: asyncio.Event, seconds: float, *others: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in (stop, *others)]
    try:
        await asyncio.wait(waiters, timeout=max(seconds, 0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _describe(exc: Exception) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "the server did not answer in time"
    if isinstance(exc, OSError):
        return f"cannot connect ({exc.strerror or exc})"
    return str(exc) or type(exc).__name__


def _uid_set(uids: Iterable[int]) -> str:
    """An IMAP sequence set of UIDs, runs collapsed: 1:3,7,9:10."""
    ordered = sorted(set(uids))
    runs: list[str] = []
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[index], ordered[end]
        runs.append(str(first) if first == last else f"{first}:{last}")
        index = end + 1
    return ",".join(runs)


def _fetched(lines: list[Any]) -> list[tuple[int, bytes]]:
    """The (UID, body) pairs of a UID FETCH response: each `n FETCH (` line opens a
    message, its literal is the body, and its UID may come before or after the body.
    Untagged FETCH lines without a body (flag updates) are skipped."""
    found: list[tuple[int, bytes]] = []
    uid: int | None = None
    body: bytes | None = None
    for line in lines:
        if isinstance(line, bytearray):
            body = bytes(line)
            continue
        text = bytes(line)
        if _FETCH_START.match(text):
            if uid is not None and body is not None:
                found.append((uid, body))
            uid, body = None, None
        number = _UID.search(text)
        if number is not None:
            uid = int(number.group(1))
    if uid is not None and body is not None:
        found.append((uid, body))
    return found
