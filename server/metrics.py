"""`GET /metrics` for Prometheus, and the request and socket hooks that feed it. Every HTTP
request is counted by its route's rule (`/twilio/sms`, `/api/conversations/<int:id>`,
`<unmatched>` for a 404), never its raw path; a POST to a channel plug-in's blueprint also
counts as that plug-in's webhook, accepted or refused; each WebSocket adds to the live
gauge while it is open. At scrape time the RQ queues' depth and oldest job's age are read
from Redis. The endpoint needs `Authorization: Bearer <SWITCHBOARD_METRICS_TOKEN>`
(compared in constant time); with no token configured it does not exist (404), so a
gateway never exposes its figures by accident."""

from __future__ import annotations

import asyncio
import hmac
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from quart import Quart, Response, g, request, websocket
from redis import Redis

from gateway import metrics
from gateway.queues import ALL_QUEUES
from gateway.settings import Settings
from gateway.web import app_services

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_STARTED = "metrics_started"
_SOCKET = "metrics_socket"


class QueueCollector(Collector):
    """Depth and oldest waiting job's age of each RQ queue, read when scraped (jobs
    scheduled for later are not waiting yet and not counted)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "switchboard_queue_depth", "Jobs waiting in an RQ queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "switchboard_queue_oldest_job_age_seconds",
            "Age of the oldest job waiting in an RQ queue (0 when empty).",
            labels=["queue"],
        )
        pipe = self.redis.pipeline(transaction=False)
        for name in ALL_QUEUES:
            pipe.llen(f"rq:queue:{name}")
            pipe.lindex(f"rq:queue:{name}", 0)
        answers = pipe.execute()
        firsts = {
            name: answers[index * 2 + 1]
            for index, name in enumerate(ALL_QUEUES)
            if answers[index * 2 + 1]
        }
        pipe = self.redis.pipeline(transaction=False)
        for first in firsts.values():
            pipe.hget(f"rq:job:{first.decode()}", "enqueued_at")
        enqueued = dict(zip(firsts, pipe.execute(), strict=True))
        now = datetime.now(UTC)
        for index, name in enumerate(ALL_QUEUES):
            depth.add_metric([name], float(answers[index * 2]))
            age.add_metric([name], _age(enqueued.get(name), now))
        yield depth
        yield age


def _age(enqueued_at: bytes | None, now: datetime) -> float:
    if not enqueued_at:
        return 0.0
    try:
        when = datetime.fromisoformat(enqueued_at.decode().replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (now - when).total_seconds())


def exposition(redis: Redis, multiproc_dir: str | None = None) -> bytes:
    """The text format: this process's series, or every process's when they write to a
    multiprocess folder, plus the queues."""
    folder = multiproc_dir if multiproc_dir is not None else os.environ.get(MULTIPROC_VARIABLE)
    registry = CollectorRegistry()
    if folder:
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
        collectors: Iterable[CollectorRegistry] = (registry,)
    else:
        collectors = (REGISTRY,)
    queues = CollectorRegistry()
    queues.register(QueueCollector(redis))
    return b"".join(generate_latest(each) for each in (*collectors, queues))


def fresh_multiproc_dir(var_dir: Path) -> Path:
    """The folder `switchboard up`'s children write their series to, emptied at start:
    files left by an earlier run's processes would be added to this run's figures."""
    folder = var_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def process_ended(pid: int, folder: str | None) -> None:
    """Forget a dead child's live gauges (its sockets closed with it); its counters stay,
    so a restart never makes a counter go down."""
    if folder:
        mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


def _authorized(settings: Settings) -> bool:
    assert settings.metrics_token is not None
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {settings.metrics_token.get_secret_value()}"
    return hmac.compare_digest(given.encode(), expected.encode())


def install(app: Quart, settings: Settings, plugin_blueprints: Mapping[str, str]) -> None:
    """Add `/metrics` and the hooks; `plugin_blueprints` maps a blueprint's name to the
    plug-in that registered it."""

    @app.get("/metrics")
    async def scrape() -> Response:
        if settings.metrics_token is None:
            return Response("Not found", status=404, content_type="text/plain")
        if not _authorized(settings):
            return Response(
                "A metrics token is required",
                status=401,
                content_type="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
        redis = app_services().services.jobs.redis
        body = await asyncio.to_thread(exposition, redis)
        return Response(body, content_type=CONTENT_TYPE_LATEST)

    @app.before_request
    async def start_timer() -> None:
        g.setdefault(_STARTED, time.perf_counter())

    @app.after_request
    async def count_request(response: Response) -> Response:
        started = g.get(_STARTED)
        rule = request.url_rule.rule if request.url_rule is not None else metrics.UNMATCHED_ROUTE
        method = request.method if request.method in _METHODS else metrics.OTHER
        metrics.REQUESTS.labels(rule, method, str(response.status_code)).inc()
        if started is not None:
            elapsed = time.perf_counter() - started
            metrics.REQUEST_SECONDS.labels(rule, method).observe(elapsed)
        blueprint = (request.blueprint or "").split(".", 1)[0]
        plugin = plugin_blueprints.get(blueprint)
        if plugin is not None and request.method == "POST" and response.status_code < 500:
            outcome = "accepted" if response.status_code < 400 else "refused"
            metrics.WEBHOOKS.labels(plugin, outcome).inc()
        return response

    @app.before_websocket
    async def socket_opened() -> None:
        name = metrics.name_label((websocket.blueprint or "app").split(".", 1)[0])
        metrics.LIVE_SOCKETS.labels(name).inc()
        g.setdefault(_SOCKET, name)

    @app.teardown_websocket
    async def socket_closed(error: BaseException | None) -> None:
        name = g.pop(_SOCKET, None)
        if name is not None:
            metrics.LIVE_SOCKETS.labels(name).dec()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
