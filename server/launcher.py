"""`switchboard up`: everything on one machine with one command. It keeps a secret key and
the database in the state folder, runs the migrations, starts a local Redis unless one is
configured, creates the demo organization on the first run, then runs the gateway, the
worker and the processes the channel plug-ins ask for (mail intake) as child processes
and supervises them: a child that dies is restarted with back-off while the others keep
running. Ctrl-C or SIGTERM stops them, then Redis; a child that keeps failing to start
stops everything with an error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

from gateway.db import Database
from gateway.errors import ConfigurationError
from gateway.migrate import upgrade
from gateway.organizations import DEMO_ADMIN_EMAIL, DemoCredentials, KnowledgeLoader, ensure_demo
from gateway.settings import Settings, ensure_secret_key
from server.metrics import MULTIPROC_VARIABLE, fresh_multiproc_dir, process_ended
from server.plugins import PLUGINS
from server.redis_server import ManagedRedis, die_with_parent
from server.supervisor import Child as Supervised
from server.supervisor import GaveUp, Supervisor

log = logging.getLogger(__name__)

PIDS_FILE = "up.pids"
HEALTH_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
# Two gateway processes on one socket: a crash of one costs no request. The second starts
# once the first answers, so a start on a busy machine is not slowed down by it.
SPARE_GATEWAY = "gateway-2"
CHILDREN = (
    ("worker", ["worker"]),
    ("gateway", ["serve"]),
    (SPARE_GATEWAY, ["serve"]),
    *(
        (name, list(command))
        for plugin in PLUGINS
        for name, command in plugin.on_one_machine.processes
    ),
)
LISTEN_FD_VARIABLE = "SWITCHBOARD_LISTEN_FD"


class Stopped(BaseException):
    """Ctrl-C or SIGTERM asked `up` to stop (a BaseException, like KeyboardInterrupt)."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def start_child(
    name: str, command: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()
) -> Child:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "server.cli", *command],
        env=env,
        pass_fds=pass_fds,
        stdin=subprocess.DEVNULL,
        process_group=0,  # Ctrl-C reaches `up` only; it stops the children in order
        preexec_fn=die_with_parent,
    )
    log.info("started the %s (pid %s)", name, process.pid)
    return Child(name, process)


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to all (the gateway drains, the worker finishes its job), then SIGKILL."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("the %s did not stop within %.0f s; killing it", child.name, timeout)
            child.process.kill()
            child.process.wait()
        _stop_group(child.process.pid, 5.0)


def _stop_group(pgid: int, timeout: float) -> None:
    """Stop what a child forked and left behind (the RQ scheduler, should the worker have
    died): it shares the child's process group. Waits, so Redis is still up meanwhile."""
    deadline = time.monotonic() + timeout
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            return
        while time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
        deadline = time.monotonic() + 2.0


def child_environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for plugin in PLUGINS:
        env.update(plugin.on_one_machine.environment(settings))
    env.update(
        SWITCHBOARD_VAR_DIR=str(settings.var_dir),
        SWITCHBOARD_HOST=settings.host,
        SWITCHBOARD_PORT=str(settings.port),
        SWITCHBOARD_REDIS_URL=settings.require_redis_url(),
        SWITCHBOARD_SECRET_KEY=settings.require_secret_key(),
        PYTHONUNBUFFERED="1",
    )
    return env


def _refuse_second_instance(pids_path: Path) -> None:
    """One `up` per state folder: two would share the database, Redis data and port."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        pid = int(json.loads(pids_path.read_text())["up"])
        if pid != os.getpid():
            os.kill(pid, 0)  # raises ProcessLookupError, an OSError, once it has gone
            raise ConfigurationError(
                f"`switchboard up` is already running for {pids_path.parent} (pid {pid})"
            )


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `Stopped` while running, and ignore them while
    stopping, so that a second Ctrl-C does not cut the orderly shutdown short."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped

    handled = (signal.SIGINT, signal.SIGTERM)
    for signum in handled:
        signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum in handled:
            signal.signal(signum, signal.SIG_IGN)


def _restore_default_signals() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def check_can_listen(host: str, port: int) -> None:
    """Fail early, with a clear message, when the HTTP port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            raise ConfigurationError(
                f"cannot listen on {host}:{port} ({error.strerror}); choose another port with "
                "--port or SWITCHBOARD_PORT"
            ) from None


def listen_socket(host: str, port: int) -> socket.socket:
    """The gateway's listening socket, held by `up` itself and shared by its gateway
    processes: while one restarts, the other answers, and connections wait in the
    socket's backlog instead of being refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {host}:{port} ({error.strerror}); choose another port with "
            "--port or SWITCHBOARD_PORT"
        ) from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def local_url(settings: Settings) -> str:
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - turning "any" into a reachable address
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def wait_until_healthy(
    url: str, check: Callable[[], object], timeout: float = HEALTH_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check()
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise ConfigurationError(f"the gateway did not answer {url}/healthz within {timeout:.0f} s")


def print_credentials(out: TextIO, credentials: DemoCredentials) -> None:
    lines = [
        "Demo admin login - shown once, save it now:",
        f"  email:    {credentials.email}",
        f"  password: {credentials.password}",
    ]
    width = max(len(line) for line in lines) + 2
    border = "+" + "-" * (width + 2) + "+"
    print(border, *(f"|  {line.ljust(width)}|" for line in lines), border, sep="\n", file=out)
    out.flush()


async def _ensure_demo(settings: Settings, load_kb: KnowledgeLoader) -> DemoCredentials | None:
    db = Database(settings.resolved_database_url, echo=settings.sql_echo)
    try:
        credentials = await ensure_demo(db, load_kb)
        for plugin in PLUGINS:
            if plugin.on_one_machine.demo is not None:
                await plugin.on_one_machine.demo(db)
        return credentials
    finally:
        await db.dispose()


@dataclass
class _Running:
    """What `up` has started so far, so that it can stop exactly that."""

    pids_path: Path
    redis: ManagedRedis | None = None
    children: list[Child] = field(default_factory=list)
    listener: socket.socket | None = None

    def started(self, child: Child) -> None:
        """Note a child (a restart replaces the one of the same name)."""
        self.children = [known for known in self.children if known.name != child.name]
        self.children.append(child)

    def write_pids(self) -> None:
        pids: dict[str, int | None] = {"up": os.getpid()}
        pids["redis"] = self.redis.pid if self.redis is not None else None
        pids.update({child.name: child.process.pid for child in self.children})
        # Written beside and renamed over, so that a reader (a second `up`, a script)
        # never sees the file half-written: an empty read would look like no `up` at all.
        partial = self.pids_path.with_name(self.pids_path.name + ".partial")
        partial.write_text(json.dumps(pids))
        os.replace(partial, self.pids_path)

    def stop(self) -> None:
        stop_children(list(reversed(self.children)))  # the gateway first: intake stops
        if self.redis is not None:
            self.redis.stop()
        if self.listener is not None:
            self.listener.close()
        with contextlib.suppress(OSError):
            self.pids_path.unlink()


def _start_and_supervise(
    settings: Settings, load_kb: KnowledgeLoader, running: _Running, out: TextIO
) -> NoReturn:
    upgrade(settings.resolved_database_url)
    if settings.redis_url is None:
        running.redis = ManagedRedis(settings.var_dir)
        settings = settings.model_copy(update={"redis_url": running.redis.start()})
    credentials = asyncio.run(_ensure_demo(settings, load_kb))
    if credentials is not None:
        print_credentials(out, credentials)
    else:
        print(f"Demo admin: {DEMO_ADMIN_EMAIL} (password shown on the first start)", file=out)
    env = child_environment(settings)
    env[MULTIPROC_VARIABLE] = str(fresh_multiproc_dir(settings.var_dir))
    if running.listener is not None:
        env[LISTEN_FD_VARIABLE] = str(running.listener.fileno())
    supervisor = _supervisor(running, env)
    running.write_pids()
    url = local_url(settings)

    def check() -> None:
        if supervisor.check():
            running.write_pids()

    wait_until_healthy(url, check)
    supervisor.start(supervisor.child(SPARE_GATEWAY))
    running.write_pids()
    print(f"Switchboard is running at {url} - open it to try the demo chat", file=out)
    for plugin in PLUGINS:
        if plugin.on_one_machine.welcome is not None:
            print(plugin.on_one_machine.welcome(env), file=out)
    print("Press Ctrl-C to stop.", file=out)
    out.flush()
    while True:
        check()
        time.sleep(0.1)


def _supervisor(running: _Running, env: dict[str, str]) -> Supervisor:
    """Start the children under a supervisor that restarts any of them that dies. The
    managed Redis comes back on its port, with its data, before `start` returns."""

    def starter(name: str, command: list[str]) -> Callable[[], subprocess.Popen[bytes]]:
        fds: tuple[int, ...] = ()
        if command == ["serve"] and running.listener is not None:
            fds = (running.listener.fileno(),)

        def start() -> subprocess.Popen[bytes]:
            for old in running.children:
                if old.name == name:  # what the dead one forked (the RQ scheduler) goes too
                    _stop_group(old.process.pid, 2.0)
                    process_ended(old.process.pid, env.get(MULTIPROC_VARIABLE))
            child = start_child(name, command, env, pass_fds=fds)
            running.started(child)
            return child.process

        return start

    children = [
        Supervised(name, starter(name, command))
        for name, command in CHILDREN  # the worker first: it drains what the gateway takes
    ]
    supervisor = Supervisor(children)
    for child in children:
        if child.name != SPARE_GATEWAY:
            supervisor.start(child)
    if running.redis is not None:
        redis, managed = Supervised("redis", running.redis.restart), running.redis
        supervisor.adopt(redis, managed.process)
    return supervisor


def run_up(
    settings: Settings,
    load_kb: KnowledgeLoader,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Run everything until stopped; the exit status (0 when asked to stop)."""
    settings = ensure_secret_key(settings)
    settings = settings.model_copy(update={"var_dir": settings.var_dir.resolve()})
    running = _Running(settings.var_dir / PIDS_FILE)
    _refuse_second_instance(running.pids_path)
    running.listener = listen_socket(settings.host, settings.port)
    running.write_pids()
    try:
        with _stop_signals():
            _start_and_supervise(settings, load_kb, running, out)
    except Stopped:
        print("Stopping Switchboard...", file=out)
        out.flush()
        return 0
    except GaveUp as error:
        print(f"switchboard: error: {error}; stopping everything", file=err)
        return 1
    finally:
        running.stop()
        _restore_default_signals()
