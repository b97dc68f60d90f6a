"""A provider's call rate kept across processes: each paced call books the next free slot in the ledger.

Several `refunder worker` processes (or hosts) sharing one ledger thus stay under one global limit
(e.g. Stripe's per-account requests per second), not one limit each.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from .database import Database, once_more_on_conflict
from .models import ProviderPace


def book_slot(db: Database, provider: str, per_second: float, clock: Callable[[], datetime]) -> datetime:
    """The time at which this call may be sent; the slot after it is left for the next caller.

    The clock is read once the schedule's lock is held: a slot taken from a time read before a wait for the
    lock (a new connection, another worker booking) would already be past, and its call would go out together
    with the next one.
    """
    interval = timedelta(seconds=1 / per_second)

    def book() -> datetime:
        with db.transaction() as s:
            pace = s.scalars(select(ProviderPace).where(ProviderPace.provider == provider)
                             .with_for_update()).one_or_none()
            now = clock()
            if pace is None:
                s.add(ProviderPace(provider=provider, next_at=now + interval))
                return now
            slot = max(now, pace.next_at)
            pace.next_at = slot + interval
            return slot

    return once_more_on_conflict(book)  # two first callers at once: one inserts, the other books after it
