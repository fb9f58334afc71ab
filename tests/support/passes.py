"""Two reconciler passes at once, made to overlap the same way every time: the second pass
asks Redis whether a row's job is waiting, and the first pass (as if it were another
worker's, after the second outlasted the reconciler's lock) runs all through before the
second goes on with the answer it got."""

from __future__ import annotations

import asyncio

import pytest

from gateway.reconciler import LOCK_KEY, reconcile
from gateway.runtime import Services


async def overlapping_passes(
    services: Services, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, int], dict[str, int]]:
    """The two passes, the second finding `job_id` missing from Redis while the first runs;
    returns (the first's counts, the second's)."""
    loop, waiting = asyncio.get_running_loop(), services.jobs.waiting
    first: list[dict[str, int]] = []

    def first_pass_meanwhile(ids: list[str]) -> set[str]:
        found = waiting(ids)
        if job_id in ids:
            monkeypatch.setattr(services.jobs, "waiting", waiting)
            services.jobs.redis.delete(LOCK_KEY)  # the second pass outlasted its lock
            first.append(asyncio.run_coroutine_threadsafe(reconcile(services), loop).result(30))
        return found

    monkeypatch.setattr(services.jobs, "waiting", first_pass_meanwhile)
    second = await reconcile(services)
    return first[0], second
