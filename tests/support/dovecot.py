"""A real Dovecot IMAP server for tests: a private instance (own base, state and mail
folders in a temporary directory, own `instance_name`) on a free loopback port, plaintext
login on loopback. Mail is delivered as a mail server would, by dropping a file into the
user's Maildir (which works while Dovecot is down, too), into its inbox or another folder.
`capabilities` replaces what the server offers (e.g. without IDLE or MOVE, as some
servers do). It must run as root (the master
drops to its own users); elsewhere the tests that need it are skipped."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port, wait_for_port
from tests.support.servers import ServerUnavailable

CONFIG = """
instance_name = {name}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = nobody
mail_gid = nogroup
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class Dovecot:
    def __init__(self, user: str, password: str, *, capabilities: str | None = None) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not os.access(binary, os.X_OK):
            raise ServerUnavailable("dovecot is not installed (apt-get install dovecot-imapd)")
        if os.geteuid() != 0:
            raise ServerUnavailable("the Dovecot test server must be started as root")
        self.binary = binary
        self.user, self.password = user, password
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.root.chmod(0o755)  # Dovecot's auth process must read the users file
        for folder in ("run", "state", "mail"):
            (self.root / folder).mkdir()
        shutil.chown(self.root / "mail", "nobody", "nogroup")
        self.port = free_port()
        self.config = self.root / "dovecot.conf"
        config = CONFIG.format(name=f"test-{uuid.uuid4().hex[:8]}", root=self.root, port=self.port)
        if capabilities is not None:  # offered before and after login alike
            config += f"protocol imap {{\n  imap_capability = {capabilities}\n}}\n"
        self.config.write_text(config)
        maildir = self.root / "mail" / user
        (self.root / "users").write_text(f"{user}:{{PLAIN}}{password}::::{maildir}::\n")
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True)
        for path in [maildir, *maildir.iterdir()]:
            shutil.chown(path, "nobody", "nogroup")
        self.maildir = maildir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own group: stop() ends the children with it
        )
        if not wait_for_port(self.port, timeout=15):
            log = self.root / "dovecot.log"
            raise ServerUnavailable(f"Dovecot did not start: {log.read_text()[-500:]}")
        return self

    def stop(self) -> None:
        """Kill the master and every child (open IMAP connections drop at once)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def folder(self, name: str | None = None) -> Path:
        """A folder's Maildir (Maildir++: `.<name>` inside the inbox's), created if new."""
        if name is None:
            return self.maildir
        path = self.maildir / f".{name}"
        for sub in ("", "new", "cur", "tmp"):
            if not (path / sub).exists():
                (path / sub).mkdir()
                shutil.chown(path / sub, "nobody", "nogroup")
        return path

    def deliver(self, raw: bytes, folder: str | None = None) -> None:
        """Drop one mail into a Maildir's `new/` (the inbox's by default), as a delivery
        agent does."""
        target = self.folder(folder)
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.test"
        partial = target / "tmp" / name
        partial.write_bytes(raw)
        shutil.chown(partial, "nobody", "nogroup")
        os.replace(partial, target / "new" / name)

    def files(self, folder: str | None = None) -> list[Path]:
        """The mail files in a folder (`new/` and `cur/`)."""
        path = self.maildir if folder is None else self.maildir / f".{folder}"
        return sorted(p for sub in ("new", "cur") for p in (path / sub).glob("*") if p.is_file())

    def renumber(self, uidvalidity: int) -> None:
        """While stopped: forget the folder's UIDs and index, and give it a new
        UIDVALIDITY, as when a mailbox is deleted and created again."""
        for path in self.maildir.glob("dovecot*"):
            path.unlink()
        uidlist = self.maildir / "dovecot-uidlist"
        uidlist.write_text(f"3 V{uidvalidity} N1\n")
        shutil.chown(uidlist, "nobody", "nogroup")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def running_dovecot(
    user: str, password: str, *, capabilities: str | None = None
) -> Iterator[Dovecot]:
    """A started Dovecot for a fixture to yield from; skipped where it cannot run (a
    failure in CI, where it must)."""
    try:
        server = Dovecot(user, password, capabilities=capabilities)
    except ServerUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"{error} (required in CI)", pytrace=False)
        pytest.skip(str(error))
    server.start()
    yield server
    server.close()
