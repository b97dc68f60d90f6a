"""What the ledger forgets, and when: only what guards against repeats, never the bookkeeping record.

- A request nonce, once its timestamp is outside the signature window: the request is refused as
  expired from then on, so the nonce guards nothing.
- An idempotency key, IDEMPOTENCY_KEYS_KEPT after its refund was requested. A key only comes back while
  the review that made it is open in WordPress (the plugin keeps a review 30 minutes, a bulk selection
  an hour; nothing retries a creation later), and a captured request cannot be replayed after its 5
  minutes. 30 days is far beyond both; a key sent again after that would be taken as a new refund.

Payments, refunds and audit events are never purged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete

from .models import IdempotencyKey, RequestNonce

IDEMPOTENCY_KEYS_KEPT = timedelta(days=30)


def purge(connection: Connection, now: int) -> None:
    """Delete expired nonces and idempotency keys older than IDEMPOTENCY_KEYS_KEPT (now: Unix seconds)."""
    connection.execute(delete(RequestNonce).where(RequestNonce.expires_at < now))
    oldest_kept = datetime.fromtimestamp(now, UTC) - IDEMPOTENCY_KEYS_KEPT
    connection.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < oldest_kept))
