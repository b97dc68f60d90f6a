"""One time budget per provider interaction: whatever a provider does (slow answers, hangs, a hanging sign-in),
the sidecar answers within it; a refund not answered is `unknown`, read back once the provider answers again,
and never paid twice. Reads of payments and refunds never call a provider.

The providers are the real modules with their default retry policy (3 attempts, 20 s read timeouts: about
a minute without the budget), against the loopback fakes made to hang (tests/fakes/timing.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from refunder.app import create_app
from refunder.money import Money
from refunder.providers.mollie import MollieProvider, MollieSettings
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from refunder.providers.vipps_epayment import VippsEPaymentProvider
from tests.conftest import SignedClient
from tests.fakes.common import FakeApp
from tests.fakes.mollie import FakeMollie
from tests.fakes.server import serving
from tests.fakes.stripe import FakeStripe
from tests.fakes.vipps import FakeVipps
from tests.providers.conftest import SECRETS, VIPPS
from tests.sidecar.helpers import ACTOR, refund_body

BUDGET = 2.0  # seconds (REFUNDER_PROVIDER_BUDGET; 15 by default)
WITHIN = BUDGET + 1.0  # the budget, and the sidecar's own work on a loaded machine
REFERENCES = {"vipps": "budget-0001", "stripe": "pi_budget0001", "mollie": "tr_budget0001"}


@dataclass
class World:
    app: Any
    api: SignedClient
    fakes: dict[str, Any]
    clock: Any

    def register(self, provider: str) -> Any:
        reference = REFERENCES[provider]
        return self.api.post("/v1/payments", {
            "provider": provider, "reference": reference, "order_id": reference, "actor": ACTOR,
            "captured": {"value": 100000, "currency": "NOK"}, "paid_at": "2026-11-21T10:00:00+00:00"})

    def refund(self, payment: dict[str, Any], key: str, value: int = 25000) -> tuple[Any, float]:
        """The answer, and how long it took."""
        started = time.monotonic()
        answer = self.api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(value),
                               headers={"Idempotency-Key": key})
        return answer, time.monotonic() - started

    def follow_up(self) -> list[Any]:
        """The follow-up's next round, once its first read-back is due."""
        self.clock.advance(seconds=11)
        return self.app.extensions["refunder"].reconciler.follow_up()


@pytest.fixture
def world(settings: Any, db: Any, clock: Any) -> Iterator[World]:
    vipps = FakeVipps(client_secret=VIPPS.client_secret, subscription_key=VIPPS.subscription_key, clock=clock)
    stripe, mollie = FakeStripe(SECRETS[4], SECRETS[5]), FakeMollie(SECRETS[6])
    vipps.add_payment(REFERENCES["vipps"], 100000)
    stripe.add_payment(REFERENCES["stripe"], 100000)
    mollie.add_payment(REFERENCES["mollie"], Money(100000, "NOK"))
    fakes: dict[str, FakeApp] = {"vipps": vipps, "stripe": stripe, "mollie": mollie}
    with serving(vipps) as vipps_url, serving(stripe) as stripe_url, serving(mollie) as mollie_url:
        providers = {
            "vipps": VippsEPaymentProvider(replace(VIPPS, base_url=vipps_url), clock),
            "stripe": StripeProvider(StripeSettings(api_key=SECRETS[4], api_base=stripe_url), clock),
            "mollie": MollieProvider(MollieSettings(api_key=SECRETS[6], api_base=mollie_url), clock),
        }
        app = create_app(replace(settings, provider_budget=BUDGET), clock=clock, providers=providers)
        try:
            yield World(app, SignedClient(app.test_client(), clock), fakes, clock)
        finally:
            for fake in fakes.values():
                fake.timing.release()
    assert vipps.violations == [] and mollie.violations == []


def paid(world: World, provider: str) -> list[int]:
    """The refunds the provider holds for the payment, in minor units."""
    fake, reference = world.fakes[provider], REFERENCES[provider]
    if provider == "vipps":
        return [e["amount"]["value"] for e in fake.payments[reference].events
                if e["name"] == "REFUNDED" and e["success"]]
    if provider == "stripe":
        return [r["amount"] for r in fake.payments[reference].refunds]
    return [Money.parse(r["amount"]["value"], "NOK").minor for r in fake.payments[reference].refunds]


@pytest.mark.parametrize("provider", ["vipps", "stripe", "mollie"])
@pytest.mark.parametrize("hang", ["until released", "slow answer", "dropped"])
def test_a_refund_the_provider_does_not_answer_is_unknown_within_the_budget(world: World, provider: str,
                                                                            hang: str) -> None:
    payment = world.register(provider).json
    fake = world.fakes[provider]
    if hang == "slow answer":  # the provider answers, after the sidecar stopped waiting
        fake.timing.hang("refund", times=1, seconds=BUDGET + 1)
    else:  # until released: done, the answer lost; dropped: never done
        fake.timing.hang("refund", times=1, handled=hang != "dropped")
    answer, took = world.refund(payment, f"budget-{provider}-1")
    print(f"{provider}, refund call hangs ({hang}): answered in {took:.2f} s (budget {BUDGET:g} s)")
    assert answer.status_code == 201 and took < WITHIN
    assert answer.json["status"] == "unknown" and answer.json["failure"]["code"] == "provider_unreachable"
    assert fake.timing.hung["refund"] == 1  # one attempt: no second one starts without the time for it

    fake.timing.release()
    fake.wait_idle()
    [read] = world.follow_up()
    if provider == "mollie":  # Mollie's refunds are pending until they settle
        assert read.status == "processing"
        fake.settle()
        [read] = world.follow_up()
    assert read.status == "refunded"
    assert paid(world, provider) == [25000]  # read back (or sent again with its key once): paid once
    again = world.api.get(f"/v1/payments/{payment['id']}").json
    assert again["refunded"]["value"] == 25000 and again["in_flight"]["value"] == 0


def test_a_hanging_sign_in_is_inside_the_budget_and_sends_nothing(world: World) -> None:
    vipps = world.fakes["vipps"]
    payment = world.register("vipps").json
    vipps.tokens.clear()  # the cached token no longer works: the next call signs in again
    world.app.extensions["refunder"].providers["vipps"].client.tokens.forget()
    vipps.timing.hang("token")
    answer, took = world.refund(payment, "budget-token-1")
    print(f"vipps, sign-in hangs: answered in {took:.2f} s (budget {BUDGET:g} s)")
    assert answer.status_code == 201 and took < WITHIN
    assert answer.json["status"] == "failed" and answer.json["failure"]["code"] == "provider_sign_in_unanswered"
    assert vipps.refund_calls == 0

    vipps.timing.release()
    assert world.refund(payment, "budget-token-2")[0].json["status"] == "refunded"
    assert paid(world, "vipps") == [25000]


def test_registration_without_an_answer_writes_nothing(world: World) -> None:
    vipps = world.fakes["vipps"]
    vipps.timing.hang("read")
    started = time.monotonic()
    answer = world.register("vipps")
    took = time.monotonic() - started
    print(f"vipps, registration while it hangs: answered in {took:.2f} s (budget {BUDGET:g} s)")
    assert answer.status_code == 504 and took < WITHIN
    assert answer.json["code"] == "provider_not_answering" and "nothing was changed" in answer.json["detail"]
    assert "checked_at" not in answer.json and "payment_id" not in answer.json
    assert answer.json["params"]["provider"] == "Vipps MobilePay" and answer.json["params"]["budget_seconds"] == BUDGET
    assert world.api.get("/v1/refunds?order_id=budget-0001").json == {"refunds": []}
    assert world.api.post("/v1/bulk-refunds/plan", {"lines": [{"order_id": "budget-0001", "payment_id": None}]}
                          ).json["skipped"] == 1

    vipps.timing.release()
    registered = world.register("vipps")
    assert registered.status_code == 200 and registered.json["checked_at"] == world.clock().isoformat()


def test_check_with_provider_finds_refunds_made_elsewhere_and_keeps_the_ledger_when_it_hangs(world: World) -> None:
    vipps = world.fakes["vipps"]
    payment = world.register("vipps").json
    first_check = payment["checked_at"]
    assert first_check == world.clock().isoformat()
    world.clock.advance(minutes=5)
    vipps._apply(vipps.payments["budget-0001"], "portal-1", 30000, "NOK", world.clock())  # in Vipps' portal

    vipps.timing.hang("read")
    started = time.monotonic()
    answer = world.api.post(f"/v1/payments/{payment['id']}/refresh")
    took = time.monotonic() - started
    print(f"vipps, check with provider while it hangs: answered in {took:.2f} s (budget {BUDGET:g} s)")
    assert answer.status_code == 504 and took < WITHIN
    assert answer.json["code"] == "provider_not_answering" and answer.json["checked_at"] == first_check
    assert answer.json["payment_id"] == payment["id"]
    assert "did not answer within 2 seconds" in answer.json["detail"]
    unchanged = world.api.get(f"/v1/payments/{payment['id']}").json
    assert unchanged == {k: v for k, v in payment.items() if k != "detection"}  # the ledger's, as it was

    vipps.timing.release()
    vipps.wait_idle()
    checked = world.api.post(f"/v1/payments/{payment['id']}/refresh")
    assert checked.status_code == 200, checked.json
    assert checked.json["refunded"]["value"] == 30000 and checked.json["checked_at"] == world.clock().isoformat()
    [external] = world.api.get(f"/v1/payments/{payment['id']}/refunds").json["refunds"]
    assert external["kind"] == "external" and external["amount"]["value"] == 30000


def test_reads_answer_from_the_ledger_and_never_call_a_provider(world: World) -> None:
    payment = world.register("vipps").json
    refund, _ = world.refund(payment, "budget-read-1")
    calls = {name: sum(fake.timing.calls.values()) for name, fake in world.fakes.items()}
    for fake in world.fakes.values():
        fake.timing.hang()  # any call would hang
    started = time.monotonic()
    pid, rid = payment["id"], refund.json["id"]
    for target in (f"/v1/payments/{pid}", f"/v1/payments/{pid}/refunds", f"/v1/payments/{pid}/events",
                   f"/v1/refunds/{rid}", "/v1/refunds?order_id=budget-0001", f"/v1/refunds/{rid}/credit-notes"):
        assert world.api.get(target).status_code == 200, target
    assert world.api.post("/v1/bulk-refunds/plan", {"lines": [{"order_id": "budget-0001", "payment_id": pid}]}
                          ).status_code == 200
    assert time.monotonic() - started < 1.0
    assert {name: sum(fake.timing.calls.values()) for name, fake in world.fakes.items()} == calls
