"""Providers register themselves: one module declares its name, label, settings and detection rule.

Every module of this package is imported once (providers.specs()), so adding a provider is its module and
its tests: REFUNDER_PROVIDERS, the settings sections (config) and order detection all read this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..detection import Detection, Mode, OrderFacts

if TYPE_CHECKING:
    from .base import Provider

Clock = Callable[[], datetime]
TEST_SUFFIX = "_test"  # [vipps] holds live credentials, [vipps_test] the test ones


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # in REFUNDER_PROVIDERS and on every payment
    label: str
    # (settings, mode, clock) -> Provider; None: recognised in orders but not refundable through Refunder
    build: Callable[[Any, Mode | None, Clock], Provider] | None = None
    settings: type | None = None  # dataclass read from the settings section
    section: str = ""  # settings section; default: the name (the two Vipps APIs share "vipps")
    modes: bool = False  # live and test credentials side by side ([section] and [section_test])
    internal: frozenset[str] = frozenset()  # settings fields Refunder sets itself (not settable)
    check: Callable[[Any, Mode], None] | None = None  # refuse settings that do not fit the mode
    detect: Callable[[OrderFacts], Detection | None] | None = None  # None: not in this provider's orders

    @property
    def settings_section(self) -> str:
        return self.section or self.name

    def sections(self) -> tuple[str, ...]:
        if self.settings is None:
            return ()
        base = self.settings_section
        return (base, base + TEST_SUFFIX) if self.modes else (base,)

    def keys(self) -> frozenset[str]:
        """The settings a user may give this provider."""
        names = {f.name for f in fields(self.settings)} if self.settings is not None else set()  # type: ignore[arg-type]
        return frozenset(names - self.internal)


_SPECS: dict[str, ProviderSpec] = {}


def register(spec: ProviderSpec) -> ProviderSpec:
    known = _SPECS.get(spec.name)
    if known is not None and known != spec:
        raise RuntimeError(f"Two providers are called {spec.name!r}.")
    _SPECS[spec.name] = spec
    return spec


def registered() -> dict[str, ProviderSpec]:
    """What registered so far, in registration order (providers.specs() imports every module first)."""
    return dict(_SPECS)
