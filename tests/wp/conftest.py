"""A real WordPress + MariaDB (scripts/wp-env.sh) and a real sidecar under gunicorn, for the plugin's tests."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from refunder.money import Money
from refunder.providers.simulator import SimulatorProvider
from tests.fakes.sidecar import free_port, serving_sidecar

ROOT = Path(__file__).resolve().parents[2]
SECRET = "wp-test-secret-0123456789-abcdefghijklmnop"
# Payments the simulator holds for the plugin's tests: reference -> NOK minor units.
SIMULATED = {**{f"wp-sim-{i:04d}": 150000 for i in range(40)}, "wp-async-0001-async": 150000,
             "wp-decline-0001-decline": 150000, "wp-timeout-0001-timeout": 150000,
             "wp-browser-legacy-async": 150000, "wp-browser-hpos-async": 150000}


@dataclass(frozen=True)
class WordPress:
    url: str
    directory: Path
    sidecar_url: str

    def eval(self, php: str) -> str:
        """Run PHP inside WordPress (as the administrator) and return what it printed."""
        script = self.directory / "bin" / f"eval-{time.time_ns()}.php"
        script.write_text("<?php\n" + php)
        try:
            return subprocess.run(["php", str(self.directory / "bin" / "wp-eval.php"), str(script)], check=True,
                                  capture_output=True, text=True, timeout=60).stdout
        finally:
            script.unlink()

    def php_problems(self) -> list[str]:
        """Fatal errors, and any warning, notice or deprecation from the plugin or the WooCommerce double.

        WordPress 6.1 (Debian) and WooCommerce 7.9 on PHP 8.2 log deprecations of their own: not ours to fix.
        """
        log = self.directory / "debug.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line for line in lines
                if "Fatal" in line or "/refunder/" in line or "woocommerce-double" in line]


@pytest.fixture(scope="session")
def sidecar_url(sidecar_env: dict[str, str]) -> str:
    return "http://" + sidecar_env["REFUNDER_BIND"]


@pytest.fixture(scope="session")
def sidecar_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The sidecar's environment: `refunder` commands (worker, reconcile) run against the same ledger."""
    data = tmp_path_factory.mktemp("wp-sidecar")
    simulator = SimulatorProvider(data / "sim.db", lambda: datetime.now(UTC))
    for reference, minor in SIMULATED.items():
        simulator.add_payment(reference, Money(minor, "NOK"), datetime.now(UTC) - timedelta(days=1))
    settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": f"sqlite:///{data / 'ledger.db'}",
                "REFUNDER_PROVIDERS": "manual,simulator", "REFUNDER_SIMULATOR_PATH": str(data / "sim.db"),
                "REFUNDER_WORKERS": "2"}
    with serving_sidecar(settings, data / "sidecar.log") as (_, env):
        yield env


@pytest.fixture(scope="session")
def wordpress(sidecar_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPress]:
    directory = tmp_path_factory.mktemp("wordpress")
    port = free_port()
    env = {**os.environ, "W": str(directory), "PORT": str(port), "DBPORT": str(free_port())}
    subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "up"], check=True, env=env, timeout=900)
    mu_plugins = directory / "docroot" / "wp-content" / "mu-plugins"
    for helper in (ROOT / "tests" / "wp" / "mu-plugins").glob("*.php"):
        (mu_plugins / helper.name).symlink_to(helper)
    wp = WordPress(f"http://127.0.0.1:{port}", directory, sidecar_url)
    wp.eval(f"update_option('refunder_settings', array('url' => '{sidecar_url}', 'secret' => '{SECRET}'));")
    yield wp
    subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "down"], env=env, timeout=60)
