"""The `switchboard` admin commands, run as real subprocesses against a temporary state
folder: what they print, what they store, and one clear line with exit status 2 for
every expected error."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.passwords import verify_password


def run_cli(
    var_dir: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
    clean.update(SWITCHBOARD_VAR_DIR=str(var_dir), SWITCHBOARD_LOG_LEVEL="WARNING")
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        input=stdin,
        env=clean,
        cwd=var_dir.parent,  # away from any .env file of the checkout
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def query(var_dir: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(var_dir / "switchboard.db") as connection:
        return connection.execute(sql, params).fetchall()


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    """A migrated state folder."""
    folder = tmp_path / "var"
    result = run_cli(folder, "migrate")
    assert result.returncode == 0, result.stderr
    yield folder


def test_migrate_builds_the_schema(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    result = run_cli(folder, "migrate")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    tables = {name for (name,) in query(folder, "SELECT name FROM sqlite_master")}
    assert {"organizations", "agents", "knowledge_entries", "alembic_version"} <= tables
    again = run_cli(folder, "migrate")
    assert again.returncode == 0, again.stderr


def test_org_create_prints_the_widget_key_and_embed_snippet(var_dir: Path) -> None:
    result = run_cli(
        var_dir,
        "org", "create", "acme", "Acme Outdoor",
        "--origin", "https://Shop.Example.com:443/",
        "--origin", "http://localhost:3000",
        SWITCHBOARD_PUBLIC_URL="https://support.example.com/",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # the whole line: a key may end in "-", after which \b finds no word boundary
    key = re.search(r"^Widget key: (pk_[A-Za-z0-9_-]{24})$", result.stdout, re.MULTILINE)
    assert key, result.stdout
    snippet = (
        f'<script src="https://support.example.com/widget.js" data-key="{key.group(1)}" async>'
        "</script>"
    )
    assert snippet in result.stdout
    [(name, widget_key, origins)] = query(
        var_dir,
        "SELECT name, widget_key, allowed_origins FROM organizations WHERE slug = ?",
        "acme",
    )
    assert (name, widget_key) == ("Acme Outdoor", key.group(1))
    assert json.loads(str(origins)) == ["https://shop.example.com", "http://localhost:3000"]


def test_duplicate_org_is_refused_with_a_clear_message(var_dir: Path) -> None:
    assert run_cli(var_dir, "org", "create", "acme", "Acme").returncode == 0
    result = run_cli(var_dir, "org", "create", "acme", "Another Acme")
    assert_clean_error(result, "organization", "'acme'", "already exists")
    assert query(var_dir, "SELECT name FROM organizations") == [("Acme",)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["org", "create", "Bad Slug", "X"], "invalid organization slug"),
        (["org", "create", "ok-slug", "X", "--origin", "shop.example.com"], "invalid origin"),
        (["kb", "load", "nowhere", "faq.md"], "no organization with slug 'nowhere'"),
    ],
)
def test_bad_input_is_one_line_with_status_2(var_dir: Path, args: list[str], message: str) -> None:
    assert_clean_error(run_cli(var_dir, *args), message)


def test_agent_create_reads_the_password_from_stdin(var_dir: Path) -> None:
    assert run_cli(var_dir, "org", "create", "acme", "Acme").returncode == 0
    result = run_cli(
        var_dir,
        "agent", "create", "acme", "Dana@Example.COM", "Dana Scully",
        "--role", "admin", "--team", "Billing", "--team", "Returns", "--password-stdin",
        stdin="correct horse battery\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "dana@example.com" in result.stdout
    assert "correct horse battery" not in result.stdout + result.stderr
    [(agent_id, name, role, password_hash)] = query(
        var_dir, "SELECT id, name, role, password_hash FROM agents WHERE email = ?",
        "dana@example.com",
    )  # fmt: skip
    assert (name, role) == ("Dana Scully", "admin")
    assert verify_password(str(password_hash), "correct horse battery")
    teams = query(
        var_dir,
        "SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id"
        " WHERE m.agent_id = ? ORDER BY t.name",
        agent_id,
    )
    assert teams == [("Billing",), ("Returns",)]

    second = run_cli(
        var_dir, "agent", "create", "acme", "Jo@example.com", "Jo", "--team", "Billing",
        "--password-stdin", stdin="another good password\n",
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert query(var_dir, "SELECT count(*) FROM teams") == [(2,)]  # reused, not duplicated

    duplicate = run_cli(
        var_dir, "agent", "create", "acme", "dana@example.com", "Dana", "--password-stdin",
        stdin="yet another password\n",
    )  # fmt: skip
    assert_clean_error(duplicate, "already exists")


def test_short_password_is_refused(var_dir: Path) -> None:
    assert run_cli(var_dir, "org", "create", "acme", "Acme").returncode == 0
    result = run_cli(
        var_dir, "agent", "create", "acme", "dana@example.com", "Dana", "--password-stdin",
        stdin="short\n",
    )  # fmt: skip
    assert_clean_error(result, "at least 10 characters")
    assert query(var_dir, "SELECT count(*) FROM agents") == [(0,)]


def test_bad_role_and_email_are_refused(var_dir: Path) -> None:
    assert run_cli(var_dir, "org", "create", "acme", "Acme").returncode == 0
    bad_email = run_cli(
        var_dir, "agent", "create", "acme", "not-an-email", "Dana", "--password-stdin",
        stdin="long enough password\n",
    )  # fmt: skip
    assert_clean_error(bad_email, "invalid email address")
    bad_role = run_cli(
        var_dir, "agent", "create", "acme", "d@example.com", "Dana", "--role", "owner",
        "--password-stdin", stdin="long enough password\n",
    )  # fmt: skip
    assert bad_role.returncode == 2  # argparse refuses it before anything runs
    assert "invalid choice" in bad_role.stderr


def test_kb_load_stores_the_entries(var_dir: Path, tmp_path: Path) -> None:
    assert run_cli(var_dir, "org", "create", "acme", "Acme").returncode == 0
    faq = tmp_path / "faq.md"
    faq.write_text(
        "# Acme help\n\nIntro text.\n\n"
        "## Opening hours\nWe are open 9:00 to 17:00, Monday to Friday.\n\n"
        "## Returns\nReturn unworn items within 30 days for a full refund.\n"
    )
    result = run_cli(var_dir, "kb", "load", "acme", str(faq))
    assert result.returncode == 0, result.stderr
    assert "2 knowledge entries" in result.stdout
    rows = query(var_dir, "SELECT source, title FROM knowledge_entries ORDER BY id")
    assert rows == [("faq.md", "Opening hours"), ("faq.md", "Returns")]

    extra = tmp_path / "shipping.md"
    extra.write_text("## Shipping\nOrders ship within two working days.\n")
    appended = run_cli(var_dir, "kb", "load", "acme", str(extra), "--append")
    assert appended.returncode == 0, appended.stderr
    assert query(var_dir, "SELECT count(*) FROM knowledge_entries") == [(3,)]

    replaced = run_cli(var_dir, "kb", "load", "acme", str(extra))
    assert replaced.returncode == 0, replaced.stderr
    assert query(var_dir, "SELECT title FROM knowledge_entries") == [("Shipping",)]

    empty = tmp_path / "empty.md"
    empty.write_text("")
    assert_clean_error(run_cli(var_dir, "kb", "load", "acme", str(empty)), "empty")
    assert query(var_dir, "SELECT title FROM knowledge_entries") == [("Shipping",)]


def test_worker_without_redis_url_names_the_variable(var_dir: Path) -> None:
    assert_clean_error(run_cli(var_dir, "worker"), "SWITCHBOARD_REDIS_URL")


def test_serve_without_redis_url_names_the_variable(var_dir: Path) -> None:
    assert_clean_error(run_cli(var_dir, "serve"), "SWITCHBOARD_REDIS_URL")


def test_invalid_setting_is_named(var_dir: Path) -> None:
    result = run_cli(var_dir, "migrate", SWITCHBOARD_LOG_LEVEL="loud")
    assert_clean_error(result, "SWITCHBOARD_LOG_LEVEL")


def test_admin_command_on_a_new_database_suggests_migrate(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "fresh", "org", "create", "acme", "Acme")
    assert_clean_error(result, "switchboard migrate")
