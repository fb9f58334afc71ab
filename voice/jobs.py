"""The RQ entry points of the voice channel: module-level functions that take ids and run
their async body on a fresh event loop (see `gateway.runtime.run_job`)."""

from __future__ import annotations

from gateway.runtime import run_job
from voice.recording import fetch


def fetch_recording(call_id: int) -> str:
    return run_job(lambda services: fetch(services, call_id))
