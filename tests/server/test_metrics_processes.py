"""The multiprocess folder `switchboard up` gives its children: real processes writing
to one folder add up in one scrape; a dead process's open sockets are forgotten while its
counters stay; and a new start empties what an earlier run left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from server.metrics import MULTIPROC_VARIABLE, exposition, fresh_multiproc_dir, process_ended
from tests.support.worker import ROOT

RECORD = (
    "from gateway import metrics; metrics.count_delivery('sms', 'sent');"
    " metrics.LIVE_SOCKETS.labels('live').inc(); import os; print(os.getpid())"
)


def record_in(folder: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", RECORD],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), MULTIPROC_VARIABLE: str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout)


def samples(redis_url: str, folder: Path) -> dict[tuple[str, str], float]:
    text = exposition(Redis.from_url(redis_url), str(folder)).decode()
    return {
        (sample.name, ",".join(sorted(sample.labels.values()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_processes_add_up_and_a_dead_ones_sockets_are_forgotten(
    redis_url: str, tmp_path: Path
) -> None:
    folder = fresh_multiproc_dir(tmp_path)
    first, second = record_in(folder), record_in(folder)

    both = samples(redis_url, folder)
    assert both[("switchboard_deliveries_total", "sent,sms")] == 2
    assert both[("switchboard_live_sockets", "live")] == 2

    process_ended(first, str(folder))
    one = samples(redis_url, folder)
    assert one[("switchboard_deliveries_total", "sent,sms")] == 2
    assert one[("switchboard_live_sockets", "live")] == 1
    process_ended(second, str(folder))
    assert ("switchboard_live_sockets", "live") not in samples(redis_url, folder)


def test_a_new_start_empties_the_folder(tmp_path: Path) -> None:
    folder = fresh_multiproc_dir(tmp_path)
    record_in(folder)
    assert list(folder.iterdir())
    assert fresh_multiproc_dir(tmp_path) == folder
    assert not list(folder.iterdir())
