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

from gateway import event_loop, runtime
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
    """A reconciler pass every `interval` seconds, on one event loop and services kept
    between passes (opening them for each pass cost more than most passes do: a
    recurring burst of work beside the gateway). A pass that fails closes them; the next
    opens fresh ones."""
    with event_loop.runner() as runner:
        services: runtime.Services | None = None
        while not stop.wait(interval):
            try:
                if services is None:
                    services = runner.run(
                        runtime.open_services(settings, build_channels, pooled=True)
                    )
                runner.run(reconcile(services, lock_seconds=max(1, int(interval))))
            except Exception:
                log.exception("reconciler pass failed; trying again")
                _close(runner, services)
                services = None
        _close(runner, services)


def _close(runner: asyncio.Runner, services: runtime.Services | None) -> None:
    if services is not None:
        try:
            runner.run(runtime.close_services(services))
        except Exception:
            log.exception("closing the reconciler's connections failed")


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
