"""Small helpers for API tests."""

from __future__ import annotations

from typing import Any

ACTOR = {"id": "7", "name": "Kari Nordmann"}


def register(api: Any, provider: str, reference: str, captured: int, *, order_id: str = "1001",
             paid_at: str = "2026-11-20T10:00:00+00:00", currency: str = "NOK") -> dict[str, Any]:
    response = api.post("/v1/payments", {
        "provider": provider, "reference": reference, "order_id": order_id,
        "captured": {"value": captured, "currency": currency}, "paid_at": paid_at, "actor": ACTOR,
    })
    assert response.status_code == 200, response.json
    return response.json


def refund_body(value: int, *, currency: str = "NOK", reason: str = "Appointment cancelled",
                **extra: Any) -> dict[str, Any]:
    return {"amount": {"value": value, "currency": currency}, "reason": reason, "actor": ACTOR, **extra}


class CountingProvider:
    """Wraps a provider; counts refund calls per idempotency key and can slow them down."""

    def __init__(self, inner: Any, delay: float = 0.0) -> None:
        import threading
        from collections import Counter

        self.inner, self.delay = inner, delay
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def for_mode(self, mode: Any) -> Any:
        return self  # keep counting: the inner provider has no modes

    def refund(self, call: Any) -> Any:
        import time

        with self._lock:
            self.calls[call.idempotency_key] += 1
        time.sleep(self.delay)
        return self.inner.refund(call)
