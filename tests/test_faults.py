"""A small version of `bench/faults.py`: 40 signed SMS webhooks (20 % repeats) into a
running `switchboard up` with the loopback Twilio API, while its worker, then its Redis,
then one of its gateways are killed with SIGKILL. Nothing accepted is lost or done twice:
every distinct message is stored and routed once, answered by exactly one AI reply sent
once (or, if the worker died while sending it, flagged for an agent and never sent twice),
and announced by one webhook delivery; no request is refused or left unanswered."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults import run_faults
from tests.support.up import require_redis_binary


@pytest.fixture
def redis_binary() -> None:
    require_redis_binary()


@pytest.mark.usefixtures("redis_binary")
async def test_nothing_is_lost_or_doubled_while_processes_are_killed(tmp_path: Path) -> None:
    report = await run_faults(tmp_path, messages=40, rate=8)

    assert len(report.faults) == 3, report
    assert report.settled, (
        f"routed, answered, announced: {report.last_look} of {report.unique}",
        (tmp_path / "up.log").read_text()[-5000:],
    )
    assert (report.accepted, report.refused, report.unanswered) == (40, 0, 0), report
    assert (report.stored, report.lost, report.duplicates) == (32, 0, 0)
    assert report.routed == 32
    assert dict(report.ai_replies) == {1: 32}
    # one SMS each, but for a reply the killed worker was in the middle of sending: that one
    # is never sent again but flagged for an agent, as it may or may not have gone out
    assert set(report.sends_per_inbound) <= {0, 1} and report.duplicate_sends == 0
    assert report.sends_per_inbound[0] <= report.interrupted <= 1, report
    assert report.unaccounted == 0
    assert (report.webhook_deliveries, report.webhooks_expected) == (32, 32)
