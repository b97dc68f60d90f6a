"""Payment providers, one module each, all behind providers.base.Provider; each registers itself."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..detection import Detection, Mode, OrderFacts
from ..detection import manual as paid_outside_providers
from ..errors import ConfigurationError
from .base import Provider
from .modes import ModeSwitch
from .registry import TEST_SUFFIX, ProviderSpec, registered
from .settings import from_section

if TYPE_CHECKING:
    from ..config import Settings


def specs() -> dict[str, ProviderSpec]:
    """Every provider this package holds, by name (importing each module registers it)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return registered()


def sections() -> dict[str, frozenset[str]]:
    """Settings sections and the keys each takes, longest name first (REFUNDER_<SECTION>_<KEY>)."""
    found: dict[str, frozenset[str]] = {}
    for spec in specs().values():
        for section in spec.sections():
            found[section] = found.get(section, frozenset()) | spec.keys()
    return dict(sorted(found.items(), key=lambda item: -len(item[0])))


def detect(facts: OrderFacts) -> Detection:
    """The first provider rule that recognises the order; otherwise a manual bank transfer."""
    for spec in specs().values():
        found = spec.detect(facts) if spec.detect else None
        if found is not None:
            return found
    return paid_outside_providers(facts)


def label(name: str) -> str:
    spec = specs().get(name)
    return spec.label if spec else name


def build_providers(settings: Settings, clock: Callable[[], datetime]) -> dict[str, Provider]:
    """The providers enabled in settings, by name, each with its own settings (and test/live credentials)."""
    known = specs()
    unknown = set(settings.providers) - set(known)
    if unknown:
        raise ConfigurationError(f"Unknown providers in REFUNDER_PROVIDERS: {', '.join(sorted(unknown))} "
                                 f"(known: {', '.join(known)}).")
    return {name: _build(known[name], settings.sections, clock) for name in settings.providers}


def _build(spec: ProviderSpec, sections: Mapping[str, Mapping[str, str]], clock: Callable[[], datetime]) -> Provider:
    if spec.build is None:
        raise ConfigurationError(f"{spec.label} ({spec.name}) is recognised in orders, but Refunder cannot refund "
                                 f"through it: remove it from REFUNDER_PROVIDERS.")
    if not spec.modes:
        values = sections.get(spec.settings_section, {})
        plain = from_section(spec.settings, spec.settings_section, values) if spec.settings else None
        return spec.build(plain, None, clock)
    by_mode: dict[Mode, Provider] = {}
    for mode, section in ((Mode.LIVE, spec.settings_section), (Mode.TEST, spec.settings_section + TEST_SUFFIX)):
        values = sections.get(section, {})
        if not values:
            continue
        assert spec.settings is not None
        given: Any = from_section(spec.settings, section, values)
        if spec.check:
            spec.check(given, mode)
        by_mode[mode] = spec.build(given, mode, clock)
    prefix = f"REFUNDER_{spec.settings_section.upper()}"
    if not by_mode:
        raise ConfigurationError(f"The {spec.name} provider is enabled but not configured: set its live credentials "
                                 f"({prefix}_*), its test credentials ({prefix}_TEST_*), or both.")
    return ModeSwitch(spec.name, spec.label, by_mode, prefix)
