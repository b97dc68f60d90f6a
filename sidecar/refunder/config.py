"""Settings from environment variables (REFUNDER_*) or a TOML file named by REFUNDER_CONFIG.

Provider settings live in sections: REFUNDER_VIPPS_CLIENT_ID or [vipps] client_id in the file; test
credentials beside them in REFUNDER_VIPPS_TEST_* or [vipps_test]. The sections and their keys are the
registered providers' (providers.sections()); anything else named REFUNDER_* stops startup, naming it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .providers import budget
from .providers import sections as provider_sections

DEFAULT_PROVIDERS = ("manual",)
# REFUNDER_* names that are not the sidecar's settings: the file's name, the demo's folder, the plugin's own
# constant, and what test harnesses read (REFUNDER_TEST_*, the Vipps specs, the shared WordPress, the test site).
NOT_SETTINGS = frozenset({"REFUNDER_CONFIG", "REFUNDER_DEMO_DIR", "REFUNDER_SIDECAR_URL", "REFUNDER_VIPPS_SPECS",
                          "REFUNDER_SHARED_WORDPRESS", "REFUNDER_WP_DIR"})
NOT_SETTINGS_PREFIX = "REFUNDER_TEST_"
MIN_BUDGET, MAX_BUDGET = 1.0, 50.0  # seconds; the answer must come before gunicorn's and nginx's 60 s


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
    provider_budget: float = budget.DEFAULT_SECONDS  # seconds one provider interaction may take, retries included
    bulk_in_flight: int = 32  # most bulk refunds one `refunder worker` keeps in flight, all providers together
    sections: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.shared_secret) < 32:
            raise ConfigurationError("REFUNDER_SHARED_SECRET must be at least 32 characters.")
        if not MIN_BUDGET <= self.provider_budget <= MAX_BUDGET:
            raise ConfigurationError(f"REFUNDER_PROVIDER_BUDGET must be {MIN_BUDGET:g} to {MAX_BUDGET:g} seconds: "
                                     "gunicorn and nginx give a request 60 s.")
        if self.bulk_in_flight < 1:
            raise ConfigurationError("REFUNDER_BULK_IN_FLIGHT must be at least 1.")

    def section(self, name: str) -> Mapping[str, str]:
        return self.sections.get(name, {})

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """File values first, environment over them."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get("REFUNDER_CONFIG"):
            values.update(tomllib.loads(Path(env["REFUNDER_CONFIG"]).read_text(encoding="utf-8")))
        known = provider_sections()
        sections: dict[str, dict[str, str]] = {}
        for name in known:
            table = values.pop(name, {})
            sections[name] = {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}
        top = {f.name for f in fields(cls)} - {"sections"}
        strangers: list[str] = []
        for key, raw in env.items():
            if not key.startswith("REFUNDER_") or key in NOT_SETTINGS or key.startswith(NOT_SETTINGS_PREFIX):
                continue
            name = key[len("REFUNDER_"):].lower()
            if name in top:
                values[name] = raw
                continue
            section = next((s for s in known if name.startswith(s + "_")), None)
            if section is None:
                strangers.append(key)
            else:
                sections[section][name[len(section) + 1:]] = raw
        if strangers:
            raise ConfigurationError(f"Unknown settings: {', '.join(sorted(strangers))}. Settings are "
                                     f"{', '.join('REFUNDER_' + t.upper() for t in sorted(top))}, and provider "
                                     f"sections REFUNDER_<SECTION>_<KEY> for {', '.join(sorted(known))}.")
        for section, given in sections.items():
            typos = sorted(set(given) - known[section])
            if typos:
                names = ", ".join(f"REFUNDER_{section.upper()}_{k.upper()} ([{section}] {k})" for k in typos)
                raise ConfigurationError(f"Unknown {section} settings: {names}. The {section} section takes "
                                         f"{', '.join(sorted(known[section]))}.")
        if "shared_secret" not in values:
            raise ConfigurationError("REFUNDER_SHARED_SECRET is not set.")
        if isinstance(values.get("providers"), str):
            values["providers"] = tuple(p.strip() for p in values["providers"].split(",") if p.strip())
        elif "providers" in values:
            values["providers"] = tuple(values["providers"])
        for name in ("workers", "threads", "max_request_bytes", "trusted_proxies", "bulk_in_flight"):
            if name in values:
                values[name] = int(values[name])
        for name in ("follow_up_every", "provider_budget"):
            if name in values:
                values[name] = float(values[name])
        unknown = set(values) - top
        if unknown:
            raise ConfigurationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
        return cls(**values, sections={k: v for k, v in sections.items() if v})
