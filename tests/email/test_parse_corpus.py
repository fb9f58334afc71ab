"""Every mail of two corpora (the shared .eml collection, CPython's own email test data)
goes through `switchboard mail parse` and through intake without an exception."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import test as cpython_tests

from gateway.db import Database
from gateway.models import Organization
from tests.email.helpers import email_services, intake, messages, support_mailbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
CPYTHON = Path(os.path.dirname(cpython_tests.__file__)) / "test_email" / "data"


def corpus() -> list[Path]:
    return sorted(FIXTURES.rglob("*.eml")) + sorted(CPYTHON.glob("msg_*.txt"))


def test_the_corpora_are_there() -> None:
    assert len(sorted(FIXTURES.rglob("*.eml"))) > 80
    assert len(sorted(CPYTHON.glob("msg_*.txt"))) > 40


def test_mail_parse_reports_every_file_and_exits_zero(tmp_path: Path) -> None:
    files = [*corpus(), tmp_path / "missing.eml"]
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "mail", "parse", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SWITCHBOARD_VAR_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(path) for path in files]
    assert all("error" not in line for line in lines[:-1])
    assert "cannot read it" in lines[-1]["error"]
    kinds = {Path(line["file"]).name: line["kind"] for line in lines[:-1]}
    assert kinds["msg_16.txt"] == "bounce"
    assert kinds["msg_43.txt"] == "bounce"
    assert kinds[["rfc2822", "example01.eml"][-1]] == "message"


async def test_every_corpus_mail_goes_through_intake(
    db: Database, redis_url: str, org: Organization, tmp_path: Path
) -> None:
    mailbox = await support_mailbox(db, org)
    async with email_services(db, redis_url, tmp_path) as services:
        mail_intake = intake(services)
        outcomes = [
            (await mail_intake.ingest(mailbox, path.read_bytes(), envelope_from=None)).outcome
            for path in corpus()
        ]
        assert set(outcomes) <= {"stored", "duplicate", "bounce"}
        stored = await messages(db)
        assert len(stored) == outcomes.count("stored")
        # A second pass stores nothing new.
        again = [
            (await mail_intake.ingest(mailbox, path.read_bytes())).outcome for path in corpus()
        ]
        assert "stored" not in again
        assert len(await messages(db)) == len(stored)
