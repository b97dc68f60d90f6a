"""The real sidecar as a separate process (`refunder serve`, gunicorn) on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(url: str, data: bytes, timeout: float = 20) -> RawAnswer:
    """Send bytes as they are (chunked bodies, repeated headers, broken framing) and read one answer."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            received += _recv(connection)
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            body += _recv(connection)
    return RawAnswer(int(lines[0].split()[1]), headers, body[:length])


def _recv(connection: socket.socket) -> bytes:
    part = connection.recv(65536)
    if not part:
        raise ConnectionError("the server closed the connection before answering in full")
    return part


def chunked(method: str, target: str, headers: dict[str, str], body: bytes, chunk: int = 4096) -> bytes:
    """An HTTP/1.1 request with its body in chunks (Transfer-Encoding: chunked, no Content-Length)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked",
             *(f"{name}: {value}" for name, value in headers.items())]
    pieces = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + framed
