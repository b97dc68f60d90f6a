"""Without any webhook or operator, `refunder serve` reads refunds in flight back until they are final."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from refunder.money import Money
from tests.conftest import SECRET
from tests.fakes.mollie import FakeMollie
from tests.fakes.server import serving
from tests.fakes.sidecar import serving_sidecar
from tests.fakes.stripe import FakeStripe
from tests.reliability.live import call
from tests.sidecar.helpers import ACTOR, refund_body

pytestmark = pytest.mark.slow

SETTLE_AFTER = 12.0  # seconds the providers take to finish a refund
STRIPE_KEY, MOLLIE_KEY = "sk_test_followup", "test_followup_mollie"


@pytest.fixture
def providers() -> Iterator[tuple[FakeStripe, FakeMollie, str, str]]:
    stripe, mollie = FakeStripe(STRIPE_KEY, "whsec_unused"), FakeMollie(MOLLIE_KEY)
    stripe.settle_after = mollie.settle_after = SETTLE_AFTER
    with serving(stripe) as stripe_url, serving(mollie) as mollie_url:
        yield stripe, mollie, stripe_url, mollie_url


def register(url: str, provider: str, reference: str, value: int, currency: str) -> dict[str, Any]:
    answer = call(url, "POST", "/v1/payments", {
        "provider": provider, "reference": reference, "order_id": reference,
        "captured": {"value": value, "currency": currency}, "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_processing_refunds_become_final_within_two_minutes(providers: Any, database_url: str,
                                                            tmp_path: Path) -> None:
    stripe, mollie, stripe_url, mollie_url = providers
    stripe.add_payment("pi_follow1", 50000)
    stripe.slow.add("pi_follow1")
    mollie.add_payment("tr_follow1", Money(5000, "EUR"))
    settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": database_url,
                "REFUNDER_PROVIDERS": "stripe,mollie", "REFUNDER_FOLLOW_UP_EVERY": "1",
                "REFUNDER_STRIPE_TEST_API_KEY": STRIPE_KEY, "REFUNDER_STRIPE_TEST_API_BASE": stripe_url,
                "REFUNDER_MOLLIE_TEST_API_KEY": MOLLIE_KEY, "REFUNDER_MOLLIE_TEST_API_BASE": mollie_url}
    with serving_sidecar(settings, tmp_path / "sidecar.log") as (url, _):
        started = time.monotonic()
        refunds = []
        for provider, reference, value, currency in (("stripe", "pi_follow1", 20000, "NOK"),
                                                     ("mollie", "tr_follow1", 1500, "EUR")):
            payment = register(url, provider, reference, value * 2, currency)
            answer = call(url, "POST", f"/v1/payments/{payment['id']}/refunds",
                          refund_body(value, currency=currency), headers={"Idempotency-Key": f"follow-{provider}"})
            assert answer.status_code == 201 and answer.json()["status"] == "processing", answer.text
            refunds.append(answer.json()["id"])
        final: dict[str, float] = {}
        while len(final) < len(refunds) and time.monotonic() - started < 150:
            for refund_id in set(refunds) - set(final):
                if call(url, "GET", f"/v1/refunds/{refund_id}").json()["status"] == "refunded":
                    final[refund_id] = time.monotonic() - started
            time.sleep(0.5)
    log = (tmp_path / "sidecar.log").read_text()
    assert len(final) == 2, log[-3000:]
    print(f"follow-up: provider final after {SETTLE_AFTER:.0f} s; ledger final after "
          + ", ".join(f"{seconds:.1f} s" for seconds in final.values()))
    assert max(final.values()) < 120  # no webhook, no reconcile, no operator
    assert stripe.refund_calls == 1 and mollie.refund_calls == 1  # read back, never sent again
    assert "Traceback" not in log
