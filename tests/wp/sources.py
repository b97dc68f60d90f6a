"""What the plugin's tests run on: the real WordPress, WooCommerce and gateway plugins beside the checkout
(`../shared/wordpress`, or REFUNDER_SHARED_WORDPRESS), or Debian's WordPress and the project's doubles.

WP_TREE and WC_SRC, when set, name a WordPress or WooCommerce tree directly and win over the shared folder.
Nothing here is copied into the project: scripts/wp-env.sh copies the trees into each temporary site.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_WORDPRESS = Path("/usr/share/wordpress")
DOUBLE = ROOT / "tests" / "wp" / "woocommerce-double"
# slug in wp-content/plugins -> folder name in the shared tree without its version
GATEWAYS = ("woo-vipps", "woocommerce-gateway-stripe", "mollie-payments-for-woocommerce")


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name.rsplit("-", 1)[-1]))


def _newest(shared: Path, name: str) -> Path | None:
    """shared/<name>-<version>/ with the highest version, e.g. woocommerce-10.0.2 (not woocommerce-gateway-…)."""
    found = [p for p in shared.glob(f"{name}-[0-9]*") if p.is_dir()]
    return max(found, key=_version) if found else None


@dataclass(frozen=True)
class Sources:
    shared: Path
    wordpress: Path
    woocommerce: Path | None  # None: the project's WooCommerce double
    gateways: dict[str, Path] = field(default_factory=dict)  # slug -> tree, copied into the site, not active

    @property
    def real_woocommerce(self) -> bool:
        return self.woocommerce is not None

    @property
    def storages(self) -> list[str]:
        """Order storages each order test runs in: both on real WooCommerce, the double's one otherwise."""
        return ["hpos", "legacy"] if self.real_woocommerce else ["double"]

    def describe(self) -> str:
        if self.woocommerce is None:
            return (f"real WooCommerce not found at {self.shared}: the plugin's tests ran on the project's "
                    f"WooCommerce double and WordPress from {self.wordpress} "
                    "(set REFUNDER_SHARED_WORDPRESS, or WC_SRC and WP_TREE, to run them on the real code)")
        gateways = ", ".join(p.name for p in self.gateways.values()) or "no gateway plugins"
        return (f"the plugin's tests ran on WordPress from {self.wordpress} and {self.woocommerce} "
                f"(HPOS and legacy order storage), with {gateways} installed")

    def site_env(self, storage: str) -> dict[str, str]:
        """Environment for scripts/wp-env.sh."""
        env = {"WP_TREE": str(self.wordpress), "GATEWAYS": " ".join(str(p) for p in self.gateways.values())}
        if self.woocommerce is not None:
            env |= {"WC_SRC": str(self.woocommerce), "STORAGE": storage}
        return env


def discover() -> Sources:
    shared = Path(os.environ.get("REFUNDER_SHARED_WORDPRESS") or ROOT.parent / "shared" / "wordpress").resolve()
    wordpress = Path(os.environ["WP_TREE"]) if os.environ.get("WP_TREE") else _newest(shared, "wordpress")
    woocommerce = Path(os.environ["WC_SRC"]) if os.environ.get("WC_SRC") else _newest(shared, "woocommerce")
    gateways = {slug: tree for slug in GATEWAYS if woocommerce and (tree := _newest(shared, slug)) is not None}
    return Sources(shared, wordpress or DEBIAN_WORDPRESS, woocommerce, gateways)
