"""Work a request leaves for after its response has been sent, so that its caller does not wait for it.

Under `refunder serve` the worker thread runs that work once it has written the response (api.worker); under
any other server, and in tests, there is no such moment to wait for, and the work runs at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)
_left = threading.local()


def after_response(work: Callable[[], object]) -> None:
    """Run `work` once this thread's response is sent (at once when nothing will run it then)."""
    pending: list[Callable[[], object]] | None = getattr(_left, "work", None)
    if pending is None:
        work()
    else:
        pending.append(work)


@contextmanager
def responding() -> Iterator[None]:
    """Around one request in a worker thread: on leaving, the work it left runs, in the order it was left; a
    failure is logged and the rest still runs."""
    pending: list[Callable[[], object]] = []
    _left.work = pending
    try:
        yield
    finally:
        _left.work = None
        for work in pending:
            try:
                work()
            except Exception:
                log.exception("work left for after the response failed")
