"""The secret key `switchboard up` keeps in its state folder: made once, readable by its
owner only, kept across restarts, and read back by every later process."""

from __future__ import annotations

import stat
from pathlib import Path

from gateway.settings import SECRET_KEY_FILE, ensure_secret_key, load_settings


def test_the_key_is_made_once_owner_only_and_read_back(tmp_path: Path) -> None:
    made = ensure_secret_key(load_settings(var_dir=tmp_path, secret_key=None))
    stored = tmp_path / SECRET_KEY_FILE
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert made.secret_key is not None
    key = made.secret_key.get_secret_value()
    assert len(key) >= 48

    again = ensure_secret_key(made.model_copy(update={"secret_key": None}))
    assert again.secret_key is not None and again.secret_key.get_secret_value() == key
    later = load_settings(var_dir=tmp_path, secret_key=None)
    assert later.secret_key is not None and later.secret_key.get_secret_value() == key
