"""Settings from environment variables (REFUNDER_*) or a TOML file named by REFUNDER_CONFIG.

Provider settings live in sections: REFUNDER_VIPPS_CLIENT_ID or [vipps] client_id in the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

DEFAULT_PROVIDERS = ("manual",)
SECTIONS = ("stripe_connect", "stripe", "vipps", "mollie", "simulator")  # longest prefix first


@dataclass(frozen=True)
class Settings:
    shared_secret: str = field(repr=False)
    database_url: str = "sqlite:///var/refunder.db"
    providers: tuple[str, ...] = DEFAULT_PROVIDERS
    bind: str = "127.0.0.1:8765"
    workers: int = 2
    threads: int = 4  # per worker (gunicorn gthread): slow provider calls do not hold up other requests
    max_request_bytes: int = 64 * 1024
    trusted_proxies: int = 0  # reverse proxies in front: their X-Forwarded-Host/Proto are believed
    follow_up_every: float = 5.0  # seconds between the follow-up's rounds in `refunder serve` (0: none)
    sections: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.shared_secret) < 32:
            raise ConfigurationError("REFUNDER_SHARED_SECRET must be at least 32 characters.")

    def section(self, name: str) -> Mapping[str, str]:
        return self.sections.get(name, {})

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """File values first, environment over them."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get("REFUNDER_CONFIG"):
            values.update(tomllib.loads(Path(env["REFUNDER_CONFIG"]).read_text(encoding="utf-8")))
        sections: dict[str, dict[str, str]] = {name: dict(values.pop(name, {})) for name in SECTIONS}
        top = {f.name for f in fields(cls)} - {"sections"}
        for key, raw in env.items():
            if not key.startswith("REFUNDER_") or key == "REFUNDER_CONFIG":
                continue
            name = key[len("REFUNDER_"):].lower()
            if name in top:
                values[name] = raw
                continue
            section = next((s for s in SECTIONS if name.startswith(s + "_")), None)
            if section:
                sections[section][name[len(section) + 1:]] = raw
        if "shared_secret" not in values:
            raise ConfigurationError("REFUNDER_SHARED_SECRET is not set.")
        if isinstance(values.get("providers"), str):
            values["providers"] = tuple(p.strip() for p in values["providers"].split(",") if p.strip())
        elif "providers" in values:
            values["providers"] = tuple(values["providers"])
        for name in ("workers", "threads", "max_request_bytes", "trusted_proxies"):
            if name in values:
                values[name] = int(values[name])
        if "follow_up_every" in values:
            values["follow_up_every"] = float(values["follow_up_every"])
        unknown = set(values) - top
        if unknown:
            raise ConfigurationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
        return cls(**values, sections={k: v for k, v in sections.items() if v})
