"""`switchboard mailbox add/list/edit/remove` as real subprocesses: the IMAP password is
read from stdin, stored, and never printed; an edit changes only what it names and is
checked as an addition is; bad input is one clear line with status 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.test_cli import assert_clean_error, query, run_cli

SECRET = "imap-secret-4711"


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "var"
    assert run_cli(folder, "migrate").returncode == 0
    assert run_cli(folder, "org", "create", "shop", "Shop").returncode == 0
    yield folder


def test_add_list_and_remove_a_mailbox_without_showing_the_password(var_dir: Path) -> None:
    added = run_cli(
        var_dir,
        "mailbox",
        "add",
        "shop",
        "Support@Shop.example",
        "--imap-host",
        "imap.shop.example",
        "--password-stdin",
        stdin=SECRET + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "support@shop.example" in added.stdout
    listed = run_cli(var_dir, "mailbox", "list", "shop")
    assert "support@shop.example\tSMTP + IMAP support@shop.example@imap.shop.example:993/INBOX" in (
        listed.stdout
    )
    for output in (added.stdout + added.stderr, listed.stdout + listed.stderr):
        assert SECRET not in output
    assert query(var_dir, "SELECT imap_password FROM email_mailboxes") == [(SECRET,)]
    again = run_cli(var_dir, "mailbox", "add", "shop", "support@shop.example")
    assert_clean_error(again, "already registered")

    edited = run_cli(
        var_dir,
        "mailbox",
        "edit",
        "support@shop.example",
        "--imap-folder",
        "Support",
        "--imap-plain",
        "--no-smtp",
        "--password-stdin",
        stdin="new-" + SECRET + "\n",
    )
    assert edited.returncode == 0, edited.stderr
    assert "IMAP intake reads Support at imap.shop.example:143" in edited.stdout
    assert SECRET not in edited.stdout + edited.stderr
    assert query(
        var_dir,
        "SELECT imap_folder, imap_port, smtp_enabled, imap_password FROM email_mailboxes",
    ) == [("Support", 143, False, "new-" + SECRET)]
    clash = run_cli(
        var_dir, "mailbox", "edit", "support@shop.example", "--imap-sent-folder", "Support"
    )
    assert_clean_error(clash, "must differ from the folder read")
    removed = run_cli(var_dir, "mailbox", "remove", "support@shop.example")
    assert removed.returncode == 0 and "Removed" in removed.stdout
    assert_clean_error(run_cli(var_dir, "mailbox", "remove", "support@shop.example"), "no mailbox")


@pytest.mark.parametrize(
    ("address", "message"),
    [("not-an-address", "not a plain email address"), ("a+tag@shop.example", "not a plain")],
)
def test_bad_addresses_are_refused(var_dir: Path, address: str, message: str) -> None:
    assert_clean_error(run_cli(var_dir, "mailbox", "add", "shop", address), message)
