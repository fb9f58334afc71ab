"""The worker process, one of the two composition roots: it holds the one list of concrete
channels (the app uses it too), installs the job runtime, runs the reconciler in a
background thread, and runs an RQ worker with its scheduler on Switchboard's queues
(deliveries first, the AI last)."""

from __future__ import annotations

import asyncio
import logging
import threading

from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from gateway import runtime
from gateway.channels import ChannelRegistry
from gateway.queues import ALL_QUEUES
from gateway.reconciler import reconcile
from gateway.settings import Settings

log = logging.getLogger(__name__)


def build_channels(services: runtime.Services) -> ChannelRegistry:
    """The one explicit list of channels, for the worker and the app alike."""
    from email_channel.channel import EmailChannel
    from messaging.twilio.channel import twilio_channels
    from messaging.webchat.channel import WebChatChannel
    from voice.channel import VoiceChannel

    return ChannelRegistry(
        [
            WebChatChannel(services.events),
            *twilio_channels(services),
            EmailChannel(services),
            VoiceChannel(services),
        ]
    )


def _reconcile_forever(settings: Settings, interval: float, stop: threading.Event) -> None:
    async def one_pass() -> None:
        services = await runtime.open_services(settings, build_channels)
        try:
            await reconcile(services, lock_seconds=max(1, int(interval)))
        finally:
            await runtime.close_services(services)

    while not stop.wait(interval):
        try:
            asyncio.run(one_pass())
        except Exception:
            log.exception("reconciler pass failed; trying again")


def run_worker(settings: Settings, *, burst: bool = False, reconcile_every: float = 2.0) -> None:
    runtime.install(settings, build_channels)
    redis = Redis.from_url(settings.require_redis_url())
    stop = threading.Event()
    reconciler = threading.Thread(
        target=_reconcile_forever, args=(settings, reconcile_every, stop), daemon=True
    )
    reconciler.start()
    worker = SimpleWorker(list(ALL_QUEUES), connection=redis, serializer=JSONSerializer)
    try:
        worker.work(with_scheduler=True, burst=burst, logging_level=settings.log_level)
    finally:
        stop.set()
