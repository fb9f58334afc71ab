"""A real worker process (RQ worker, scheduler and reconciler) for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START = (
    "import sys; from gateway.settings import load_settings; from server.worker import run_worker;"
    " run_worker(load_settings(), burst=sys.argv[1] == 'burst', reconcile_every=float(sys.argv[2]))"
)


def worker_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        SWITCHBOARD_DATABASE_URL=database_url,
        SWITCHBOARD_REDIS_URL=redis_url,
        SWITCHBOARD_SECRET_KEY="test",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def gateway_env(database_url: str, redis_url: str, port: int, var_dir: Path) -> dict[str, str]:
    """`worker_env` for a gateway process (`switchboard serve`) on 127.0.0.1:`port`."""
    return worker_env(
        database_url,
        redis_url,
        SWITCHBOARD_HOST="127.0.0.1",
        SWITCHBOARD_PORT=str(port),
        SWITCHBOARD_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SWITCHBOARD_VAR_DIR=str(var_dir),
    )


def run_burst(database_url: str, redis_url: str, timeout: float = 60, **env: str) -> str:
    """Run a worker until the queues are empty; returns its log. `env` adds settings."""
    done = subprocess.run(
        [sys.executable, "-c", START, "burst", "60"],
        env=worker_env(database_url, redis_url, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


@contextmanager
def running_worker(
    database_url: str, redis_url: str, reconcile_every: float = 0.5, **env: str
) -> Iterator[subprocess.Popen[str]]:
    """A long-running worker, stopped (and its log kept) when the block ends; `env` adds
    settings (e.g. SWITCHBOARD_SMTP_URL="smtp://127.0.0.1:2525")."""
    process = subprocess.Popen(
        [sys.executable, "-c", START, "forever", str(reconcile_every)],
        env=worker_env(database_url, redis_url, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
