"""What the guard tests share: the shared Bitext file (needed to check the held-out split;
missing it skips those tests locally and fails them in CI), running the `switchboard`
command in a subprocess, and reading the figures `switchboard guard eval` prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from handoff.ai.guard.dataset import DEFAULT_BITEXT


def bitext_path() -> Path:
    if not DEFAULT_BITEXT.is_file():
        message = f"the Bitext data is not at {DEFAULT_BITEXT}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (required in CI)", pytrace=False)
        pytest.skip(message)
    return DEFAULT_BITEXT


def run_switchboard(
    tmp_path: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
    env.update(SWITCHBOARD_VAR_DIR=str(tmp_path / "var"), SWITCHBOARD_LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        input=stdin,
        env=env,
        cwd=tmp_path,  # away from any .env file of the checkout
        capture_output=True,
        timeout=120,
    )


def figure(report: str, name: str) -> float:
    """A number from the eval report, e.g. `figure(out, "precision")`."""
    match = re.search(rf"^{name}\s+([0-9.]+)", report, re.MULTILINE)
    assert match, f"no {name!r} figure in:\n{report}"
    return float(match.group(1))
