"""`switchboard imap`: one IMAP intake per mailbox that has IMAP settings (and one more
for its Sent folder when it has one set), all on one event loop, and the processor for the
mail they spool (or the one the SMTP server of the same process runs). The list of
mailboxes is read again every `refresh` seconds, so a mailbox added, changed or removed
with `switchboard mailbox` is picked up without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from email_channel import health
from email_channel.imap_intake import ImapIntake
from email_channel.mailboxes import ImapAccess, imap_mailboxes
from email_channel.processor import MailProcessor
from gateway.runtime import Services

log = logging.getLogger(__name__)


class _Running:
    """A mailbox's reader, and its Sent folder's when it has one set."""

    def __init__(self, services: Services, access: ImapAccess, processor: MailProcessor) -> None:
        self.access = access
        self.stop = asyncio.Event()
        readers = [ImapIntake(services, access, on_spooled=processor.wake)]
        if access.sent_folder:
            readers.append(ImapIntake(services, access, sent=True))
        self.tasks = [asyncio.create_task(reader.run(self.stop)) for reader in readers]

    async def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*self.tasks), 30)


async def run_all(
    services: Services,
    stop: asyncio.Event,
    *,
    refresh: float = 60.0,
    processor: MailProcessor | None = None,
) -> None:
    """Until `stop`; `processor` is one already running in this process, else one of
    its own runs here."""
    running: dict[int, _Running] = {}
    own = None
    if processor is None:
        processor = MailProcessor(services)
        own = asyncio.create_task(processor.run(stop))
    try:
        while not stop.is_set():
            try:
                wanted = {access.mailbox.id: access for access in await imap_mailboxes(services.db)}
            except Exception:
                log.exception("could not read the mailboxes; trying again")
                wanted = {key: item.access for key, item in running.items()}
            for key in [key for key, item in running.items() if wanted.get(key) != item.access]:
                await running.pop(key).close()
                if key not in wanted:
                    await health.forget_imap(services, key)
            for key, access in wanted.items():
                if key not in running:
                    log.info("IMAP intake for %s started", access.mailbox.address)
                    running[key] = _Running(services, access, processor)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), refresh)
    finally:
        for item in running.values():
            await item.close()
        if own is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(own, 30)
