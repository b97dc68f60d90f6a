"""The real sidecar as a separate process (`refunder serve`, gunicorn) on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving_sidecar(settings: dict[str, str], log: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield (base URL, environment) of a started sidecar; the environment suits other `refunder` commands.

    On leaving, the sidecar is stopped and must exit cleanly.
    """
    env = {**os.environ, **settings, "REFUNDER_BIND": f"127.0.0.1:{free_port()}"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "refunder.cli", "serve"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = "http://" + env["REFUNDER_BIND"]
    for _ in range(150):
        try:
            if requests.get(url + "/health", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("sidecar did not start:\n" + log.read_text())
    try:
        yield url, env
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, log.read_text()[-3000:]
