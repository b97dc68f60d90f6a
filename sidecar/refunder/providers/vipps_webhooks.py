"""Vipps MobilePay webhook signatures, checked exactly as Vipps signs them.

    x-ms-content-sha256 = base64(SHA-256(body))
    signed = "POST\n" + path_and_query + "\n" + x-ms-date + ";" + host + ";" + x-ms-content-sha256
    Authorization = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="
                    + base64(HMAC-SHA256(secret as UTF-8, signed))

x-ms-date (RFC 1123) must be within MAX_AGE of our clock, either way: an old signed webhook replayed, or
one dated ahead, is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from .base import WEBHOOK_SECRET_MISSING, WEBHOOK_STALE, WEBHOOK_UNSIGNED, WebhookRejected
from .vipps_client import LABEL

MAX_AGE = timedelta(minutes=5)

_PREFIX = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def authorization(secret: str, method: str, path_and_query: str, date: str, host: str, body: bytes) -> str:
    signed = f"{method.upper()}\n{path_and_query}\n{date};{host};{content_hash(body)}"
    mac = hmac.new(secret.encode("utf-8"), signed.encode("utf-8"), hashlib.sha256).digest()
    return _PREFIX + base64.b64encode(mac).decode()


def verify(secret: str, *, method: str, path_and_query: str, host: str, headers: Mapping[str, str],
           body: bytes, now: datetime) -> None:
    """Raise WebhookRejected unless the body hash and the signature both match and the date is fresh."""
    lower = {k.lower(): v for k, v in headers.items()}
    date, claimed_hash, auth = lower.get("x-ms-date"), lower.get("x-ms-content-sha256"), lower.get("authorization")
    if not secret:
        raise WebhookRejected(WEBHOOK_SECRET_MISSING, provider=LABEL, setting="REFUNDER_VIPPS_WEBHOOK_SECRET")
    if not date or not claimed_hash or not auth:  # x-ms-date, x-ms-content-sha256 and Authorization
        raise WebhookRejected(WEBHOOK_UNSIGNED, provider=LABEL)
    if not hmac.compare_digest(claimed_hash.encode(), content_hash(body).encode()):  # the body was changed
        raise WebhookRejected(provider=LABEL)
    expected = authorization(secret, method, path_and_query, date, host, body)
    if not hmac.compare_digest(expected.encode(), auth.encode()):
        raise WebhookRejected(provider=LABEL)
    try:
        sent = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise WebhookRejected(WEBHOOK_STALE, provider=LABEL) from None
    if sent.tzinfo is None or abs(now - sent) > MAX_AGE:
        raise WebhookRejected(WEBHOOK_STALE, provider=LABEL)
