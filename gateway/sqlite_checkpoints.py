"""SQLite's write-ahead-log checkpoints, off the request path. By default the connection
whose commit takes the log past 1,000 pages copies the log back into the database file
then and there, flush to disk included, so every few hundred commits one request (or job)
waited several milliseconds for it: in the voice benchmark, that was most of a turn's p99.
A long-lived process (the gateway, the job worker) turns that off on its connections and
gives the work to a thread of its own, which checkpoints once a second without waiting for
readers or writers (`PASSIVE`), with the lock released while SQLite works. Other processes
keep SQLite's default, and the last connection to close checkpoints what is left."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

EVERY = 1.0  # seconds between checkpoints


class Checkpointer:
    def __init__(self, database: Path, every: float = EVERY) -> None:
        self.database = database
        self.every = every
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"checkpoints of {database.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self.database, isolation_level=None)
        try:
            while not self._stop.wait(self.every):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.passes += 1
                except sqlite3.Error as error:  # a busy or missing file: the next pass tries
                    log.warning("SQLite checkpoint of %s failed: %s", self.database, error)
        finally:
            connection.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
