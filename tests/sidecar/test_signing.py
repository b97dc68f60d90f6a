"""The v2 request signature (v1 where still accepted): shared vectors, every refusal, and the live check."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from refunder import signing
from refunder.errors import SignatureExpired, SignatureOutdated, SignatureRejected
from tests.sidecar.helpers import ACTOR, refund_body, register

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "signature.json").read_text(encoding="utf-8"))


def _verify(v: dict[str, Any], now: int) -> signing.VerifiedRequest:
    return signing.verify(VECTORS["secret"], method=v["method"], target=v["target"], body=v["body"].encode(),
                          timestamp=v["timestamp"], nonce=v["nonce"], signature=v["signature"], now=now,
                          content_type=v.get("content_type", ""), idempotency_key=v.get("idempotency_key", ""))


@pytest.mark.parametrize("v", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vectors_match_the_documented_formula(v: dict[str, Any]) -> None:
    body = v["body"].encode("utf-8")
    expected_string = "\n".join(["v2", v["method"].upper(), v["target"], v["timestamp"], v["nonce"],
                                 v["content_type"], v["idempotency_key"], hashlib.sha256(body).hexdigest()])
    assert v["string_to_sign"] == expected_string
    assert expected_string == signing.string_to_sign(v["method"], v["target"], v["timestamp"], v["nonce"], body,
                                                     content_type=v["content_type"],
                                                     idempotency_key=v["idempotency_key"])
    mac = hmac.new(VECTORS["secret"].encode(), expected_string.encode(), hashlib.sha256).hexdigest()
    assert v["signature"] == "v2=" + mac
    assert signing.sign(VECTORS["secret"], v["method"], v["target"], v["timestamp"], v["nonce"], body,
                        content_type=v["content_type"], idempotency_key=v["idempotency_key"]) == v["signature"]


@pytest.mark.parametrize("v", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vectors_verify(v: dict[str, Any]) -> None:
    verified = _verify(v, now=int(v["timestamp"]) + 299)
    assert (verified.nonce, verified.scheme) == (v["nonce"], "v2")


@pytest.mark.parametrize("r", VECTORS["rejections"], ids=lambda r: r["name"])
def test_rejection_vectors(r: dict[str, Any]) -> None:
    with pytest.raises(SignatureRejected) as exc:
        _verify(r, now=r["now"])
    assert exc.value.code == r["error"]


@pytest.mark.parametrize("v", VECTORS["legacy_v1"]["vectors"], ids=lambda v: v["name"])
def test_v1_still_verifies_without_an_idempotency_key(v: dict[str, Any]) -> None:
    body = v["body"].encode()
    expected_string = "\n".join(["v1", v["method"].upper(), v["target"], v["timestamp"], v["nonce"],
                                 hashlib.sha256(body).hexdigest()])
    assert v["string_to_sign"] == expected_string
    assert v["signature"] == "v1=" + hmac.new(VECTORS["secret"].encode(), expected_string.encode(),
                                              hashlib.sha256).hexdigest()
    assert _verify(v, now=int(v["timestamp"])).scheme == "v1"
    with pytest.raises(SignatureOutdated):
        _verify({**v, "idempotency_key": "any-key-at-all"}, now=int(v["timestamp"]))


def test_expired_is_its_own_error() -> None:
    v = VECTORS["vectors"][0]
    with pytest.raises(SignatureExpired, match="clock"):
        _verify(v, now=int(v["timestamp"]) + 3600)


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(signing.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    v = VECTORS["vectors"][1]
    _verify(v, now=int(v["timestamp"]))
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
    assert response.json["code"] == "signature_missing"


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


@pytest.mark.parametrize("tamper", ["none", "body", "path", "query", "method", "secret", "idempotency_key",
                                    "content_type"])
def test_tampered_requests_are_refused_and_change_nothing(api: Any, clock: Any, tamper: str) -> None:
    payment = register(api, "manual", "bank-1", 10000)
    other = register(api, "manual", "bank-2", 10000, order_id="1002")
    target = f"/v1/payments/{payment['id']}/refunds"
    body = json.dumps({"amount": {"value": 100, "currency": "NOK"}, "reason": "x", "actor": {"id": "1", "name": "a"},
                       "bank_reference": "B1"}).encode()
    headers = signing.signed_headers("another-secret-0123456789-0123456789" if tamper == "secret" else api.secret,
                                     "POST", target, body, int(clock().timestamp()), idempotency_key="tamper-key-1")
    send = {"method": "POST", "path": target, "data": body}
    if tamper == "body":
        send["data"] = body.replace(b"100", b"9999")
    elif tamper == "path":
        send["path"] = target.replace(payment["id"], other["id"])
    elif tamper == "query":
        send["path"] = target + "?x=1"
    elif tamper == "method":
        send["method"] = "PUT"
    elif tamper == "idempotency_key":
        headers["Idempotency-Key"] = "tamper-key-2"
    elif tamper == "content_type":
        headers["Content-Type"] = "application/json; charset=latin-1"
    response = api.client.open(send.pop("path"), headers=headers, **send)
    if tamper == "none":  # the same request untouched goes through: the refusals are the tampering's doing
        assert response.status_code == 201, response.json
        return
    assert response.status_code == 401, response.json
    for p in (payment, other):
        assert api.get(f"/v1/payments/{p['id']}/refunds").json["refunds"] == []


def test_a_swapped_idempotency_key_cannot_make_a_second_refund(api: Any, clock: Any) -> None:
    """Issue 12's attack: the key swapped on the way, then the plugin's normal retry with its own key."""
    payment = register(api, "manual", "bank-swap", 10000)
    target = f"/v1/payments/{payment['id']}/refunds"
    data = json.dumps(refund_body(5000, bank_reference="B1")).encode()
    sent = signing.signed_headers(api.secret, "POST", target, data, int(clock().timestamp()),
                                  idempotency_key="review-key-0001")
    swapped = api.client.post(target, data=data, headers={**sent, "Idempotency-Key": "attacker-key-0001"})
    assert swapped.status_code == 401 and swapped.json["code"] == "signature_invalid"
    retry = api.post(target, refund_body(5000, bank_reference="B1"), headers={"Idempotency-Key": "review-key-0001"})
    assert retry.status_code == 201
    again = api.post(target, refund_body(5000, bank_reference="B1"), headers={"Idempotency-Key": "review-key-0001"})
    assert again.status_code == 200 and again.json["id"] == retry.json["id"]
    assert api.get(f"/v1/payments/{payment['id']}").json["refunded"]["value"] == 5000


def _legacy(api: Any, clock: Any, method: str, target: str, data: bytes = b"", **headers: str) -> Any:
    now = str(int(clock().timestamp()))
    nonce = signing.secrets.token_urlsafe(18)
    return api.client.open(target, method=method, data=data, headers={
        "Content-Type": "application/json", signing.TIMESTAMP_HEADER: now, signing.NONCE_HEADER: nonce,
        signing.SIGNATURE_HEADER: signing.sign_legacy(api.secret, method, target, now, nonce, data), **headers})


def test_v1_serves_an_older_plugin_but_never_a_call_with_an_idempotency_key(api: Any, clock: Any) -> None:
    payment = register(api, "manual", "bank-v1", 10000)
    assert _legacy(api, clock, "GET", "/v1/ping").status_code == 200
    assert _legacy(api, clock, "GET", f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 10000
    for target, body in ((f"/v1/payments/{payment['id']}/refunds", refund_body(100, bank_reference="B1")),
                         ("/v1/bulk-refunds", {"lines": [{"order_id": "1001", "payment_id": payment["id"]}],
                                               "reason": "x", "actor": ACTOR})):
        refused = _legacy(api, clock, "POST", target, json.dumps(body).encode(), **{"Idempotency-Key": "v1-key-0001"})
        assert refused.status_code == 401 and refused.json["code"] == "signature_outdated", refused.json
        assert "Update the Refunder plugin" in refused.json["detail"]
        without_key = _legacy(api, clock, "POST", target, json.dumps(body).encode())
        assert without_key.status_code == 422 and "Idempotency-Key" in without_key.json["errors"]
    assert api.get(f"/v1/payments/{payment['id']}/refunds").json["refunds"] == []


def test_duplicate_idempotency_key_headers_are_refused_not_joined(api: Any, clock: Any) -> None:
    payment = register(api, "manual", "bank-dup", 10000)
    target = f"/v1/payments/{payment['id']}/refunds"
    data = json.dumps(refund_body(100, bank_reference="B1")).encode()
    for joined in ("dup-key-0001,dup-key-0002", "dup-key-0001, dup-key-0002"):  # as gunicorn and werkzeug join
        sent = signing.signed_headers(api.secret, "POST", target, data, int(clock().timestamp()),
                                      idempotency_key=joined)
        headers = [(k, v) for k, v in sent.items() if k != "Idempotency-Key"]
        headers += [("Idempotency-Key", part.strip()) for part in joined.split(",")]
        response = api.client.post(target, data=data, headers=headers)
        assert response.status_code == 400, response.json
        assert response.json["code"] == "duplicate_header" and response.json["field"] == "Idempotency-Key"
        assert response.content_type == "application/problem+json"
    assert api.get(f"/v1/payments/{payment['id']}/refunds").json["refunds"] == []


def test_unknown_v1_paths_need_a_signature_first(api: Any) -> None:
    assert api.client.get("/v1/nothing-here").status_code == 401
    assert api.client.delete("/v1/payments").status_code == 401
    assert api.get("/v1/nothing-here").status_code == 404
