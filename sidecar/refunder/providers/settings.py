"""Reading one provider's settings section into a typed dataclass, with plain-words errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar

from ..errors import ConfigurationError

T = TypeVar("T")


def from_section(cls: type[T], section: str, values: Mapping[str, str]) -> T:
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigurationError(f"Unknown {section} settings: {', '.join(sorted(unknown))}.")
    missing = [name for name, f in known.items()
               if name not in values and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        names = ", ".join(f"REFUNDER_{section.upper()}_{name.upper()}" for name in missing)
        raise ConfigurationError(f"The {section} provider is enabled but not configured: set {names}.")
    kwargs: dict[str, Any] = {}
    for name, raw in values.items():
        kwargs[name] = float(raw) if known[name].type in ("float", float) else raw
    return cls(**kwargs)
