"""Payment providers, one module each, all behind providers.base.Provider."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..config import Settings
from ..errors import ConfigurationError
from .base import Provider
from .manual import ManualProvider
from .simulator import SimulatorProvider


def build_providers(settings: Settings, clock: Callable[[], datetime]) -> dict[str, Provider]:
    """The providers enabled in settings, by name."""
    factories: dict[str, Callable[[], Provider]] = {
        "manual": ManualProvider,
        "simulator": lambda: SimulatorProvider(settings.simulator_path, clock),
    }
    unknown = set(settings.providers) - set(factories)
    if unknown:
        raise ConfigurationError(f"Unknown providers in REFUNDER_PROVIDERS: {', '.join(sorted(unknown))}.")
    return {name: factories[name]() for name in settings.providers}
