"""Replay protection: each signed request's nonce is accepted once while its timestamp is valid."""

from __future__ import annotations

import itertools

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.exc import IntegrityError

from ..errors import ReplayedRequest
from ..signing import MAX_SKEW_SECONDS
from .database import Database
from .models import RequestNonce

PURGE_EVERY = 100  # requests between deletions of expired nonces (in each process)
_seen = itertools.count()
_REMEMBER = insert(RequestNonce)
_PURGE = delete(RequestNonce).where(RequestNonce.expires_at < bindparam("now"))


def remember_nonce(db: Database, nonce: str, timestamp: int, now: int) -> None:
    """Record the nonce until its timestamp leaves the window; a second use raises ReplayedRequest.

    Expired nonces are deleted now and then, not on every request: they cannot be replayed anyway, since
    their timestamps are refused first.
    """
    try:
        with db.autocommit() as connection:  # Core, not a Session: before every request
            if next(_seen) % PURGE_EVERY == 0:
                connection.execute(_PURGE, {"now": now})
            connection.execute(_REMEMBER, {"nonce": nonce, "expires_at": timestamp + MAX_SKEW_SECONDS})
    except IntegrityError:
        raise ReplayedRequest() from None
