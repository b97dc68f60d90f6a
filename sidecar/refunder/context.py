"""What every part of the refund handling works with: the ledger, the providers, the clock and the time budget."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from .errors import ProviderUnavailable
from .ledger.database import Database
from .providers.base import Provider
from .providers.budget import DEFAULT_SECONDS


class Context:
    def __init__(self, db: Database, providers: Mapping[str, Provider], clock: Callable[[], datetime],
                 budget: float = DEFAULT_SECONDS) -> None:
        self.db = db
        self.providers = providers
        self.clock = clock
        self.budget = budget  # seconds one interaction with a provider may take (providers.budget)

    def provider(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise ProviderUnavailable(provider=name) from None
