"""Sending one webhook delivery, as the RQ job `deliver_webhook(delivery_pk)`. A 2xx answer
delivers it; any other 4xx except 408 and 429 fails it for good (the receiver refused it);
network errors, timeouts, 5xx, 408 and 429 raise so RQ retries with the back-off set at
emit time, and the last attempt marks it failed. Redirects are not followed. Every attempt
is recorded on the delivery row (attempts, status, HTTP status, last error). The error kept
is the status code and its standard reason, never the answer's body: an endpoint's answer
is not for admins to read through Switchboard. The target is checked again on every attempt
(see `gateway.webhook_targets`); a refused one fails for good."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus

import aiohttp
from aiohttp.abc import AbstractResolver
from rq import get_current_job
from sqlalchemy import update

from gateway.errors import BadInput, TransientDeliveryError
from gateway.models import utcnow
from gateway.runtime import Services, run_job
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from gateway.webhook_targets import GuardedResolver, TargetRefused, check_target
from gateway.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, body_of, sign

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
RETRYABLE_STATUSES = frozenset({408, 429})
USER_AGENT = "Switchboard-Webhooks/1"
WAITING = ("pending", "retrying")


def deliver_webhook(delivery_pk: int) -> str:
    """RQ job: POST one delivery; this attempt is the last when RQ has no retries left."""
    job = get_current_job()
    final = job is None or not job.should_retry
    return run_job(lambda services: send_delivery(services, delivery_pk, final_attempt=final))


async def send_delivery(
    services: Services,
    delivery_pk: int,
    *,
    final_attempt: bool,
    resolver: AbstractResolver | None = None,
) -> str:
    """One attempt; returns delivered, failed or skipped, or raises to be retried.
    `resolver` answers the DNS questions (the system's by default)."""
    async with services.db.transaction() as session:
        delivery = await session.get(WebhookDelivery, delivery_pk)
        if delivery is None or delivery.status not in WAITING:
            return "skipped"
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or not endpoint.active:
            delivery.status, delivery.last_error = "failed", "the endpoint was disabled"
            return "skipped"
        # One attempt at a time: a duplicate job finds the delivery already "sending".
        started = await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_pk, WebhookDelivery.status.in_(WAITING))
            .values(status="sending", attempts=WebhookDelivery.attempts + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if started.rowcount != 1:  # type: ignore[attr-defined]
            return "skipped"
        url, secret = endpoint.url, endpoint.secret
        event, delivery_id, body = delivery.event, delivery.delivery_id, body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }
    status: int | None = None
    allow_private = services.settings.webhooks_allow_private
    try:
        await check_target(url, allow_private=allow_private, resolver=resolver)
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        connector = aiohttp.TCPConnector(
            resolver=None if allow_private else GuardedResolver(resolver)
        )
        async with (
            aiohttp.ClientSession(timeout=timeout, connector=connector) as client,
            client.post(url, data=body, headers=headers, allow_redirects=False) as response,
        ):
            status = response.status
    except TargetRefused as refused:
        await _record(services, delivery_pk, "failed", None, refused.message)
        log.warning("webhook delivery %s refused: %s", delivery_id, refused.message)
        return "failed"
    except (aiohttp.ClientError, TimeoutError, OSError, BadInput) as exc:
        error = network_error(exc)
    else:
        if 200 <= status < 300:
            await _record(services, delivery_pk, "delivered", status, None)
            return "delivered"
        error = answer_error(status)
        if status < 500 and status not in RETRYABLE_STATUSES:
            await _record(services, delivery_pk, "failed", status, error)
            log.warning("webhook delivery %s refused for good: %s", delivery_id, error)
            return "failed"
    if final_attempt:
        await _record(services, delivery_pk, "failed", status, error)
        log.warning("webhook delivery %s failed after its last attempt: %s", delivery_id, error)
        return "failed"
    await _record(services, delivery_pk, "retrying", status, error)
    raise TransientDeliveryError(f"webhook delivery {delivery_id} will be retried: {error}")


def answer_error(status: int) -> str:
    """ "HTTP 404 Not Found": the code and its standard reason, never the endpoint's words."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def network_error(exc: BaseException) -> str:
    if isinstance(exc, BadInput):
        return exc.message  # the host could not be found
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return f"The endpoint did not answer within {TIMEOUT_SECONDS} seconds."
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "The endpoint's host could not be found."
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "Could not connect to the endpoint."
    return "The connection to the endpoint broke before it answered."


async def _record(
    services: Services, delivery_pk: int, status: str, http_status: int | None, error: str | None
) -> None:
    now = utcnow()
    async with services.db.transaction() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_pk)
            .values(
                status=status,
                response_status=http_status,
                last_error=error,
                updated_at=now,
                delivered_at=now if status == "delivered" else None,
            )
        )
