"""The `refunder` command: sign helper and demo data."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from gunicorn.ctl.client import ControlClient

from refunder import cli, signing
from refunder.demo import BOOKINGS, seed
from refunder.ledger.audit import Actor
from refunder.money import Money
from refunder.providers import build_providers
from refunder.providers.base import PaymentClaim
from refunder.refunds import RefundRequest
from refunder.service import RefundService
from tests.conftest import SECRET
from tests.fakes.sidecar import serving_sidecar


def test_sign_prints_curl_headers_that_verify(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("REFUNDER_SHARED_SECRET", SECRET)
    assert cli.main(["sign", "--idempotency-key", "cli-key-0001", "POST", "/v1/payments/pay_1/refunds",
                     '{"a":1}']) == 0
    words = capsys.readouterr().out.split()
    headers = dict(w.split(":", 1) for w in words if w != "-H")
    assert words[::2] == ["-H"] * len(headers) and " " not in "".join(words)  # safe unquoted in $(...)
    assert headers["Idempotency-Key"] == "cli-key-0001" and headers["Content-Type"] == "application/json"
    assert headers[signing.SIGNATURE_HEADER].startswith("v2=")
    verified = signing.verify(
        SECRET, method="POST", target="/v1/payments/pay_1/refunds", body=b'{"a":1}',
        timestamp=headers[signing.TIMESTAMP_HEADER], nonce=headers[signing.NONCE_HEADER],
        signature=headers[signing.SIGNATURE_HEADER], now=int(datetime.now().timestamp()),
        content_type=headers["Content-Type"], idempotency_key=headers["Idempotency-Key"])
    assert verified.scheme == "v2"


def test_the_sidecars_log_leaves_out_stripes_line_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFUNDER_SHARED_SECRET", SECRET)
    stripe_log, root = logging.getLogger("stripe"), logging.getLogger()
    before = stripe_log.level, root.level
    root.setLevel(logging.INFO)  # as the sidecar's (basicConfig leaves pytest's handlers and level alone)
    stripe_log.setLevel(logging.NOTSET)
    try:
        assert cli.main(["sign", "GET", "/v1/ping"]) == 0
        assert not stripe_log.isEnabledFor(logging.INFO) and stripe_log.isEnabledFor(logging.WARNING)
    finally:
        stripe_log.setLevel(before[0])
        root.setLevel(before[1])


def test_sign_without_secret_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFUNDER_SHARED_SECRET", raising=False)
    with pytest.raises(SystemExit):
        cli.main(["sign", "GET", "/v1/ping"])


def test_demo_seed_covers_every_case(settings: Any, db: Any) -> None:
    clock = lambda: datetime.now(UTC)  # noqa: E731
    service = RefundService(db, build_providers(settings, clock), clock)
    views = [view for view, _ in seed(service, clock)]
    assert [v.payment.order_id for v in views] == [b[0] for b in BOOKINGS]
    assert [v.window_open for v in views] == [True, True, True, False, True]
    assert all(v.balance.refundable == v.balance.captured for v in views)


def test_reconcile_command_once_and_on_a_schedule(settings: Any, db: Any, tmp_path: Any) -> None:
    clock = lambda: datetime.now(UTC)  # noqa: E731
    service = RefundService(db, build_providers(settings, clock), clock)
    simulator = service.providers["simulator"]
    simulator.add_payment("cli-1-timeout", Money(1000, "NOK"), clock())  # type: ignore[attr-defined]
    claim = PaymentClaim("cli-1-timeout", "1", Money(1000, "NOK"), clock())
    payment = service.payments.register_payment("simulator", claim, Actor("1", "x")).payment
    request = RefundRequest(Money(100, "NOK"), "x", Actor("1", "x"))
    refund, _ = service.refunds.create_refund(payment.id, request, "cli-k", "f")
    assert refund.status == "unknown"
    env = {**os.environ, "REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": settings.database_url,
           "REFUNDER_PROVIDERS": "manual,simulator", "REFUNDER_SIMULATOR_PATH": settings.section("simulator")["path"]}
    once = subprocess.run([sys.executable, "-m", "refunder.cli", "reconcile"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert once.returncode == 0 and "reconciled 1 refunds (1 now final)" in once.stdout
    assert service.reads.get_refund(refund.id).status == "refunded"
    loop = subprocess.Popen([sys.executable, "-m", "refunder.cli", "reconcile", "--every", "0.2"], env=env,
                            stdout=subprocess.PIPE, text=True)
    time.sleep(2.5)
    loop.terminate()
    output = loop.communicate(timeout=20)[0]
    assert output.count("reconciled 0 refunds") >= 2


@pytest.mark.slow
def test_two_sidecars_of_one_user_keep_their_own_control_sockets(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn's control socket is per sidecar (named after its bind address): a second sidecar of the same
    user neither takes the first one's nor removes it when it stops."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))  # the sidecars' environment is this one's
    base = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_PROVIDERS": "manual", "REFUNDER_WORKERS": "1",
            "REFUNDER_FOLLOW_UP_EVERY": "0"}

    def listening(bind: str) -> list[str]:
        path = Path(cli.control_socket(bind))
        for _ in range(100):  # gunicorn opens it once its workers are up, maybe after the first answer
            if path.exists():
                break
            time.sleep(0.05)
        with ControlClient(str(path), timeout=10) as client:
            return [item["address"].removeprefix("http://")
                    for item in client.send_command("show listeners")["listeners"]]

    with serving_sidecar({**base, "REFUNDER_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"},
                         tmp_path / "a.log") as (_, first):
        with serving_sidecar({**base, "REFUNDER_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"},
                             tmp_path / "b.log") as (_, second):
            assert cli.control_socket(first["REFUNDER_BIND"]) != cli.control_socket(second["REFUNDER_BIND"])
            assert listening(first["REFUNDER_BIND"]) == [first["REFUNDER_BIND"]]
            assert listening(second["REFUNDER_BIND"]) == [second["REFUNDER_BIND"]]
        assert listening(first["REFUNDER_BIND"]) == [first["REFUNDER_BIND"]]  # still its own, still there
    assert sorted(p.name for p in runtime.iterdir()) == []  # each removed its own on the way out
