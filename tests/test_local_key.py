"""The machine's own sealing key (no ROOMKEEPER_SECRET_KEY): made once, the same for every process.

Several ``roomkeeper dev`` processes (and the suite's parallel workers) may start at once on a machine
that has no key yet; each must end up with the one key that was kept, never an empty or a different one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from common.sealing import keys_from, local_key_file

READ_KEY = "from common.sealing import keys_from; print(keys_from(None)[0].decode())"


def test_the_key_is_made_once_and_kept(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    first = keys_from(None)
    assert keys_from(None) == first and len(first) == 1
    Fernet(first[0])
    assert local_key_file() == tmp_path / "roomkeeper" / "secret.key"
    assert local_key_file().read_bytes() == first[0] + b"\n"
    assert local_key_file().stat().st_mode & 0o777 == 0o600
    assert os.listdir(local_key_file().parent) == ["secret.key"]  # no draft left behind


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    env.pop("ROOMKEEPER_SECRET_KEY", None)
    processes = [
        subprocess.Popen([sys.executable, "-c", READ_KEY], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    kept = (tmp_path / "roomkeeper" / "secret.key").read_text().strip()
    assert keys == {kept}, keys
    Fernet(kept)
