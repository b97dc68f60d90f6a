"""The v1 request signature: shared vectors, every way a request can be refused, and the live check."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from refunder import signing
from refunder.errors import SignatureExpired, SignatureRejected

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "signature.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("v", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vectors_match_the_documented_formula(v: dict[str, Any]) -> None:
    body = v["body"].encode("utf-8")
    expected_string = "\n".join(
        ["v1", v["method"].upper(), v["target"], v["timestamp"], v["nonce"], hashlib.sha256(body).hexdigest()])
    assert signing.string_to_sign(v["method"], v["target"], v["timestamp"], v["nonce"], body) == v["string_to_sign"]
    assert v["string_to_sign"] == expected_string
    mac = hmac.new(VECTORS["secret"].encode(), expected_string.encode(), hashlib.sha256).hexdigest()
    assert v["signature"] == "v1=" + mac
    assert signing.sign(VECTORS["secret"], v["method"], v["target"], v["timestamp"], v["nonce"], body) == v["signature"]


@pytest.mark.parametrize("v", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vectors_verify(v: dict[str, Any]) -> None:
    verified = signing.verify(VECTORS["secret"], method=v["method"], target=v["target"], body=v["body"].encode(),
                              timestamp=v["timestamp"], nonce=v["nonce"], signature=v["signature"],
                              now=int(v["timestamp"]) + 299)
    assert verified.nonce == v["nonce"]


@pytest.mark.parametrize("r", VECTORS["rejections"], ids=lambda r: r["name"])
def test_rejection_vectors(r: dict[str, Any]) -> None:
    with pytest.raises(SignatureRejected) as exc:
        signing.verify(VECTORS["secret"], method=r["method"], target=r["target"], body=r["body"].encode(),
                       timestamp=r["timestamp"], nonce=r["nonce"], signature=r["signature"], now=r["now"])
    assert exc.value.code == r["error"]


def test_expired_is_its_own_error() -> None:
    v = VECTORS["vectors"][0]
    with pytest.raises(SignatureExpired, match="clock"):
        signing.verify(VECTORS["secret"], method=v["method"], target=v["target"], body=v["body"].encode(),
                       timestamp=v["timestamp"], nonce=v["nonce"], signature=v["signature"],
                       now=int(v["timestamp"]) + 3600)


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(signing.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    v = VECTORS["vectors"][1]
    signing.verify(VECTORS["secret"], method=v["method"], target=v["target"], body=b"", timestamp=v["timestamp"],
                   nonce=v["nonce"], signature=v["signature"], now=int(v["timestamp"]))
    assert calls == [(v["signature"].encode(), v["signature"].encode())]


# --- the live check in front of /v1 ---------------------------------------------------------------

def test_signed_request_passes(api: Any) -> None:
    response = api.get("/v1/ping")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_unsigned_request_is_refused(api: Any) -> None:
    response = api.client.get("/v1/ping")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.json["code"] == "signature_invalid"


def test_replayed_request_is_refused(api: Any, clock: Any) -> None:
    body = b""
    headers = signing.signed_headers(api.secret, "GET", "/v1/ping", body, int(clock().timestamp()))
    assert api.client.get("/v1/ping", headers=headers).status_code == 200
    again = api.client.get("/v1/ping", headers=headers)
    assert again.status_code == 401 and again.json["code"] == "request_replayed"


def test_nonce_is_remembered_for_the_whole_window(api: Any, clock: Any) -> None:
    headers = signing.signed_headers(api.secret, "GET", "/v1/ping", b"", int(clock().timestamp()))
    assert api.client.get("/v1/ping", headers=headers).status_code == 200
    clock.advance(seconds=signing.MAX_SKEW_SECONDS)  # still inside the window: still a replay
    assert api.client.get("/v1/ping", headers=headers).json["code"] == "request_replayed"
    clock.advance(seconds=1)  # outside: refused as expired, never as fresh
    assert api.client.get("/v1/ping", headers=headers).json["code"] == "signature_expired"


def test_expired_and_future_requests_are_refused(api: Any, clock: Any) -> None:
    for offset in (-301, 301):
        ts = int(clock().timestamp()) + offset
        headers = signing.signed_headers(api.secret, "GET", "/v1/ping", b"", ts)
        response = api.client.get("/v1/ping", headers=headers)
        assert response.status_code == 401 and response.json["code"] == "signature_expired"


@pytest.mark.parametrize("tamper", ["body", "path", "query", "method", "secret"])
def test_tampered_requests_are_refused_and_change_nothing(api: Any, clock: Any, tamper: str) -> None:
    from tests.sidecar.helpers import register

    payment = register(api, "manual", "bank-1", 10000)
    other = register(api, "manual", "bank-2", 10000, order_id="1002")
    target = f"/v1/payments/{payment['id']}/refunds"
    body = json.dumps({"amount": {"value": 100, "currency": "NOK"}, "reason": "x", "actor": {"id": "1", "name": "a"},
                       "bank_reference": "B1"}).encode()
    headers = signing.signed_headers("another-secret-0123456789-0123456789" if tamper == "secret" else api.secret,
                                     "POST", target, body, int(clock().timestamp()))
    headers.update({"Content-Type": "application/json", "Idempotency-Key": "tamper-key-1"})
    send = {"method": "POST", "path": target, "data": body}
    if tamper == "body":
        send["data"] = body.replace(b"100", b"9999")
    elif tamper == "path":
        send["path"] = target.replace(payment["id"], other["id"])
    elif tamper == "query":
        send["path"] = target + "?x=1"
    elif tamper == "method":
        send["method"] = "PUT"
    response = api.client.open(send.pop("path"), headers=headers, **send)
    assert response.status_code == 401, response.json
    for p in (payment, other):
        assert api.get(f"/v1/payments/{p['id']}/refunds").json["refunds"] == []


def test_unknown_v1_paths_need_a_signature_first(api: Any) -> None:
    assert api.client.get("/v1/nothing-here").status_code == 401
    assert api.client.delete("/v1/payments").status_code == 401
    assert api.get("/v1/nothing-here").status_code == 404
