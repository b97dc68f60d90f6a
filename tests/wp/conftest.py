"""Real WordPress + MariaDB sites (scripts/wp-env.sh) and a real sidecar under gunicorn, for the plugin's tests.

Every test that uses `wordpress` runs once per order storage: HPOS and legacy on the real WooCommerce found by
tests/wp/sources.py (../shared/wordpress), or once on the project's WooCommerce double, which the test session
then says at its end. Each storage has its own site and sidecar; only one is up at a time.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from refunder.money import Money
from refunder.providers.simulator import SimulatorProvider
from tests.fakes.sidecar import free_port, serving_sidecar
from tests.wp.site import WordPress
from tests.wp.sources import ROOT, discover

__all__ = ["ROOT", "SECRET", "SOURCES", "WordPress"]

SECRET = "wp-test-secret-0123456789-abcdefghijklmnop"
SOURCES = discover()
SITES: list[str] = []  # the storages whose site this session brought up
# Payments the simulator holds for the plugin's tests: reference -> NOK minor units.
SIMULATED = {**{f"wp-sim-{i:04d}": 150000 for i in range(40)}, "wp-async-0001-async": 150000,
             "wp-decline-0001-decline": 150000, "wp-timeout-0001-timeout": 150000,
             "wp-browser-legacy-async": 150000, "wp-browser-hpos-async": 150000,
             "wp-credit-note-0001": 150000, "wp-credit-note-0002": 150000,
             **{f"wp-msg-{i:04d}": 150000 for i in range(4)},
             **{f"wp-panel-{i:04d}": 150000 for i in range(20)},
             **{f"wp-panel-decline-{i:04d}-decline": 150000 for i in range(4)},
             "wp-browser-nb-legacy": 150000, "wp-browser-nb-hpos": 150000,
             **{f"wp-race-{i:04d}": 150000 for i in range(20)},
             **{f"wp-race-{i:04d}-async": 150000 for i in range(20)},
             **{f"wp-books-{i:04d}": 150000 for i in range(32)},
             **{f"wp-books-{i:04d}-async": 150000 for i in range(32)},
             "wp-bulk-nb-0001": 150000, "wp-bulk-browser-0001": 150000}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "any_storage: touches no order; runs in one order storage only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "storage" in metafunc.fixturenames:
        any_storage = metafunc.definition.get_closest_marker("any_storage")
        metafunc.parametrize("storage", SOURCES.storages[:1] if any_storage else SOURCES.storages, scope="session")
    if "order_screen" in metafunc.fixturenames and not SOURCES.real_woocommerce:
        metafunc.parametrize("order_screen", ["legacy", "hpos"])  # the double shows either screen


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say what the plugin's tests ran on, above all when it was the double."""
    if SITES:
        fallback = not SOURCES.real_woocommerce
        terminalreporter.section("WordPress plugin tests", sep="-", yellow=fallback, bold=fallback)
        terminalreporter.write_line(SOURCES.describe(), yellow=fallback, bold=fallback)


@pytest.fixture(scope="session")
def sidecar_url(sidecar_env: dict[str, str]) -> str:
    return "http://" + sidecar_env["REFUNDER_BIND"]


@pytest.fixture(scope="session")
def sidecar_env(storage: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The sidecar's environment: `refunder` commands (worker, reconcile) run against the same ledger.

    One per site: the two sites give the same order ids, which the manual provider's references are made of.
    """
    data = tmp_path_factory.mktemp(f"wp-sidecar-{storage}")
    simulator = SimulatorProvider(data / "sim.db", lambda: datetime.now(UTC))
    for reference, minor in SIMULATED.items():
        simulator.add_payment(reference, Money(minor, "NOK"), datetime.now(UTC) - timedelta(days=1))
    settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": f"sqlite:///{data / 'ledger.db'}",
                "REFUNDER_PROVIDERS": "manual,simulator", "REFUNDER_SIMULATOR_PATH": str(data / "sim.db"),
                "REFUNDER_WORKERS": "2"}
    with serving_sidecar(settings, data / "sidecar.log") as (_, env):
        yield env


@pytest.fixture(scope="session")
def wordpress(storage: str, sidecar_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPress]:
    directory = tmp_path_factory.mktemp(f"wordpress-{storage}")
    port = free_port()
    env = {**os.environ, **SOURCES.site_env(storage), "W": str(directory), "PORT": str(port),
           "DBPORT": str(free_port())}
    subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "up"], check=True, env=env, timeout=900)
    mu_plugins = directory / "docroot" / "wp-content" / "mu-plugins"
    for helper in (ROOT / "tests" / "wp" / "mu-plugins").glob("*.php"):
        (mu_plugins / helper.name).symlink_to(helper)
    SITES.append(storage)
    wp = WordPress(f"http://127.0.0.1:{port}", directory, sidecar_url, storage)
    wp.eval(f"update_option('refunder_settings', array('url' => '{sidecar_url}', 'secret' => '{SECRET}'));")
    yield wp
    subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "down"], env=env, timeout=60)


@pytest.fixture
def order_screen(wordpress: WordPress) -> str:
    """The order screen a test opens: its site's storage (on the double, parametrized over both screens)."""
    return wordpress.storage
