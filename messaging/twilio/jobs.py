"""The RQ entry points of the Twilio channel: module-level functions that take ids and run
their async body on the worker's event loop (see `gateway.runtime.run_job`)."""

from __future__ import annotations

from gateway.runtime import run_job
from messaging.twilio.media_fetch import fetch_message_media


def fetch_media(message_id: int) -> str:
    return run_job(lambda services: fetch_message_media(services, message_id))
