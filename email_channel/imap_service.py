"""`switchboard imap`: one IMAP intake per mailbox that has IMAP settings, all on one
event loop. The list of mailboxes is read again every `refresh` seconds, so a mailbox
added, changed or removed with `switchboard mailbox` is picked up without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from email_channel.imap_intake import ImapIntake
from email_channel.mailboxes import ImapAccess, imap_mailboxes
from gateway.runtime import Services

log = logging.getLogger(__name__)


class _Running:
    def __init__(self, services: Services, access: ImapAccess) -> None:
        self.access = access
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(ImapIntake(services, access).run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 30)


async def run_all(services: Services, stop: asyncio.Event, *, refresh: float = 60.0) -> None:
    running: dict[int, _Running] = {}
    try:
        while not stop.is_set():
            try:
                wanted = {access.mailbox.id: access for access in await imap_mailboxes(services.db)}
            except Exception:
                log.exception("could not read the mailboxes; trying again")
                wanted = {key: item.access for key, item in running.items()}
            for key in [key for key, item in running.items() if wanted.get(key) != item.access]:
                await running.pop(key).close()
            for key, access in wanted.items():
                if key not in running:
                    log.info("IMAP intake for %s started", access.mailbox.address)
                    running[key] = _Running(services, access)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), refresh)
    finally:
        for item in running.values():
            await item.close()
