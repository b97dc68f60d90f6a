"""The fakes model time: a latency per call (fixed or a seeded distribution), overlapping calls, hangs by kind."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.fakes.server import serving
from tests.fakes.stripe import FakeStripe
from tests.fakes.timing import Latency, Timing

KEY = "sk_test_timing"


def test_a_distribution_with_a_seed_repeats_itself() -> None:
    draws = [Latency.lognormal(0.3, 0.5, seed=7)() for _ in range(3)]
    assert draws == [Latency.lognormal(0.3, 0.5, seed=7)() for _ in range(3)]
    many = Latency.lognormal(0.3, 0.5, seed=7)
    sample = [many() for _ in range(2000)]
    assert 0.27 < statistics.median(sample) < 0.33 and max(sample) > 0.9  # a long tail of slow calls


def test_calls_take_their_latency_and_overlap_like_a_real_provider() -> None:
    stripe = FakeStripe(KEY, "whsec_timing")
    stripe.timing = Timing(0.3)
    with serving(stripe) as url:
        def read() -> int:
            return requests.get(f"{url}/v1/refunds?payment_intent=pi_none", timeout=5,
                                headers={"Authorization": f"Bearer {KEY}"}).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(lambda _: read(), range(8))) == [404] * 8
        took = time.monotonic() - started
    assert 0.3 <= took < 0.6  # eight calls of 300 ms at once: not 2.4 s in a row


def test_hangs_by_kind_until_released_or_n_times() -> None:
    timing = Timing()
    timing.hang("refund", times=1)
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(timing.wait("refund")))
    waiter.start()
    assert timing.wait("read") and timing.wait("refund")  # other kinds, and the second refund, go on
    waiter.join(0.2)
    assert waiter.is_alive() and timing.hung == {"refund": 1}
    timing.release()
    waiter.join(2)
    assert outcome == [True]
    timing.hang("*", handled=False, seconds=0.1)
    assert timing.wait("token") is False  # dropped after 0.1 s: never done
