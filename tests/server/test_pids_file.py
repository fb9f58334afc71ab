"""The file where `switchboard up` lists its processes is replaced whole, never rewritten in
place: a reader (a second `up` deciding whether one already runs, a script, a test) that
reads it while `up` restarts a child finds the old list or the new one, never an empty or
half-written file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from server.launcher import PIDS_FILE, _Running


def test_a_reader_never_sees_the_list_half_written(tmp_path: Path) -> None:
    running = _Running(tmp_path / PIDS_FILE)
    running.write_pids()
    writing = threading.Event()
    writing.set()

    def rewrite() -> None:
        while writing.is_set():
            running.write_pids()

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        read = [json.loads(running.pids_path.read_text()) for _ in range(3000)]
    finally:
        writing.clear()
        writer.join()
    assert all(pids.keys() == {"up", "redis"} for pids in read)
    assert [path.name for path in tmp_path.iterdir()] == [PIDS_FILE]
