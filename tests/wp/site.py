"""One test site brought up by scripts/wp-env.sh, and what tests do with it: run PHP inside it, find its order
screens, switch a gateway plugin on, read its PHP log and the outbound HTTP it logged."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Not ours: what WordPress, WooCommerce and the gateway plugins log about themselves (e.g. PHP 8.2 deprecations).
OURS = re.compile(r"Fatal|/refunder/|woocommerce-double|/tests/wp/|<code>refunder</code>")


@dataclass(frozen=True)
class WordPress:
    url: str
    directory: Path
    sidecar_url: str
    storage: str = "double"  # "hpos" or "legacy" on a real WooCommerce; "double" for the project's double

    def eval(self, php: str) -> str:
        """Run PHP inside WordPress (as the administrator) and return what it printed."""
        script = self.directory / "bin" / f"eval-{time.time_ns()}.php"
        script.write_text("<?php\n" + php)
        try:
            done = subprocess.run(["php", str(self.directory / "bin" / "wp-eval.php"), str(script)],
                                  capture_output=True, text=True, timeout=60)
        finally:
            script.unlink()
        assert done.returncode == 0, f"PHP failed ({done.returncode}): {done.stderr or done.stdout}"
        return done.stdout

    def php_problems(self) -> list[str]:
        """Fatal errors anywhere, and warnings, notices and deprecations from the plugin, the WooCommerce double
        or the test helpers. WordPress, WooCommerce and the gateway plugins log their own (not ours to fix)."""
        log = self.directory / "debug.log"
        return [line for line in (log.read_text().splitlines() if log.exists() else []) if OURS.search(line)]

    def order_screens(self, order_id: int) -> dict[str, str]:
        """The order's edit screens: the one of this site's storage on a real WooCommerce, both on the double."""
        screens = {"legacy": f"{self.url}/wp-admin/post.php?post={order_id}&action=edit",
                   "hpos": f"{self.url}/wp-admin/admin.php?page=wc-orders&action=edit&id={order_id}"}
        return screens if self.storage == "double" else {self.storage: screens[self.storage]}

    def order_screen(self, order_id: int) -> str:
        return next(iter(self.order_screens(order_id).values()))

    def order_list(self) -> tuple[str, str]:
        """The order list's URL and the name its bulk actions give the chosen ids."""
        if self.storage == "hpos":
            return f"{self.url}/wp-admin/admin.php?page=wc-orders", "id[]"
        return f"{self.url}/wp-admin/edit.php?post_type=shop_order", "post[]"

    def show_orders_in(self, screen: str) -> None:
        """The double shows either order screen by WooCommerce's option; a real WooCommerce keeps its storage's."""
        if self.storage == "double":
            hpos = "yes" if screen == "hpos" else "no"
            self.eval(f"update_option('woocommerce_custom_orders_table_enabled', '{hpos}');")
        else:
            assert screen == self.storage, f"this site keeps its orders in {self.storage}"

    def plugin_installed(self, slug: str) -> bool:
        return (self.directory / "docroot" / "wp-content" / "plugins" / slug).is_dir()

    @contextmanager
    def plugin(self, slug: str) -> Iterator[None]:
        """A gateway plugin (e.g. woo-vipps) active for the block; the test is skipped when it is not installed."""
        if not self.plugin_installed(slug):
            pytest.skip(f"{slug} is not installed: the real gateway plugins come from ../shared/wordpress "
                        "(REFUNDER_SHARED_WORDPRESS) beside a real WooCommerce")
        self.eval(f"$r = refunder_test_activate_plugin('{slug}'); if (is_wp_error($r)) {{ fwrite(STDERR, "
                  "$r->get_error_message()); exit(1); }")
        try:
            yield
        finally:
            self.eval(f"refunder_test_deactivate_plugin('{slug}');")

    def outbound(self) -> list[dict]:
        """Every outbound HTTP request the site made: url, method, body, answer (sent, blocked, canned, test filter)."""
        log = self.directory / "outbound-http.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def outbound_to(self, host: str) -> list[dict]:
        return [r for r in self.outbound() if urlsplit(r["url"]).hostname == host]
