"""Bad input is a 4xx problem document naming what is wrong, the same on SQLite and PostgreSQL (issue 12).

Before, PostgreSQL answered 500 to NUL in a text field or `%00` in an id, and both ledgers to deep
nesting, huge integers and lone surrogates.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sidecar.helpers import ACTOR, refund_body, register

NUL_FIELDS = {  # field as the problem names it -> a refund body with a control character in that field
    "reason": refund_body(100, reason="Cancelled\x00", bank_reference="B1"),
    "bank_reference": refund_body(100, bank_reference="B\x001"),
    "actor": {**refund_body(100, bank_reference="B1"), "actor": {"id": "7\x00", "name": "Kari"}},
    "lines": refund_body(100, bank_reference="B1", lines=[{"item_id": "1", "name": "Hair\x1bcut", "quantity": 1,
                                                           "amount": 100}]),
}


@pytest.fixture
def payment(api: Any) -> dict[str, Any]:
    return register(api, "manual", "bank-bad-input", 10000)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.json["code"] == code and response.json["status"] == status
    return response.json


def test_control_characters_in_text_fields_are_refused_with_the_field_named(api: Any, payment: Any) -> None:
    target = f"/v1/payments/{payment['id']}/refunds"
    for n, (field, body) in enumerate(NUL_FIELDS.items()):
        problem = assert_problem(api.post(target, body, headers={"Idempotency-Key": f"nul-key-{n:04d}"}),
                                 422, "invalid_request")
        assert field in problem["errors"], problem
        assert "Control characters" in json.dumps(problem["errors"][field])
    registration = {"provider": "manual", "reference": "ref\x00", "order_id": "1\n2",
                    "captured": {"value": 100, "currency": "NOK"}, "paid_at": "2026-11-20T10:00:00+00:00",
                    "actor": {"id": "1", "name": "Kari\x7f"}, "provider_data": {"account": "acct\x00"}}
    problem = assert_problem(api.post("/v1/payments", registration), 422, "invalid_request")
    assert {"reference", "order_id", "actor", "provider_data"} <= set(problem["errors"])
    bulk = {"lines": [{"order_id": "1\x00", "payment_id": payment["id"]}], "reason": "Snow\x00", "actor": ACTOR}
    problem = assert_problem(api.post("/v1/bulk-refunds", bulk, headers={"Idempotency-Key": "nul-bulk-0001"}),
                             422, "invalid_request")
    assert {"lines", "reason"} <= set(problem["errors"])
    assert api.get(f"/v1/payments/{payment['id']}/refunds").json["refunds"] == []


def test_a_reason_may_have_line_breaks_and_tabs(api: Any, payment: Any) -> None:
    response = api.post(f"/v1/payments/{payment['id']}/refunds",
                        refund_body(100, reason="Cancelled:\r\n\tsnow storm", bank_reference="B1"),
                        headers={"Idempotency-Key": "multiline-0001"})
    assert response.status_code == 201 and response.json["reason"] == "Cancelled:\r\n\tsnow storm"


@pytest.mark.parametrize(("method", "target", "field"), [
    ("GET", "/v1/payments/pay%00x", "payment_id"),
    ("GET", "/v1/payments/pay%00x/refunds", "payment_id"),
    ("POST", "/v1/payments/pay%00x/refunds", "payment_id"),
    ("GET", "/v1/payments/pay%00x/events", "payment_id"),
    ("GET", "/v1/refunds/rf%00x", "refund_id"),
    ("POST", "/v1/refunds/rf%00x/refresh", "refund_id"),
    ("GET", "/v1/bulk-refunds/bulk%00x", "job_id"),
    ("GET", "/v1/bulk-refunds/bulk%00x/report.csv", "job_id"),
    ("GET", "/v1/refunds?order_id=1%00", "order_id"),
    ("GET", "/v1/refunds?order_id=1%0A", "order_id"),
    ("GET", "/v1/refunds?order_id=1&x%00=1", "x?"),
    ("POST", "/webhooks/stripe%00", "provider"),
])
def test_nul_in_any_id_or_query_is_refused_with_the_field_named(api: Any, method: str, target: str,
                                                                field: str) -> None:
    body = refund_body(100, bank_reference="B1") if method == "POST" else None
    problem = assert_problem(api.request(method, target, body, headers={"Idempotency-Key": "nul-path-0001"}),
                             422, "control_character")
    assert problem["field"] == field and field in problem["errors"] and problem["params"] == {"field": field}


@pytest.mark.parametrize(("raw", "reason"), [
    (b"[" * 10_000 + b"]" * 10_000, "nested more than 32 levels"),
    (b'{"a":' * 40 + b"1" + b"}" * 40, "nested more than 32 levels"),
    (b'{"amount":{"value":' + b"9" * 4301 + b',"currency":"NOK"}}', "4300 digits"),
    (b'{"reason":"\\ud800","amount":{"value":1,"currency":"NOK"}}', "lone surrogate"),
    (b'{"reason":"x","actor":{"id":"1","name":"\\udfff"}}', "lone surrogate"),
    (b'{"amount":{"value":NaN,"currency":"NOK"}}', "NaN is not a JSON number"),
    (b'{"reason":"\xff\xfe"}', "not UTF-8"),
], ids=["10000-deep", "40-deep", "4301-digits", "surrogate", "surrogate-in-actor", "nan", "latin-1"])
def test_json_the_parser_or_the_ledger_would_choke_on_is_a_400(api: Any, payment: Any, raw: bytes,
                                                               reason: str) -> None:
    for target, key in ((f"/v1/payments/{payment['id']}/refunds", "deep-key-0001"), ("/v1/payments", None),
                        ("/v1/bulk-refunds/plan", None)):
        headers = {"Idempotency-Key": key} if key else {}
        problem = assert_problem(api.post(target, raw=raw, headers=headers), 400, "json_invalid")
        assert reason in problem["detail"], problem
    assert api.get(f"/v1/payments/{payment['id']}/refunds").json["refunds"] == []
