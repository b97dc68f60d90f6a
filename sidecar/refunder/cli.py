"""`refunder` command: serve, migrate, demo, sign, reconcile, follow-up, worker."""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from . import signing
from .api.worker import SidecarWorker
from .app import create_app, utcnow
from .bulk import BulkRefunds
from .config import Settings
from .demo import seed
from .errors import ConfigurationError, RefunderError
from .ledger.database import Database, migrate
from .providers import build_providers
from .service import RefundService


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.settings)

    def run(self) -> None:
        _Arbiter(self).run()


class _Arbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, which also keeps `refunder follow-up` running beside the workers.

    The follow-up is a process of its own (no thread in the master or a worker), started again whenever it
    ends, and stopped with the workers. Several instances may each run one: refund locks keep them apart.
    """

    follow_up: subprocess.Popen[bytes] | None = None

    def manage_workers(self) -> None:
        super().manage_workers()
        every = self.app.settings.follow_up_every
        if every > 0 and (self.follow_up is None or self.follow_up.poll() is not None):
            self.follow_up = subprocess.Popen([sys.executable, "-m", "refunder.cli", "follow-up", "--every",
                                               str(every)])

    def stop(self, graceful: bool = True) -> None:
        super().stop(graceful)
        if self.follow_up is not None and self.follow_up.poll() is None:
            self.follow_up.send_signal(signal.SIGTERM)
            try:
                self.follow_up.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.follow_up.kill()


def _service(settings: Settings, db: Database | None = None) -> RefundService:
    return RefundService(db or Database.from_url(settings.database_url), build_providers(settings, utcnow), utcnow,
                         settings.provider_budget)


def serve(settings: Settings) -> None:
    """Migrate once, then run gunicorn; each worker builds its own app (no connections cross a fork)."""
    engine = Database.from_url(settings.database_url).engine
    migrate(engine)
    engine.dispose()  # an SQLite connection must not outlive a fork: its locks would lie to other processes
    _Gunicorn(settings, {
        "bind": settings.bind, "workers": settings.workers, "threads": settings.threads,
        "worker_class": SidecarWorker, "accesslog": "-", "graceful_timeout": 10,
        "timeout": 60, "forwarded_allow_ips": "127.0.0.1", "control_socket": control_socket(settings.bind),
    }).run()


def control_socket(bind: str) -> str:
    """gunicorn's control socket (`gunicornc -s PATH`) for the sidecar bound to `bind`.

    gunicorn's default is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl), so a second sidecar of the same
    user took the first one's socket, and removed it when it stopped. A bind address is one sidecar's on a
    host: its socket is named after it, in gunicorn's own directory.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    directory = Path(runtime) if runtime and os.path.isdir(runtime) else Path.home() / ".gunicorn"
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", bind).strip("_")
    if len(name) > 48:  # a socket's whole path must stay under 108 bytes
        name = hashlib.sha256(bind.encode()).hexdigest()[:16]
    return str(directory / f"refunder-{name}.ctl")


def demo(env: os._Environ[str]) -> None:
    """Seed demo data and serve it; the settings go into the environment, where `refunder follow-up` finds them."""
    data = Path(env.get("REFUNDER_DEMO_DIR", "var/demo"))
    for old in ("ledger.db", "simulator.db"):  # every demo starts from the same bookings
        for path in data.glob(old + "*"):
            if path.is_dir():  # ledger.db.refunds: refund locks
                shutil.rmtree(path)
            else:
                path.unlink()
    data.mkdir(parents=True, exist_ok=True)
    secret_file = data / "shared-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    env.setdefault("REFUNDER_SHARED_SECRET", secret_file.read_text().strip())
    env.setdefault("REFUNDER_DATABASE_URL", f"sqlite:///{data / 'ledger.db'}")
    env.setdefault("REFUNDER_SIMULATOR_PATH", str(data / "simulator.db"))
    env.setdefault("REFUNDER_PROVIDERS", "manual,simulator")
    settings = Settings.load(env)
    db = Database.from_url(settings.database_url)
    migrate(db.engine)
    service = _service(settings, db)
    views = seed(service, utcnow)
    db.engine.dispose()  # before gunicorn forks
    url = f"http://{settings.bind}"
    body = '{"amount":{"value":25000,"currency":"NOK"},"reason":"Appointment cancelled",' \
           '"actor":{"id":"1","name":"demo"}}'
    first = views[0][0].payment.id
    target = f"/v1/payments/{first}/refunds"
    print(f"""
Refunder sidecar demo: {url}  (ledger {settings.database_url}, shared secret in {secret_file})
Demo bookings (simulated provider unless noted):""")
    for view, note in views:
        p = view.payment
        print(f"  order {p.order_id}  {p.id}  {view.balance.refundable} captured  - {note}")
    print(f"""
Every /v1 call is signed; `refunder sign` prints the curl headers. Try a partial refund of 250.00 NOK:

  export REFUNDER_SHARED_SECRET=$(cat {secret_file})
  BODY='{body}'
  KEY=$(python3 -c 'import uuid; print(uuid.uuid4())')   # one per reviewed refund; retries reuse it
  curl -s {url}{target} $(.venv/bin/refunder sign --idempotency-key "$KEY" POST {target} "$BODY") -d "$BODY"

Then see what is left and the audit trail:

  curl -s {url}/v1/payments/{first} $(.venv/bin/refunder sign GET /v1/payments/{first})
  curl -s {url}/v1/payments/{first}/events $(.venv/bin/refunder sign GET /v1/payments/{first}/events)

API description: {url}/openapi.json   Stop with Ctrl-C.
""", flush=True)
    serve(settings)


def reconcile(settings: Settings, every: float | None) -> None:
    """Once, or every N seconds until stopped (for cron, systemd or a compose service)."""
    service = _service(settings)
    while True:
        report = service.reconciler.reconcile()
        final = sum(r.status in ("refunded", "failed") for r in report.refreshed)
        print(f"reconciled {len(report.refreshed)} refunds ({final} now final); "
              f"{len(report.discovered)} made outside Refunder recorded", flush=True)
        if every is None:
            return
        time.sleep(every)


def follow_up(settings: Settings, every: float) -> None:
    """Read back refunds in flight as they fall due, every few seconds, until stopped (`serve` runs it)."""
    service = _service(settings)
    log = logging.getLogger("refunder.follow_up")
    while True:
        try:
            read = service.reconciler.follow_up()
        except RefunderError as exc:  # e.g. the ledger is down: the next round tries again
            log.warning("follow-up round failed: %s", exc.message)
            read = []
        except Exception:  # a bug must not end the follow-up: the next round tries again
            log.exception("follow-up round failed")
            read = []
        for refund in read:
            if refund.status in ("refunded", "failed"):
                log.info("refund %s read back: %s", refund.id, refund.status)
        time.sleep(every)


def worker(settings: Settings, once: bool) -> None:
    """Work through bulk refunds; with --once, stop when nothing is due (several workers share the pace).

    Its senders and pacers (one per provider) may each hold a ledger connection; on PostgreSQL each refund
    under way also holds its refund lock's connection (ledger.locks)."""
    threads = settings.bulk_in_flight + len(settings.providers)
    service = _service(settings, Database.from_url(settings.database_url, connections=threads))
    runner = BulkRefunds(service, in_flight=settings.bulk_in_flight)
    while True:
        sent = runner.work()
        if sent:
            print(f"bulk refunds: {sent} items worked through", flush=True)
        if once:
            return
        time.sleep(2)


def sign(method: str, target: str, body: str, secret: str, idempotency_key: str | None = None) -> str:
    """curl -H arguments, signature v2 over Content-Type (application/json) and the Idempotency-Key if given."""
    headers = signing.signed_headers(secret, method, target, body.encode(), int(time.time()),
                                     idempotency_key=idempotency_key)
    return " ".join(f"-H {k}:{v}" for k, v in headers.items())  # no spaces: safe in $(...)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refunder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the sidecar under gunicorn (settings from REFUNDER_* / REFUNDER_CONFIG)")
    sub.add_parser("migrate", help="bring the ledger schema up to date")
    sub.add_parser("demo", help="SQLite ledger + simulator provider + demo bookings, then serve")
    p_reconcile = sub.add_parser("reconcile", help="read back unfinished refunds; record refunds made elsewhere")
    p_reconcile.add_argument("--every", type=float, default=None, metavar="SECONDS", help="repeat until stopped")
    p_follow = sub.add_parser("follow-up", help="read back refunds in flight as they fall due (serve runs it)")
    p_follow.add_argument("--every", type=float, default=None, metavar="SECONDS", help="between rounds")
    p_worker = sub.add_parser("worker", help="work through bulk refunds at each provider's pace")
    p_worker.add_argument("--once", action="store_true", help="stop when nothing is due")
    p_sign = sub.add_parser("sign", help="print curl -H arguments that sign a request")
    p_sign.add_argument("method")
    p_sign.add_argument("target", help="path and query, e.g. /v1/payments/pay_x")
    p_sign.add_argument("body", nargs="?", default="")
    p_sign.add_argument("--idempotency-key", metavar="KEY", help="sign and send this Idempotency-Key (refunds)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # stripe-python logs two INFO lines per call (request, answer): written on every refund, and saying less
    # than the access log and our own warnings (http.with_retries) do; its warnings and errors still show.
    logging.getLogger("stripe").setLevel(logging.WARNING)
    try:
        if args.command == "sign":
            secret = os.environ.get("REFUNDER_SHARED_SECRET")
            if not secret:
                parser.error("set REFUNDER_SHARED_SECRET")
            print(sign(args.method, args.target, args.body, secret, args.idempotency_key))
        elif args.command == "migrate":
            migrate(Database.from_url(Settings.load().database_url).engine)
        elif args.command == "serve":
            serve(Settings.load())
        elif args.command == "worker":
            worker(Settings.load(), args.once)
        elif args.command == "reconcile":
            reconcile(Settings.load(), args.every)
        elif args.command == "follow-up":
            settings = Settings.load()
            follow_up(settings, args.every or settings.follow_up_every or 5.0)
        else:
            demo(os.environ)
    except (RefunderError, ConfigurationError) as exc:
        print(f"refunder: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
