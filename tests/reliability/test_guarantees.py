"""The guarantees script's figures, in CI: nothing paid twice, nothing over-refunded, no attack through."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.reliability import guarantees_status
from tests.reliability.guarantees import measure


def test_measured_guarantees_hold() -> None:
    logging.disable(logging.WARNING)
    try:
        figures = measure(runs=8, fuzz_requests=150, seed=11, transport_rounds=3)
    finally:
        logging.disable(logging.NOTSET)
    assert figures.payments == 8 and figures.accepted > 0 and figures.replayed > 0
    assert figures.double_refunds == 0
    assert figures.over_refunds == 0
    assert figures.not_final_after_reconcile == 0
    assert figures.ledger_provider_mismatches == 0
    assert figures.attacks and figures.attacks == figures.attacks_rejected
    assert figures.fuzz_requests == 150 and figures.fuzz_5xx == 0
    assert figures.transport.sent and figures.transport.all_zero(), figures.transport.rows()


@pytest.mark.slow
def test_status_guarantees_hold(tmp_path: Path) -> None:
    """Demotion, stale webhooks, bad paid_at, a ledger outage and crashes: every "must be 0" figure is 0."""
    logging.disable(logging.WARNING)
    try:
        figures = guarantees_status.measure(tmp_path, guarantees_status.backends(), rounds=2, crashes=6)
    finally:
        logging.disable(logging.NOTSET)
    figures.print()
    assert figures.rows and figures.failures() == {}
