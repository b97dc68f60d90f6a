"""A ledger that is stuck or down: reads and /health go on, writes get 503 with Retry-After, and a refund the
provider already made is reported as being checked, and is checked."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from refunder.app import create_app
from refunder.ledger import database
from refunder.money import Money
from tests.conftest import SignedClient
from tests.reliability.live import stuck_writer
from tests.sidecar.helpers import CountingProvider, refund_body, register


def timed(send: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = send()
    return answer, time.monotonic() - started


@pytest.fixture
def paid(api: Any, app: Any, clock: Any) -> dict[str, Any]:
    app.extensions["refunder"].providers["simulator"].add_payment("sim-out", Money(100000, "NOK"),
                                                                  clock() - timedelta(days=1))
    return register(api, "simulator", "sim-out", 100000)


def test_reads_and_health_never_wait_behind_a_stuck_writer(api: Any, app: Any, paid: Any, settings: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    target = f"/v1/payments/{paid['id']}/refunds"
    first = api.post(target, refund_body(1000), headers={"Idempotency-Key": "key-out-0001"})
    assert first.status_code == 201, first.json
    monkeypatch.setattr(database, "BUSY_TIMEOUT", 1.0)  # a writer's patience, shortened for the test
    client = app.test_client()
    with stuck_writer(settings.database_url):
        answers = {
            "/health": timed(lambda: client.get("/health")),
            "/health/ready": timed(lambda: client.get("/health/ready")),
            "payment": timed(lambda: api.get(f"/v1/payments/{paid['id']}")),
            "refunds": timed(lambda: api.get(f"/v1/payments/{paid['id']}/refunds")),
            "refund": timed(lambda: api.get(f"/v1/refunds/{first.json['id']}")),
            "events": timed(lambda: api.get(f"/v1/payments/{paid['id']}/events")),
            "ping": timed(lambda: api.get("/v1/ping")),
        }
        write, waited = timed(lambda: api.post(f"/v1/payments/{paid['id']}/refunds", refund_body(2000),
                                               headers={"Idempotency-Key": "key-out-0002"}))
    print("while a writer holds SQLite: " + ", ".join(f"{k} {s * 1000:.1f} ms" for k, (_, s) in answers.items()))
    for name, (answer, seconds) in answers.items():
        assert answer.status_code == 200 and seconds < 1.0, (name, answer.status_code, seconds)
    assert answers["payment"][0].json["refunded"]["value"] == 1000
    assert write.status_code == 503 and 1.0 <= waited < 5
    assert write.json["code"] == "ledger_unavailable" and write.headers["Retry-After"] == "10"
    assert "nothing was done" in write.json["detail"]
    again = api.post(target, refund_body(2000), headers={"Idempotency-Key": "key-out-0002"})
    assert again.status_code == 201 and again.json["status"] == "refunded"  # the same request, once it is free


class LedgerFailsAfterPaying(CountingProvider):
    """The provider refunds; then, before the sidecar records the answer, its ledger stops working."""

    def __init__(self, inner: Any, settings: Any) -> None:
        super().__init__(inner)
        self.settings, self.writer = settings, None

    def refund(self, call: Any) -> Any:
        result = super().refund(call)
        self.writer = stuck_writer(self.settings.database_url)
        self.writer.__enter__()
        return result


def test_a_ledger_failing_after_the_provider_paid_says_the_outcome_is_being_checked(
        settings: Any, db: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL outage is tested against a real server: tests/reliability/test_postgres_outage.py")
    monkeypatch.setattr(database, "BUSY_TIMEOUT", 0.5)
    app = create_app(settings, clock=clock)
    simulator = app.extensions["refunder"].providers["simulator"]
    failing = LedgerFailsAfterPaying(simulator, settings)
    app.extensions["refunder"].providers = {"simulator": failing}
    api = SignedClient(app.test_client(), clock)
    simulator.add_payment("sim-pending", Money(100000, "NOK"), clock() - timedelta(days=1))
    payment = register(api, "simulator", "sim-pending", 100000)
    answer = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(40000),
                      headers={"Idempotency-Key": "key-pending-0001"})
    assert failing.writer is not None
    failing.writer.__exit__(None, None, None)  # the ledger is back
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "10"
    assert answer.json["code"] == "refund_outcome_pending" and "being checked" in answer.json["detail"]
    assert "Nothing more was done" not in answer.get_data(as_text=True)
    refund_id = answer.json["refund_id"]
    assert api.get(f"/v1/refunds/{refund_id}").json["status"] == "pending"  # recorded before the call: not lost
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 60000  # still held
    clock.advance(seconds=11)
    assert [r.id for r in app.extensions["refunder"].reconciler.follow_up()] == [refund_id]  # read back, not sent again
    assert api.get(f"/v1/refunds/{refund_id}").json["status"] == "refunded"
    replay = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(40000),
                      headers={"Idempotency-Key": "key-pending-0001"})  # the plugin's retry with its review's key
    assert replay.status_code == 200 and replay.json["id"] == refund_id and replay.json["status"] == "refunded"
    assert failing.calls == {refund_id: 1} and len(simulator.list_refunds("sim-pending", {})) == 1
