"""Payment providers, one module each, all behind providers.base.Provider."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..config import Settings
from ..errors import ConfigurationError
from .base import Provider
from .manual import ManualProvider
from .mollie import MollieProvider, MollieSettings
from .settings import from_section
from .simulator import SimulatorProvider
from .stripe_cards import StripeProvider, StripeSettings
from .stripe_connect import StripeConnectProvider, StripeConnectSettings
from .vipps_client import VippsSettings
from .vipps_ecom import VippsEcomProvider
from .vipps_epayment import VippsEPaymentProvider


def build_providers(settings: Settings, clock: Callable[[], datetime]) -> dict[str, Provider]:
    """The providers enabled in settings, by name, each with its own settings section."""
    def vipps() -> VippsSettings:
        return from_section(VippsSettings, "vipps", settings.section("vipps"))

    factories: dict[str, Callable[[], Provider]] = {
        "manual": ManualProvider,
        "simulator": lambda: SimulatorProvider(settings.section("simulator").get("path", "var/simulator.db"), clock),
        "vipps": lambda: VippsEPaymentProvider(vipps(), clock),
        "vipps_ecom": lambda: VippsEcomProvider(vipps(), clock),
        "stripe": lambda: StripeProvider(from_section(StripeSettings, "stripe", settings.section("stripe")), clock),
        "stripe_connect": lambda: StripeConnectProvider(
            from_section(StripeConnectSettings, "stripe_connect", settings.section("stripe_connect")), clock),
        "mollie": lambda: MollieProvider(from_section(MollieSettings, "mollie", settings.section("mollie")), clock),
    }
    unknown = set(settings.providers) - set(factories)
    if unknown:
        raise ConfigurationError(f"Unknown providers in REFUNDER_PROVIDERS: {', '.join(sorted(unknown))}.")
    return {name: factories[name]() for name in settings.providers}
