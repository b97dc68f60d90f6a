"""The request signature WordPress puts on every call to the sidecar (scheme "v2").

    string_to_sign = "v2\n" + METHOD + "\n" + target + "\n" + timestamp + "\n" + nonce + "\n"
                     + Content-Type + "\n" + Idempotency-Key + "\n" + hex(sha256(raw body))
    X-Refunder-Signature: v2=hex(HMAC-SHA256(shared secret as UTF-8, string_to_sign))

target is the percent-encoded path plus "?query" when there is one; timestamp is Unix seconds;
nonce is 16-64 characters of [A-Za-z0-9_-], never reused. Content-Type and Idempotency-Key are the
header values as sent ("" when absent): the only headers besides the signature's own that the sidecar
reads, so swapping either breaks the signature. tests/vectors/signature.json holds vectors both sides
test against.

Scheme v1 (the same without the two header lines, "v1=" prefix) is still accepted from a plugin older
than the sidecar, but never for a request that carries an Idempotency-Key: v1 does not cover it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from .errors import SignatureExpired, SignatureMalformed, SignatureMissing, SignatureOutdated, SignatureRejected

SCHEME = "v2"
LEGACY_SCHEME = "v1"
TIMESTAMP_HEADER = "X-Refunder-Timestamp"
NONCE_HEADER = "X-Refunder-Nonce"
SIGNATURE_HEADER = "X-Refunder-Signature"
CONTENT_TYPE_HEADER = "Content-Type"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_SKEW_SECONDS = 300

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^(v1|v2)=([0-9a-f]{64})$")


def string_to_sign(method: str, target: str, timestamp: str, nonce: str, body: bytes, *,
                   content_type: str = "", idempotency_key: str = "") -> str:
    return "\n".join((SCHEME, method.upper(), target, timestamp, nonce, content_type, idempotency_key,
                      hashlib.sha256(body).hexdigest()))


def legacy_string_to_sign(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join((LEGACY_SCHEME, method.upper(), target, timestamp, nonce, hashlib.sha256(body).hexdigest()))


def _mac(secret: str, text: str) -> str:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(secret: str, method: str, target: str, timestamp: str, nonce: str, body: bytes, *,
         content_type: str = "", idempotency_key: str = "") -> str:
    text = string_to_sign(method, target, timestamp, nonce, body, content_type=content_type,
                          idempotency_key=idempotency_key)
    return f"{SCHEME}={_mac(secret, text)}"


def sign_legacy(secret: str, method: str, target: str, timestamp: str, nonce: str, body: bytes) -> str:
    return f"{LEGACY_SCHEME}={_mac(secret, legacy_string_to_sign(method, target, timestamp, nonce, body))}"


def signed_headers(secret: str, method: str, target: str, body: bytes, now: int, *,
                   content_type: str = "application/json", idempotency_key: str | None = None) -> dict[str, str]:
    """Headers for a new signed request, Content-Type and Idempotency-Key included (CLI, tests, benchmarks)."""
    nonce = secrets.token_urlsafe(18)
    timestamp = str(now)
    headers = {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, method, target, timestamp, nonce, body, content_type=content_type,
                               idempotency_key=idempotency_key or ""),
    }
    if content_type:
        headers[CONTENT_TYPE_HEADER] = content_type
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


@dataclass(frozen=True)
class VerifiedRequest:
    nonce: str
    timestamp: int
    scheme: str


def verify(
    secret: str,
    *,
    method: str,
    target: str,
    body: bytes,
    timestamp: str | None,
    nonce: str | None,
    signature: str | None,
    now: int,
    content_type: str = "",
    idempotency_key: str = "",
) -> VerifiedRequest:
    """Check the headers of one request. Replay (nonce reuse) is the caller's job, after this passes."""
    if not timestamp or not nonce or not signature:
        raise SignatureMissing()
    found = _SIGNATURE.match(signature)
    if not _TIMESTAMP.match(timestamp) or not _NONCE.match(nonce) or not found:
        raise SignatureMalformed()
    scheme = found.group(1)
    if scheme == LEGACY_SCHEME:
        if idempotency_key:
            raise SignatureOutdated()
        expected = sign_legacy(secret, method, target, timestamp, nonce, body)
    else:
        expected = sign(secret, method, target, timestamp, nonce, body, content_type=content_type,
                        idempotency_key=idempotency_key)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        raise SignatureRejected()
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SignatureExpired(max_skew_seconds=MAX_SKEW_SECONDS)
    return VerifiedRequest(nonce=nonce, timestamp=int(timestamp), scheme=scheme)
