"""A provider's pace in the ledger: a slot is booked from the time the schedule's lock is held."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from refunder.ledger.database import Database
from refunder.ledger.models import ProviderPace
from refunder.ledger.pace import book_slot


def now() -> datetime:
    return datetime.now(UTC)


def test_slots_follow_each_other_at_the_rate(db: Database) -> None:
    slots = [book_slot(db, "stripe", 20, now) for _ in range(5)]
    assert [b - a for a, b in zip(slots, slots[1:], strict=False)] == [timedelta(milliseconds=50)] * 4
    assert slots[-1] > now()  # booked ahead: the caller waits for it


def test_a_slot_booked_after_a_wait_for_the_lock_is_not_already_past(db: Database) -> None:
    """Another worker holds the schedule (or a new connection is slow): the slot is not the time the caller
    started to book, which would send its call at once, together with the next caller's."""
    book_slot(db, "stripe", 20, now)
    time.sleep(0.1)  # the schedule's next slot is past: the next booking is "now"
    held = threading.Event()
    holder_done: list[datetime] = []

    def hold() -> None:
        with db.transaction() as s:
            s.scalars(select(ProviderPace).where(ProviderPace.provider == "stripe").with_for_update()).one()
            held.set()
            time.sleep(0.3)
            holder_done.append(now())

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    slot = book_slot(db, "stripe", 20, now)
    holder.join(5)
    assert not holder.is_alive() and slot >= holder_done[0]  # not the moment it asked, 300 ms before
