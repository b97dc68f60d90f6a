"""Signature check for every /v1 request, before any view runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from flask import Request

from .. import signing
from ..errors import DuplicateHeader, SignatureRejected
from ..ledger.database import Database
from ..ledger.nonces import remember_nonce
from ..ledger.retention import purge_now_and_then

log = logging.getLogger(__name__)

_PATH_SAFE = "/-._~!$&'()*+,;=:@%"


def signed_target(request: Request) -> str:
    """The path exactly as the client sent it (still percent-encoded), plus "?query" when there is one."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")  # gunicorn, werkzeug
    path = raw.split("?", 1)[0] if raw else quote(request.path, safe=_PATH_SAFE)
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


def idempotency_key(request: Request) -> str:
    """The Idempotency-Key as sent, "" when absent. Servers join a repeated header with commas and a key
    holds none, so a comma means the header came twice: refused, never joined into a new key."""
    key = request.headers.get(signing.IDEMPOTENCY_HEADER, "")
    if "," in key:
        raise DuplicateHeader(signing.IDEMPOTENCY_HEADER)
    return key


def make_verifier(secret: str, db: Database, clock: Callable[[], datetime]) -> Callable[[Request], None]:
    def verify(request: Request) -> None:
        now = int(clock().timestamp())
        try:
            verified = signing.verify(
                secret,
                method=request.method,
                target=signed_target(request),
                body=request.get_data(cache=True),
                timestamp=request.headers.get(signing.TIMESTAMP_HEADER),
                nonce=request.headers.get(signing.NONCE_HEADER),
                signature=request.headers.get(signing.SIGNATURE_HEADER),
                now=now,
                content_type=request.headers.get(signing.CONTENT_TYPE_HEADER, ""),
                idempotency_key=idempotency_key(request),
            )
            remember_nonce(db, verified.nonce, verified.timestamp, now)
            purge_now_and_then(db, now)
        except SignatureRejected as exc:
            log.warning("rejected %s %s from %s: %s", request.method, request.path, request.remote_addr, exc.code)
            raise

    return verify
