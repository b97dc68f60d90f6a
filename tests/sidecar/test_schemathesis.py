"""Property-based API fuzzing from /openapi.json, every request validly signed: no 5xx, answers match the spec."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import SECRET, signed

# What every answer must do: a documented status, content type and body (errors are problem documents too).
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]

# The operations, read once from a throw-away app (the spec does not depend on the database).
SPEC_PATHS = ["/health", "/health/ready", "/v1/ping", "/v1/payments", "/v1/payments/{payment_id}",
              "/v1/payments/{payment_id}/refresh", "/v1/payments/{payment_id}/refunds",
              "/v1/payments/{payment_id}/quote", "/v1/payments/{payment_id}/events", "/v1/refunds",
              "/v1/refunds/{refund_id}", "/v1/refunds/{refund_id}/refresh", "/webhooks/{provider}",
              "/webhooks/{provider}/{endpoint}", "/v1/bulk-refunds/plan", "/v1/bulk-refunds",
              "/v1/bulk-refunds/{job_id}", "/v1/bulk-refunds/{job_id}/report.csv",
              "/v1/refunds/{refund_id}/credit-notes", "/v1/refunds/{refund_id}/credit-note.pdf",
              "/v1/credit-notes/{note_id}.pdf", "/v1/customer-credit-note", "/v1/journal",
              "/v1/payments/{payment_id}/woocommerce-refunds",
              "/v1/payments/{payment_id}/woocommerce-refunds/{wc_refund_id}/deleted", "/v1/refund-changes"]


def operations(app: Any) -> dict[str, Any]:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    return {op.ok().label: op.ok() for op in schema.get_all_operations()}


def test_the_spec_lists_every_route(app: Any) -> None:
    assert {label.split(" ", 1)[1] for label in operations(app)} == set(SPEC_PATHS)


@pytest.mark.parametrize("label", [
    "GET /health", "GET /health/ready", "GET /v1/ping", "POST /v1/payments", "GET /v1/payments/{payment_id}",
    "POST /v1/payments/{payment_id}/refresh",
    "GET /v1/payments/{payment_id}/refunds", "POST /v1/payments/{payment_id}/refunds",
    "POST /v1/payments/{payment_id}/quote", "GET /v1/payments/{payment_id}/events", "GET /v1/refunds",
    "GET /v1/refunds/{refund_id}",
    "POST /v1/refunds/{refund_id}/refresh", "POST /webhooks/{provider}", "POST /webhooks/{provider}/{endpoint}",
    "POST /v1/bulk-refunds/plan",
    "POST /v1/bulk-refunds", "GET /v1/bulk-refunds/{job_id}", "GET /v1/bulk-refunds/{job_id}/report.csv",
    "GET /v1/refunds/{refund_id}/credit-notes", "GET /v1/refunds/{refund_id}/credit-note.pdf",
    "GET /v1/credit-notes/{note_id}.pdf", "GET /v1/customer-credit-note", "GET /v1/journal",
    "POST /v1/payments/{payment_id}/woocommerce-refunds",
    "POST /v1/payments/{payment_id}/woocommerce-refunds/{wc_refund_id}/deleted", "GET /v1/refund-changes",
])
def test_signed_fuzzing_never_breaks_the_sidecar(app: Any, clock: Any, label: str) -> None:
    operation = operations(app)[label]

    @given(case=operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(case: Any) -> None:
        body = b"" if case.body is None or isinstance(case.body, NotSet) else json.dumps(case.body).encode()
        query = urlencode(case.query or {}, doseq=True)
        target = case.formatted_path + (f"?{query}" if query else "")
        headers = signed(SECRET, case.method, target, body, clock(),
                         {k: str(v) for k, v in (case.headers or {}).items()})
        response = app.test_client().open(target, method=case.method, data=body, headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)
        if target.startswith("/v1"):
            assert response.status_code != 401, response.get_data(as_text=True)
        case.validate_response(response, checks=CHECKS)

    check()

