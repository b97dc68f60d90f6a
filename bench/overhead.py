"""Sidecar overhead: a refund through the sidecar (gunicorn, 2 workers × 4 threads) vs the same Stripe call made
directly, both to one loopback fake of Stripe (in its own process).

Prints, from one run:
- at concurrency 1, provider answering at once, a direct call and a refund through the sidecar taken in turn (so
  that both meet the machine at the same speed): p50/p99 of each, the overhead (sidecar minus direct) and its
  ratio to the targets (p50 ≤ 5 ms, p99 ≤ 15 ms on SQLite; p50 ≤ 7 ms on PostgreSQL), and the floor every
  signed call pays (a signed /v1/ping);
- the sidecar's own CPU milliseconds per refund: its processes' CPU time (gunicorn's master, workers and
  follow-up, from /proc) over those refunds, divided by their number; beside it the direct call's CPU time in
  this process, the same work every run: when it is higher, the machine is slower; and the caller's own CPU per
  refund through the sidecar (http.client on a kept connection, signing and JSON: about as lean as the plugin's
  cURL, so that the overhead is the sidecar's and not a Python HTTP library's);
- open loop: refunds arriving at a fixed rate (not waiting for each other) for a few seconds at each of rising
  rates, with the provider answering in 0 and in 100 ms; the highest rate whose p99 (arrival to answer) is
  at most 1 s.
A script, not a test; the machine's load (uptime) is printed with it, as it moves the figures:
    .venv/bin/python -m bench.overhead [--requests 400] [--database sqlite|postgresql|<url>] [--seconds 8]
("postgresql" starts the private server of scripts/postgres.sh.)
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import logging
import multiprocessing
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

from refunder.ledger.models import Base
from refunder.money import Money
from refunder.providers.base import RefundCall
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from tests.conftest import signed
from tests.fakes.server import serving
from tests.fakes.sidecar import serving_sidecar
from tests.fakes.stripe import FakeStripe
from tests.fakes.timing import Latency
from tests.sidecar.helpers import ORDER

SECRET = "bench-secret-0123456789-abcdefghijklmnop"
KEY, HOOK = "sk_test_bench", "whsec_bench"
PAYMENTS = [f"pi_bench{i:03d}" for i in range(50)]
ROOT = Path(__file__).resolve().parents[1]
RATES = (10, 20, 40, 60, 80, 100, 120, 150, 200)  # refunds a second, tried in turn until p99 is over 1 s
OPEN_LOOP_CALLERS = 256  # caller threads: enough that arrivals never wait for one below the rates tried


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(work: list[Callable[[], object]]) -> list[float]:
    """Milliseconds per call, one after another (concurrency 1)."""
    times = []
    for job in work:
        start = time.perf_counter()
        job()
        times.append((time.perf_counter() - start) * 1000)
    return times


def open_loop(work: Callable[[int], Callable[[], object]], rate: float, seconds: float) -> list[float]:
    """Calls arriving every 1/rate s whether or not earlier ones were answered: milliseconds from each call's
    arrival to its answer (time waiting for a free caller thread included, as a queue in front would)."""
    count = max(1, int(rate * seconds))
    began = time.perf_counter()

    def one(i: int) -> float:
        due = began + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        work(i)()
        return (time.perf_counter() - due) * 1000

    with ThreadPoolExecutor(OPEN_LOOP_CALLERS) as pool:
        return list(pool.map(one, range(count)))


def _serve_fake(pipe: Connection) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log
    fake = FakeStripe(KEY, HOOK, per_second=10**9)
    for pid in PAYMENTS:
        fake.add_payment(pid, 10**12)
    with serving(fake) as url:
        pipe.send(url)
        while (latency := pipe.recv()) != "stop":  # seconds each call takes from now on
            fake.timing.latency = Latency.fixed(latency)
            pipe.send("ok")


@contextmanager
def fake_stripe() -> Iterator[tuple[str, Callable[[float], None]]]:
    """The fake in a process of its own (it must not share the driver's interpreter lock): its URL, and a
    function that sets its latency."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve_fake, args=(theirs,), daemon=True)
    process.start()

    def set_latency(seconds: float) -> None:
        ours.send(seconds)
        ours.recv()

    try:
        yield ours.recv(), set_latency
    finally:
        ours.send("stop")
        process.join(10)


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and all its descendants, those that ended included (/proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(used.get(pid, 0.0) for pid in tree)


def sidecar_pid() -> int:
    """The `refunder serve` process this script started (gunicorn's master)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat, cmdline = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"refunder.cli\0serve" in cmdline:
                return int(entry.name)
    raise RuntimeError("no sidecar process found")


def database_url(choice: str, tmp: str, name: str = "") -> str:
    """A fresh ledger: SQLite in tmp, or on the private PostgreSQL server of scripts/postgres.sh ("postgresql"; a
    `name` gives it a database of its own there), or the URL given."""
    if choice == "sqlite":
        return f"sqlite:///{tmp}/ledger{name}.db"
    if choice == "postgresql":
        export = subprocess.run([str(ROOT / "scripts" / "postgres.sh")], check=True, capture_output=True,
                                text=True).stdout
        choice = export.strip().split("=", 1)[1]
        if name:
            server = create_engine(choice, isolation_level="AUTOCOMMIT")
            with server.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS bench_{name}"))
                connection.execute(text(f"CREATE DATABASE bench_{name}"))
            server.dispose()
            return choice.rsplit("/", 1)[0] + f"/bench_{name}"
        engine = create_engine(choice)
        with engine.begin() as connection:  # a fresh ledger each run
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
    return choice


def sidecar_settings(ledger: str, stripe_url: str) -> dict[str, str]:
    """The bench's sidecar: 2 workers, Stripe alone (the fake at stripe_url), its ledger at `ledger`."""
    return {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": ledger, "REFUNDER_PROVIDERS": "stripe",
            "REFUNDER_STRIPE_TEST_API_KEY": KEY, "REFUNDER_STRIPE_TEST_API_BASE": stripe_url, "REFUNDER_WORKERS": "2"}


class Caller:
    """Signed calls to one sidecar by http.client, a caller about as lean as the plugin's cURL (requests would
    spend about a millisecond of this process's CPU per call more, counted in the overhead): on a connection kept
    by the thread that made this caller (concurrency 1), else on a new one per call (open loop: the sidecar
    closes connections idle for 2 s, which callers that come and go would race)."""

    def __init__(self, url: str) -> None:
        address = urlsplit(url)
        self.host, self.port = address.hostname or "127.0.0.1", address.port
        self.owner, self.local = threading.current_thread(), threading.local()
        self.keys = itertools.count()

    def call(self, method: str, target: str, body: dict | None = None, headers: dict | None = None) -> dict:
        kept = threading.current_thread() is self.owner
        local = self.local
        if not kept or not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        data = json.dumps(body).encode() if body is not None else b""

        def send() -> http.client.HTTPResponse:
            local.connection.request(method, target, body=data, headers=signed(
                SECRET, method, target, data, datetime.now(UTC), headers))
            return local.connection.getresponse()

        try:
            answer = send()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if not kept:
                raise
            local.connection.close()  # the sidecar closed it while idle: once more on a new one
            answer = send()
        content = answer.read()
        if not kept:
            local.connection.close()
        if answer.status >= 400:
            raise RuntimeError(f"{method} {target}: {answer.status} {content[:200]!r}")
        return json.loads(content)

    def register_payments(self) -> list[str]:
        """The bench's Stripe payments registered at the sidecar as the plugin registers an order's, with the
        order's document (so every refund is issued its credit note): their ids there."""
        return [self.call("POST", "/v1/payments", {
            "provider": "stripe", "reference": pid, "mode": "test", "order_id": pid,
            "paid_at": "2026-11-20T10:00:00+00:00", "captured": {"value": 10**12, "currency": "NOK"},
            "actor": {"id": "1", "name": "bench"}, "document": ORDER})["id"]
            for pid in PAYMENTS]

    def refund(self, payment_id: str) -> Callable[[], object]:
        """A refund of 1,00 of a payment, with an idempotency key of its own."""
        key = f"bench-{next(self.keys)}-key"
        return lambda: self.call("POST", f"/v1/payments/{payment_id}/refunds", {
            "amount": {"value": 100, "currency": "NOK"}, "reason": "bench", "actor": {"id": "1", "name": "bench"}},
            {"Idempotency-Key": key})


def direct_refunds(stripe_url: str) -> Callable[[int], Callable[[], object]]:
    """The same Stripe refund made directly, by the provider module the sidecar uses."""
    direct = StripeProvider(StripeSettings(api_key=KEY, api_base=stripe_url), lambda: None)  # type: ignore
    keys = itertools.count()

    def straight(i: int) -> Callable[[], object]:
        key = f"rf_d{next(keys)}"
        return lambda: direct.refund(RefundCall(key, key, PAYMENTS[i % len(PAYMENTS)], Money(100, "NOK"), "bench"))

    return straight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql, or a database URL")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long each open-loop rate is kept up")
    args = parser.parse_args()
    with fake_stripe() as (stripe_url, set_latency), tempfile.TemporaryDirectory() as tmp:
        url_db = database_url(args.database, tmp)
        with serving_sidecar(sidecar_settings(url_db, stripe_url), Path(tmp) / "sidecar.log") as (url, _):
            caller = Caller(url)
            call = caller.call
            ids = caller.register_payments()
            straight = direct_refunds(stripe_url)

            def through_sidecar(i: int) -> Callable[[], object]:
                return caller.refund(ids[i % len(ids)])

            backend = url_db.split(":", 1)[0].split("+", 1)[0]
            target50 = 7.0 if backend == "postgresql" else 5.0
            print(f"sidecar: gunicorn, 2 workers × 4 threads, {backend}; Stripe fake on loopback (own process); "
                  f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
            timed([straight(i) for i in range(50)])  # warm up
            timed([through_sidecar(i) for i in range(50)])
            d, s, direct_cpu, caller_cpu = [], [], 0.0, 0.0
            pid = sidecar_pid()
            cpu_before = cpu_seconds(pid)
            for i in range(args.requests):  # taken in turn: both see the machine at the same speed
                began = time.thread_time()
                d += timed([straight(i)])
                direct_cpu += time.thread_time() - began
                began = time.thread_time()
                s += timed([through_sidecar(i)])
                caller_cpu += time.thread_time() - began
            cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / args.requests
            o50, o99 = percentile(s, 50) - percentile(d, 50), percentile(s, 99) - percentile(d, 99)
            print(f"concurrency 1, {args.requests} refunds each: direct p50 {percentile(d, 50):.2f} ms, p99 "
                  f"{percentile(d, 99):.2f} ms; through the sidecar p50 {percentile(s, 50):.2f} ms, p99 "
                  f"{percentile(s, 99):.2f} ms")
            print(f"overhead p50 {o50:.2f} ms (target {target50:g} ms: ×{o50 / target50:.2f}), p99 {o99:.2f} ms"
                  + ("" if backend == "postgresql" else f" (target 15 ms: ×{o99 / 15:.2f})"))
            print(f"sidecar CPU per refund: {cpu_ms:.2f} ms (its processes' CPU time over those {args.requests}); "
                  f"the direct call's own CPU: {direct_cpu * 1000 / args.requests:.2f} ms (this machine's speed now); "
                  f"the caller's CPU per refund through the sidecar: {caller_cpu * 1000 / args.requests:.2f} ms")
            ping = timed([lambda: call("GET", "/v1/ping") for _ in range(args.requests)])
            print(f"floor: a signed /v1/ping through the sidecar (HTTP hop, signature, nonce) "
                  f"p50 {percentile(ping, 50):.2f} ms, p99 {percentile(ping, 99):.2f} ms")
            for latency in (0.0, 0.1):
                set_latency(latency)
                best = None
                for rate in RATES:
                    took = open_loop(through_sidecar, rate, args.seconds)
                    p50, p99 = percentile(took, 50), percentile(took, 99)
                    print(f"  provider at {latency * 1000:g} ms, {rate} refunds/s for {args.seconds:g} s: "
                          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms (load {os.getloadavg()[0]:.2f})", flush=True)
                    if p99 > 1000:
                        break
                    best = rate
                print(f"open loop, provider at {latency * 1000:g} ms: sustains {best or '< ' + str(RATES[0])} "
                      f"refunds/s with p99 ≤ 1 s")


if __name__ == "__main__":
    main()
