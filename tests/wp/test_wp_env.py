"""scripts/wp-env.sh itself: an `up` that fails half-way leaves no server running."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.fakes.sidecar import free_port

ROOT = Path(__file__).resolve().parents[2]


def started_in(directory: Path) -> list[str]:
    """Command lines of the processes that run on the site's directory (its MariaDB, its PHP server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):  # ended meanwhile
            continue
        if str(directory) in line:
            found.append(line)
    return found


def test_an_up_that_fails_half_way_stops_what_it_started(tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("wordpress-failing")
    env = {**os.environ, "W": str(directory), "PORT": str(free_port()), "DBPORT": str(free_port()),
           "WC_SRC": str(directory.parent / "no-woocommerce-here")}  # fails after MariaDB and WordPress are up
    up = subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "up"], env=env, timeout=900, capture_output=True,
                        text=True)
    assert up.returncode != 0
    assert (directory / "run" / "mariadbd.pid").is_file()  # it got as far as starting MariaDB
    deadline = time.monotonic() + 10  # a stopped server may take a moment to exit
    while started_in(directory) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started_in(directory) == []
    assert "up failed" in up.stderr
