"""The refund handling, assembled from its parts over one context (ledger, providers, clock, time budget):
payments (registration, sync), refunds (sending), reconcile (follow-up, webhooks) and reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from .context import Context
from .ledger.database import Database
from .payments import Payments
from .providers.base import Provider
from .providers.budget import DEFAULT_SECONDS
from .reads import Reads
from .reconcile import Reconciler
from .refunds import Refunds


class RefundService(Context):
    def __init__(self, db: Database, providers: Mapping[str, Provider], clock: Callable[[], datetime],
                 budget: float = DEFAULT_SECONDS) -> None:
        super().__init__(db, providers, clock, budget)
        self.reads = Reads(self)
        self.payments = Payments(self, self.reads)
        self.refunds = Refunds(self, self.reads)
        self.reconciler = Reconciler(self, self.payments)
