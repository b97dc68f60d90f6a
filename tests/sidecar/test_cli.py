"""The `refunder` command: sign helper and demo data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from refunder import cli, signing
from refunder.demo import BOOKINGS, seed
from refunder.providers import build_providers
from refunder.refunds import RefundService
from tests.conftest import SECRET


def test_sign_prints_curl_headers_that_verify(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("REFUNDER_SHARED_SECRET", SECRET)
    assert cli.main(["sign", "POST", "/v1/payments/pay_1/refunds", '{"a":1}']) == 0
    words = capsys.readouterr().out.split()
    headers = dict(w.split(":", 1) for w in words if w != "-H")
    assert words[::2] == ["-H"] * len(headers) and " " not in "".join(words)  # safe unquoted in $(...)
    signing.verify(SECRET, method="POST", target="/v1/payments/pay_1/refunds", body=b'{"a":1}',
                   timestamp=headers[signing.TIMESTAMP_HEADER], nonce=headers[signing.NONCE_HEADER],
                   signature=headers[signing.SIGNATURE_HEADER], now=int(datetime.now().timestamp()))


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
