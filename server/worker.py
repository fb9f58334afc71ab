"""The worker process: it builds the channels from the plug-ins (`server.plugins`, as the
app does), installs the job runtime, runs the reconciler in a background thread, and runs
an RQ worker with its scheduler on Switchboard's queues (deliveries first, the AI last)."""

from __future__ import annotations

import asyncio
import logging
import threading

from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from gateway import runtime
from gateway.channels import ChannelRegistry
from gateway.plugins import build_registry, check_jobs
from gateway.queues import ALL_QUEUES
from gateway.reconciler import reconcile
from gateway.redis_ready import wait_for_url
from gateway.settings import Settings
from server.plugins import PLUGINS

log = logging.getLogger(__name__)


def build_channels(services: runtime.Services) -> ChannelRegistry:
    """The channels of every plug-in, for the worker and the app alike."""
    return build_registry(PLUGINS, services)


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
    check_jobs(PLUGINS)
    runtime.install(settings, build_channels)
    # A Redis restarting with data on disk refuses commands until loaded: wait, bounded.
    wait_for_url(settings.require_redis_url())
    redis = Redis.from_url(settings.require_redis_url())
    stop = threading.Event()
    reconciler = threading.Thread(
        target=_reconcile_forever, args=(settings, reconcile_every, stop), daemon=True
    )
    reconciler.start()
    worker = SimpleWorker(list(ALL_QUEUES), connection=redis, serializer=JSONSerializer)
    runtime.settle_heap()
    try:
        worker.work(with_scheduler=True, burst=burst, logging_level=settings.log_level)
    finally:
        stop.set()
