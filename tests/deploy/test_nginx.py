"""The production layout for real: docker/nginx.conf in a private nginx (Debian's, scripts/nginx.sh) in front
of `refunder serve` (gunicorn), both on loopback.

Slow clients (issue 12): 64 connections trickling a byte every 2 s, against gunicorn's 2 x 4 threads.
Behind nginx, signed pings keep answering; against bare gunicorn the same attack stops them, which shows
the measurement can fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import SECRET, signed
from tests.fakes.sidecar import chunked, free_port, raw_request, serving_sidecar
from tests.sidecar.helpers import ACTOR, refund_body

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "docker" / "nginx.conf"
ATTACKERS = 64
TRICKLE_EVERY = 2.0


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    found = subprocess.run([str(ROOT / "scripts" / "nginx.sh")], check=True, capture_output=True, text=True,
                           timeout=600)
    return found.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("nginx-sidecar")
    settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": f"sqlite:///{data / 'ledger.db'}",
                "REFUNDER_PROVIDERS": "manual", "REFUNDER_WORKERS": "2", "REFUNDER_THREADS": "4",
                "REFUNDER_TRUSTED_PROXIES": "1"}
    with serving_sidecar(settings, data / "sidecar.log") as (url, _):
        yield url


@contextmanager
def serving_nginx(binary: str, upstream: str, directory: Path) -> Iterator[str]:
    """A private nginx (own prefix, pid file, logs and temporary directories) running docker/nginx.conf."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = CONFIG.read_text()
    assert "server sidecar:8765;" in config and "listen 8080;" in config
    (directory / "refunder.conf").write_text(config.replace("server sidecar:8765;", f"server {upstream};")
                                             .replace("listen 8080;", f"listen 127.0.0.1:{port};"))
    temp = " ".join(f"{kind}_temp_path {directory / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
    (directory / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'} warn;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{ access_log off; {temp} include {directory / 'refunder.conf'}; }}\n")
    process = subprocess.Popen([binary, "-p", str(directory), "-e", str(directory / "error.log"),
                                "-c", str(directory / "nginx.conf"), "-g", "daemon off;"])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError("nginx did not start:\n" + (directory / "error.log").read_text())
    try:
        yield url
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful stop
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def proxy(nginx_binary: str, sidecar: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_nginx(nginx_binary, sidecar.removeprefix("http://"), tmp_path_factory.mktemp("nginx")) as url:
        yield url


def call(url: str, method: str, target: str, body: object = None, headers: dict[str, str] | None = None,
         timeout: float = 10) -> requests.Response:
    data = json.dumps(body).encode() if body is not None else b""
    return requests.request(method, url + target, data=data, timeout=timeout,
                            headers=signed(SECRET, method, target, data, datetime.now(UTC), headers))


# --- the shipped configuration works ----------------------------------------------------------------

def test_signed_calls_pass_through_nginx_unchanged(proxy: str) -> None:
    payment = call(proxy, "POST", "/v1/payments", {
        "provider": "manual", "reference": "nginx-1", "order_id": "1", "captured": {"value": 10000,
                                                                                    "currency": "NOK"},
        "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR}).json()
    target = f"/v1/payments/{payment['id']}/refunds"
    created = call(proxy, "POST", target, refund_body(1000, bank_reference="B1"), {"Idempotency-Key": "nginx-k-1"})
    assert created.status_code == 201, created.text
    body = json.dumps(refund_body(500, bank_reference="B2")).encode()  # chunked: nginx buffers it whole
    headers = signed(SECRET, "POST", target, body, datetime.now(UTC), {"Idempotency-Key": "nginx-k-2"})
    assert raw_request(proxy, chunked("POST", target, headers, body, chunk=5)).status == 201
    duplicate = body.replace(b"B2", b"B3")
    headers = signed(SECRET, "POST", target, duplicate, datetime.now(UTC), {"Idempotency-Key": "nginx-3,nginx-4"})
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k != "Idempotency-Key")
    answer = raw_request(proxy, (f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(duplicate)}\r\n{lines}"
                                 "Idempotency-Key: nginx-3\r\nIdempotency-Key: nginx-4\r\n\r\n").encode() + duplicate)
    assert answer.status == 400 and answer.json()["code"] == "duplicate_header"
    assert call(proxy, "GET", f"/v1/payments/{payment['id']}").json()["refunded"]["value"] == 1500


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    (chunked("POST", "/webhooks/stripe", {}, b"x" * (64 * 1024 + 1)), 413, "request_too_large"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
], ids=["body", "headers"])
def test_nginxs_own_refusals_are_problem_documents(proxy: str, request_bytes: bytes, status: int,
                                                   code: str) -> None:
    answer = raw_request(proxy, request_bytes)
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code


def test_a_sidecar_that_is_down_is_a_503_problem_with_retry_after(nginx_binary: str, tmp_path: Path) -> None:
    with serving_nginx(nginx_binary, f"127.0.0.1:{free_port()}", tmp_path / "nginx") as url:
        answer = requests.get(url + "/v1/ping", timeout=10)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "10"
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "service_unavailable"


# --- slow clients -------------------------------------------------------------------------------------

@contextmanager
def trickling(url: str, connections: int = ATTACKERS) -> Iterator[None]:
    """Slow clients: half send their headers a byte at a time, half their body; one byte every 2 s each."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sockets, stop = [], threading.Event()
    for i in range(connections):
        s = socket.create_connection((host, int(port)), timeout=5)
        if i % 2:
            s.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        else:
            s.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\n")
        sockets.append(s)

    def trickle() -> None:
        while not stop.wait(TRICKLE_EVERY):
            for s in sockets:
                try:
                    s.send(b"X" if sockets.index(s) % 2 == 0 else b" ")
                except OSError:
                    pass  # cut off (nginx's client_header_timeout): that is the point

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(1)  # every attacker connected and holding on
        yield
    finally:
        stop.set()
        thread.join()
        for s in sockets:
            s.close()


def ping_latencies(url: str, seconds: float = 10, every: float = 0.25, timeout: float = 3) -> list[float | None]:
    """Signed pings for `seconds`: each one's latency, or None when it failed or took over `timeout`."""
    found: list[float | None] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            ok = call(url, "GET", "/v1/ping", timeout=timeout).status_code == 200
        except requests.RequestException:
            ok = False
        found.append(time.monotonic() - start if ok else None)
        time.sleep(max(0.0, every - (time.monotonic() - start)))
    return found


def summary(latencies: list[float | None]) -> str:
    answered = sorted(x for x in latencies if x is not None)
    if not answered:
        return f"{len(latencies)} pings, none answered"
    p50, p99 = statistics.median(answered), answered[min(len(answered) - 1, int(len(answered) * 0.99))]
    return (f"{len(latencies)} pings, {len(latencies) - len(answered)} unanswered within 3 s, "
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")


def test_slow_clients_do_not_stop_signed_pings_behind_nginx(proxy: str) -> None:
    print(f"\nbehind nginx, no attack: {summary(ping_latencies(proxy, seconds=3))}")
    with trickling(proxy):
        latencies = ping_latencies(proxy)
    print(f"behind nginx, {ATTACKERS} slow clients: {summary(latencies)}")
    assert None not in latencies
    assert max(x for x in latencies if x is not None) < 1.5


def test_the_same_slow_clients_stop_bare_gunicorn(sidecar: str) -> None:
    """The control: without nginx the attack works, so the test above could fail."""
    with trickling(sidecar):
        latencies = ping_latencies(sidecar)
    print(f"\nbare gunicorn, {ATTACKERS} slow clients: {summary(latencies)}")
    assert latencies.count(None) >= len(latencies) // 2
    assert requests.get(sidecar + "/health", timeout=10).status_code == 200  # and it recovers once they leave
