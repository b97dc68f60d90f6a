"""Concurrent refunds on one payment, through the API in threads: never over-refunded, never sent twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from refunder.app import create_app
from refunder.money import Money
from refunder.providers.simulator import SimulatorProvider
from tests.conftest import SignedClient
from tests.sidecar.helpers import CountingProvider, refund_body, register

THREADS = 16


@pytest.fixture
def slow(settings: Any, db: Any, clock: Any) -> tuple[Any, CountingProvider]:
    """App whose provider takes 20 ms per refund, so requests overlap."""
    provider = CountingProvider(SimulatorProvider(settings.section("simulator")["path"], clock), delay=0.02)
    return create_app(settings, clock=clock, providers={"simulator": provider}), provider


def _payment(app: Any, provider: CountingProvider, clock: Any, captured: int) -> tuple[dict[str, Any], str]:
    provider.inner.add_payment("sim-conc", Money(captured, "NOK"), clock() - timedelta(days=1))
    payment = register(SignedClient(app.test_client(), clock), "simulator", "sim-conc", captured)
    return payment, f"/v1/payments/{payment['id']}/refunds"


def test_parallel_refunds_never_exceed_captured(slow: tuple[Any, CountingProvider], clock: Any) -> None:
    app, provider = slow
    payment, target = _payment(app, provider, clock, 10000)

    def attempt(i: int) -> int:
        client = SignedClient(app.test_client(), clock)
        return client.post(target, refund_body(1500), headers={"Idempotency-Key": f"parallel-key-{i:03d}"}).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        codes = list(pool.map(attempt, range(THREADS)))
    assert codes.count(201) == 6 and codes.count(422) == THREADS - 6  # 6 x 1500 <= 10000 < 7 x 1500
    summary = SignedClient(app.test_client(), clock).get(f"/v1/payments/{payment['id']}").json
    assert summary["refunded"]["value"] == 9000 and summary["refundable"]["value"] == 1000
    assert sum(provider.calls.values()) == 6


def test_parallel_requests_with_one_key_call_the_provider_once(slow: tuple[Any, CountingProvider], clock: Any) -> None:
    app, provider = slow
    payment, target = _payment(app, provider, clock, 10000)

    def attempt(_: int) -> tuple[int, str]:
        client = SignedClient(app.test_client(), clock)
        response = client.post(target, refund_body(2500), headers={"Idempotency-Key": "one-key-for-all"})
        return response.status_code, response.json["id"]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(attempt, range(THREADS)))
    assert [code for code, _ in results].count(201) == 1
    assert {code for code, _ in results} <= {200, 201}
    assert len({refund_id for _, refund_id in results}) == 1
    assert provider.calls == {results[0][1]: 1}
    summary = SignedClient(app.test_client(), clock).get(f"/v1/payments/{payment['id']}").json
    assert summary["refunded"]["value"] == 2500
