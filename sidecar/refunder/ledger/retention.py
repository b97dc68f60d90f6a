"""How long the ledger keeps idempotency keys, and the purge that forgets them.

A key is kept IDEMPOTENCY_KEYS_KEPT after its refund was requested. It only comes back while the review
that made it is open in WordPress (the plugin keeps a review 30 minutes, a bulk selection an hour, and
nothing retries a creation later), and a captured request cannot be replayed after its 5 minutes
(signing.MAX_SKEW_SECONDS). 30 days is far beyond both; a key sent again after that would be taken as
a new refund. Payments, refunds and audit events are never purged (expired nonces: ledger/nonces.py).
"""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from ..errors import LedgerUnavailable
from .database import Database
from .models import IdempotencyKey

log = logging.getLogger(__name__)

IDEMPOTENCY_KEYS_KEPT = timedelta(days=30)
PURGE_EVERY = 100  # signed requests between purges (in each process)
_seen = itertools.count()


def purge_now_and_then(db: Database, now: int) -> None:
    """Every PURGE_EVERY calls, delete idempotency keys older than IDEMPOTENCY_KEYS_KEPT (now: Unix seconds).

    Housekeeping: it never makes the request it rides along with wait (Database.at_once). When the ledger is
    busy or away it is left for the next time, and the request goes on.
    """
    if next(_seen) % PURGE_EVERY:
        return
    oldest_kept = datetime.fromtimestamp(now, UTC) - IDEMPOTENCY_KEYS_KEPT
    try:
        with db.at_once() as connection:
            connection.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < oldest_kept))
    except (SQLAlchemyError, LedgerUnavailable) as exc:
        log.warning("idempotency keys not purged this time: %s", type(exc).__name__)
