"""Small helpers for API tests."""

from __future__ import annotations

from typing import Any

ACTOR = {"id": "7", "name": "Kari Nordmann"}

# A Norwegian booking: a haircut at 25 % VAT and two concert tickets at 12 %, as WooCommerce stores them.
ORDER = {
    "language": "nb_NO",
    "order": {"number": "1042", "date": "2026-11-20T10:00:00+00:00", "invoice_number": "K-2026-0042",
              "payment_method": "Vipps", "timezone": "Europe/Oslo"},
    "seller": {"name": "Fjordsalong AS", "address": ["Strandgata 12", "5013 Bergen"],
               "organisation_number": "923456789", "vat_registered": True, "foretaksregisteret": True,
               "email": "post@fjordsalong.no"},
    "buyer": {"name": "Ola Nordmann", "address": ["Storgata 1", "0155 Oslo"], "email": "ola@example.com"},
    "lines": [
        {"item_id": "11", "name": "Hårklipp, herre", "quantity": 1, "total": "800.00", "taxes": {"1": "200.00"}},
        {"item_id": "12", "name": "Konsertbillett, jazzkveld", "quantity": 2, "total": "892.857143",
         "taxes": {"2": "107.142857"}},
    ],
    "tax_rates": {"1": {"percent": "25.0000", "label": "MVA"}, "2": {"percent": "12.0000", "label": "MVA lav sats"}},
}


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
