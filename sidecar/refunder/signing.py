"""The request signature WordPress puts on every call to the sidecar (scheme "v1").

    string_to_sign = "v1\n" + METHOD + "\n" + target + "\n" + timestamp + "\n" + nonce + "\n"
                     + hex(sha256(raw body))
    X-Refunder-Signature: v1=hex(HMAC-SHA256(shared secret as UTF-8, string_to_sign))

target is the percent-encoded path plus "?query" when there is one; timestamp is Unix seconds;
nonce is 16-64 characters of [A-Za-z0-9_-], never reused. tests/vectors/signature.json holds
vectors both sides test against.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from .errors import SignatureExpired, SignatureRejected

SCHEME = "v1"
TIMESTAMP_HEADER = "X-Refunder-Timestamp"
NONCE_HEADER = "X-Refunder-Nonce"
SIGNATURE_HEADER = "X-Refunder-Signature"
MAX_SKEW_SECONDS = 300

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v1=([0-9a-f]{64})$")


def string_to_sign(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join(
        (SCHEME, method.upper(), target, timestamp, nonce, hashlib.sha256(body).hexdigest())
    )


def sign(secret: str, method: str, target: str, timestamp: str, nonce: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), string_to_sign(method, target, timestamp, nonce, body).encode("utf-8"),
                   hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, method: str, target: str, body: bytes, now: int) -> dict[str, str]:
    """Headers for a new signed request (used by the CLI, tests and benchmarks)."""
    nonce = secrets.token_urlsafe(18)
    timestamp = str(now)
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, method, target, timestamp, nonce, body),
    }


@dataclass(frozen=True)
class VerifiedRequest:
    nonce: str
    timestamp: int


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
) -> VerifiedRequest:
    """Check the headers of one request. Replay (nonce reuse) is the caller's job, after this passes."""
    if not timestamp or not nonce or not signature:
        raise SignatureRejected("The request is not signed: timestamp, nonce and signature headers are required.")
    if not _TIMESTAMP.match(timestamp) or not _NONCE.match(nonce) or not _SIGNATURE.match(signature):
        raise SignatureRejected("The signature headers are malformed.")
    expected = sign(secret, method, target, timestamp, nonce, body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        raise SignatureRejected("The request signature does not match. Check the shared secret on both sides.")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SignatureExpired(
            "The request timestamp is more than 5 minutes away from the sidecar's clock. "
            "Check the clocks of both servers."
        )
    return VerifiedRequest(nonce=nonce, timestamp=int(timestamp))
