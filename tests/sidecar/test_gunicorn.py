"""The sidecar as it runs in production: `refunder serve` (gunicorn, several worker processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy

from refunder import signing
from refunder.ledger.database import Database
from refunder.money import Money
from refunder.providers.simulator import SimulatorProvider
from tests.conftest import BACKENDS, SECRET, fresh_database, signed
from tests.fakes.sidecar import chunked, raw_request, serving_sidecar
from tests.sidecar.helpers import ACTOR, refund_body

pytestmark = pytest.mark.slow


class Sidecar:
    def __init__(self, url: str, simulator: SimulatorProvider, database_url: str) -> None:
        self.url, self.simulator, self.database_url = url, simulator, database_url
        self.http = requests.Session()

    def call(self, method: str, target: str, body: Any = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        data = json.dumps(body).encode() if body is not None else b""
        return requests.request(method, self.url + target, data=data, timeout=30,
                                headers=signed(SECRET, method, target, data, datetime.now(UTC), headers))


@pytest.fixture(scope="module", params=BACKENDS)
def sidecar(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    data = tmp_path_factory.mktemp("gunicorn")
    with fresh_database(request.param, data) as database_url:
        yield from _serve(data, database_url)


def _serve(data: Path, database_url: str) -> Iterator[Sidecar]:
    settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": database_url,
                "REFUNDER_PROVIDERS": "manual,simulator", "REFUNDER_SIMULATOR_PATH": str(data / "sim.db"),
                "REFUNDER_WORKERS": "3"}
    with serving_sidecar(settings, data / "sidecar.log") as (url, _):
        yield Sidecar(url, SimulatorProvider(data / "sim.db", lambda: datetime.now(UTC)), database_url)
    output = (data / "sidecar.log").read_text()
    assert SECRET not in output
    assert "Traceback" not in output


def paid(sidecar: Sidecar, reference: str, captured: int) -> dict[str, Any]:
    sidecar.simulator.add_payment(reference, Money(captured, "NOK"), datetime.now(UTC) - timedelta(days=1))
    response = sidecar.call("POST", "/v1/payments", {
        "provider": "simulator", "reference": reference, "order_id": reference,
        "captured": {"value": captured, "currency": "NOK"}, "paid_at": "2026-01-01T00:00:00+00:00", "actor": ACTOR})
    assert response.status_code == 200, response.text
    return response.json()


def test_health_and_spec(sidecar: Sidecar) -> None:
    assert requests.get(sidecar.url + "/health", timeout=5).json()["status"] == "ok"
    assert "/v1/payments" in requests.get(sidecar.url + "/openapi.json", timeout=5).json()["paths"]
    assert requests.get(sidecar.url + "/v1/ping", timeout=5).status_code == 401
    assert sidecar.call("GET", "/v1/ping").status_code == 200


def test_refund_end_to_end(sidecar: Sidecar) -> None:
    payment = paid(sidecar, "gu-e2e", 100000)
    target = f"/v1/payments/{payment['id']}/refunds"
    created = sidecar.call("POST", target, refund_body(25000), {"Idempotency-Key": "gunicorn-e2e-1"})
    assert created.status_code == 201 and created.json()["status"] == "refunded"
    replay = sidecar.call("POST", target, refund_body(25000), {"Idempotency-Key": "gunicorn-e2e-1"})
    assert replay.status_code == 200 and replay.json()["id"] == created.json()["id"]
    over = sidecar.call("POST", target, refund_body(75001), {"Idempotency-Key": "gunicorn-e2e-2"})
    assert over.status_code == 422 and over.headers["Content-Type"] == "application/problem+json"
    summary = sidecar.call("GET", f"/v1/payments/{payment['id']}").json()
    assert summary["refundable"] == {"value": 75000, "currency": "NOK", "exponent": 2}


def test_a_refunds_lock_is_freed_once_its_answer_is_sent(sidecar: Sidecar) -> None:
    """The sender frees its refund's lock after writing the answer (PostgreSQL: on the request's connection, left
    for after the response): the lock is then free for the follow-up, and the connection, given back to the
    worker's pool, serves the next requests (a connection dropped instead would free the lock too)."""
    payment = paid(sidecar, "gu-lock", 100000)
    refunds = f"/v1/payments/{payment['id']}/refunds"
    assert sidecar.call("POST", refunds, refund_body(1000), {"Idempotency-Key": "gunicorn-lock-0"}).status_code == 201
    serving = _sidecar_sessions(sidecar.database_url)
    for n in range(1, 13):
        created = sidecar.call("POST", refunds, refund_body(1000), {"Idempotency-Key": f"gunicorn-lock-{n}"})
        assert created.status_code == 201, created.text
    assert serving <= _sidecar_sessions(sidecar.database_url)
    db = Database.from_url(sidecar.database_url)
    try:
        with db.refund_lock(created.json()["id"]) as taken:
            assert taken
    finally:
        db.dispose()


def _sidecar_sessions(database_url: str) -> set[int]:
    """PostgreSQL: the server sessions of the sidecar's connections (SQLite: none)."""
    if not database_url.startswith("postgresql"):
        return set()
    engine = sqlalchemy.create_engine(database_url, poolclass=sqlalchemy.NullPool)
    with engine.connect() as connection:
        return set(connection.execute(sqlalchemy.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'")).scalars())


def test_replay_is_caught_by_any_worker(sidecar: Sidecar) -> None:
    headers = signing.signed_headers(SECRET, "GET", "/v1/ping", b"", int(time.time()))
    codes = [requests.get(sidecar.url + "/v1/ping", headers=headers, timeout=5).status_code for _ in range(6)]
    assert codes == [200, 401, 401, 401, 401, 401]


def test_parallel_refunds_across_processes(sidecar: Sidecar) -> None:
    payment = paid(sidecar, "gu-parallel", 10000)
    target = f"/v1/payments/{payment['id']}/refunds"
    with ThreadPoolExecutor(12) as pool:
        distinct = list(pool.map(
            lambda i: sidecar.call("POST", target, refund_body(3000), {"Idempotency-Key": f"gu-par-{i:04d}"}),
            range(12)))
        same = list(pool.map(
            lambda i: sidecar.call("POST", target, refund_body(1000), {"Idempotency-Key": "gu-par-same"}),
            range(12)))
    assert sorted(r.status_code for r in distinct) == [201] * 3 + [422] * 9
    assert sorted(r.status_code for r in same) == [200] * 11 + [201]
    assert len({r.json()["id"] for r in same}) == 1
    summary = sidecar.call("GET", f"/v1/payments/{payment['id']}").json()
    assert summary["refunded"]["value"] == 10000 and summary["refundable"]["value"] == 0
    with sidecar.simulator._db() as db:
        assert db.execute("SELECT refunded FROM payments WHERE reference='gu-parallel'").fetchone() == (10000,)


def test_other_processes_see_what_the_workers_wrote(sidecar: Sidecar, tmp_path: Path) -> None:
    """Writes of the gunicorn workers are visible to `refunder reconcile`/`worker` processes and back."""
    payment = paid(sidecar, "gu-processes", 5000)
    env = {**os.environ, "REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": sidecar.database_url,
           "REFUNDER_PROVIDERS": "manual,simulator", "REFUNDER_SIMULATOR_PATH": str(sidecar.simulator.path)}
    check = ("import sys; from refunder.ledger.database import Database; from refunder.ledger.models import Refund;"
             "refund = Database.from_url(sys.argv[1])._sessions().get(Refund, sys.argv[2]);"
             "print(refund.status if refund else 'missing')")
    for attempt in range(3):  # another process opens and closes the ledger between the workers' writes
        subprocess.run([sys.executable, "-m", "refunder.cli", "reconcile"], env=env, check=True, timeout=60,
                       capture_output=True)
        created = sidecar.call("POST", f"/v1/payments/{payment['id']}/refunds", refund_body(1000),
                               {"Idempotency-Key": f"gu-processes-{attempt}"}).json()
        seen = subprocess.run([sys.executable, "-c", check, sidecar.database_url, created["id"]], env=env,
                              check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        assert seen == "refunded"


# --- bodies and requests gunicorn sees as they are sent ---------------------------------------------

LIMIT = 64 * 1024


def refunds_of(sidecar: Sidecar, payment: dict[str, Any]) -> list[dict[str, Any]]:
    return sidecar.call("GET", f"/v1/payments/{payment['id']}/refunds").json()["refunds"]


def test_a_chunked_body_is_read_whole_before_its_signature_is_checked(sidecar: Sidecar) -> None:
    """Issue 12: a body signed over its first 64 KiB, with garbage after, was cut to 64 KiB and accepted."""
    payment = paid(sidecar, "gu-chunked", 100000)
    target = f"/v1/payments/{payment['id']}/refunds"
    prefix = json.dumps(refund_body(1000)).encode()
    prefix += b" " * (LIMIT - len(prefix))  # valid JSON of exactly the limit, signed
    headers = signed(SECRET, "POST", target, prefix, datetime.now(UTC), {"Idempotency-Key": "gu-chunk-attack"})
    attack = raw_request(sidecar.url, chunked("POST", target, headers, prefix + b"\n" + b"x" * 1600))
    assert attack.status == 413 and attack.headers["content-type"] == "application/problem+json"
    assert attack.json()["code"] == "request_too_large"
    unsigned = raw_request(sidecar.url, chunked("POST", target, {"Content-Type": "application/json"},
                                                b"{" + b" " * LIMIT + b"}"))
    assert unsigned.status == 413, unsigned.body  # too large is said before anything else: not 401
    assert refunds_of(sidecar, payment) == []
    body = json.dumps(refund_body(1000)).encode()  # chunked and whole: accepted like any body
    headers = signed(SECRET, "POST", target, body, datetime.now(UTC), {"Idempotency-Key": "gu-chunk-fine"})
    fine = raw_request(sidecar.url, chunked("POST", target, headers, body, chunk=7))
    assert fine.status == 201, fine.body
    assert [r["amount"]["value"] for r in refunds_of(sidecar, payment)] == [1000]


def test_a_declared_length_over_the_limit_is_413_before_the_body_comes(sidecar: Sidecar) -> None:
    head = (f"POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {LIMIT + 1}\r\n\r\n").encode()
    answer = raw_request(sidecar.url, head)  # nothing of the body sent: the answer must not wait for it
    assert answer.status == 413 and answer.json()["code"] == "request_too_large"


def test_repeated_idempotency_key_headers_are_refused_on_the_wire(sidecar: Sidecar) -> None:
    payment = paid(sidecar, "gu-dup-key", 10000)
    target = f"/v1/payments/{payment['id']}/refunds"
    body = json.dumps(refund_body(1000)).encode()
    headers = signed(SECRET, "POST", target, body, datetime.now(UTC), {"Idempotency-Key": "gu-dup-1,gu-dup-2"})
    lines = [f"{k}: {v}" for k, v in headers.items() if k != "Idempotency-Key"]
    request = (f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n" + "\r\n".join(lines)
               + "\r\nIdempotency-Key: gu-dup-1\r\nIdempotency-Key: gu-dup-2\r\n\r\n").encode() + body
    answer = raw_request(sidecar.url, request)
    assert answer.status == 400 and answer.json()["code"] == "duplicate_header", answer.body
    assert refunds_of(sidecar, payment) == []


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    (b"GET /v1/ping?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n",
     431, "headers_too_large"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
    (b"NONSENSE\r\n\r\n", 400, "http_invalid"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nBad\x00Name: v\r\n\r\n", 400, "http_invalid"),
    (b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
     400, "http_invalid"),
], ids=["uri", "header-count", "header-size", "request-line", "header-name", "chunk-size"])
def test_gunicorns_own_refusals_are_problem_documents(sidecar: Sidecar, request_bytes: bytes, status: int,
                                                      code: str) -> None:
    answer = raw_request(sidecar.url, request_bytes)
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code and answer.json()["status"] == status
