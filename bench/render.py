"""Order screen render time on a real WordPress (scripts/wp-env.sh) with a real sidecar and a Vipps MobilePay
payment, the Vipps fake answering in 250 ms or hanging; against the same screen without the plugin.
Target: the plugin adds less than 20 ms at the median, whatever the provider does (the page asks no one; the
panel fills in afterwards through admin-ajax from the sidecar's ledger, also timed).
    .venv/bin/python -m bench.render [--requests 40] [--latency 0.25]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.fakes.server import serving
from tests.fakes.sidecar import free_port, serving_sidecar
from tests.fakes.vipps import FakeVipps
from tests.wp.conftest import ROOT, SECRET, WordPress
from tests.wp.test_admin_http import login

REFERENCE = "bench-render-0001"
ROUNDS = 4


class Slow:
    """The fake behind a delay: `latency` seconds per call, or every call held until released (a hang)."""

    def __init__(self, app: Any) -> None:
        self.app, self.latency, self.released, self.calls = app, 0.0, threading.Event(), 0
        self.released.set()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        self.released.wait(120)
        time.sleep(self.latency)
        return self.app(environ, start_response)


def timings(call: Callable[[], requests.Response], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        answer = call()
        out.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200
    return out


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's request log
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.25)
    args = parser.parse_args()
    vipps = FakeVipps(client_id="bench-id", client_secret="bench-secret", subscription_key="bench-sub", msn="123456")
    vipps.add_payment(REFERENCE, 150000)
    slow = Slow(vipps)
    with tempfile.TemporaryDirectory() as tmp, serving(slow) as vipps_url:
        data = Path(tmp)
        settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": f"sqlite:///{data / 'ledger.db'}",
                    "REFUNDER_PROVIDERS": "manual,vipps", "REFUNDER_WORKERS": "2",
                    "REFUNDER_VIPPS_CLIENT_ID": "bench-id", "REFUNDER_VIPPS_CLIENT_SECRET": "bench-secret",
                    "REFUNDER_VIPPS_SUBSCRIPTION_KEY": "bench-sub", "REFUNDER_VIPPS_MSN": "123456",
                    "REFUNDER_VIPPS_BASE_URL": vipps_url}
        with serving_sidecar(settings, data / "sidecar.log") as (sidecar_url, _):
            env = {**os.environ, "W": str(data / "wp"), "PORT": str(free_port()), "DBPORT": str(free_port())}
            subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "up"], check=True, env=env, capture_output=True)
            try:
                wp = WordPress(f"http://127.0.0.1:{env['PORT']}", data / "wp", sidecar_url)
                for helper in (ROOT / "tests" / "wp" / "mu-plugins").glob("*.php"):
                    (data / "wp" / "docroot" / "wp-content" / "mu-plugins" / helper.name).symlink_to(helper)
                wp.eval(f"update_option('refunder_settings', array('url' => '{sidecar_url}', 'secret' => '{SECRET}'));")
                order = wp.eval(
                    "echo refunder_test_create_order(array('total' => '1500.00', 'payment_method' => 'vipps',"
                    f" 'payment_method_title' => 'Vipps', 'transaction_id' => '{REFERENCE}', 'meta' => array("
                    f"'_vipps_api' => 'epayment', '_vipps_orderid' => '{REFERENCE}',"
                    " '_refunder_payment_mode' => 'live'),"
                    " 'items' => array(array('Haircut', 1, '1000.00'), array('Hair wash', 2, '500.00'))));")
                registered = wp.eval(  # as the background registration does when the order is paid
                    f"$r = Refunder_Payments::summary(wc_get_order({order}), Refunder_Client::configured());"
                    " echo is_wp_error($r) ? $r->get_error_message() : $r['provider'];")
                assert registered == "vipps", registered
                url = f"{wp.url}/wp-admin/post.php?post={order}&action=edit"
                session = login(wp, "admin")
                page = session.get(url, timeout=60).text
                nonce = re.search(r'data-nonce="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]

                def screen() -> requests.Response:
                    return session.get(url, timeout=60)

                def fill_in() -> requests.Response:
                    return session.post(f"{wp.url}/wp-admin/admin-ajax.php", data={
                        "action": "refunder_payment", "order_id": order, "nonce": nonce}, timeout=60)

                results: dict[str, list[float]] = {case: [] for case in (
                    "latency", "latency fill-in", "hanging", "hanging fill-in", "without")}
                per_round = max(1, args.requests // ROUNDS)
                calls_before = slow.calls
                for _ in range(ROUNDS):  # interleaved, so the machine's other load falls on every case alike
                    wp.eval("activate_plugin('refunder/refunder.php');")
                    slow.latency = args.latency
                    timings(screen, 2)
                    results["latency"] += timings(screen, per_round)
                    results["latency fill-in"] += timings(fill_in, per_round)
                    slow.released.clear()  # every call to the provider hangs
                    results["hanging"] += timings(screen, per_round)
                    results["hanging fill-in"] += timings(fill_in, per_round)
                    slow.released.set()
                    wp.eval("deactivate_plugins('refunder/refunder.php');")
                    assert 'id="refunder"' not in screen().text
                    timings(screen, 2)
                    results["without"] += timings(screen, per_round)
                provider_calls = slow.calls - calls_before
            finally:
                slow.released.set()
                subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "down"], env=env, capture_output=True)
    base = statistics.median(results["without"])
    print(f"order screen (legacy post.php, php -S), a Vipps MobilePay payment, {len(results['without'])} loads each,"
          f" in {ROUNDS} interleaved rounds")
    print(f"without the plugin: p50 {base:.1f} ms; calls that reached the provider during all of it: {provider_calls}")
    for case, label in (("latency", f"provider at {args.latency * 1000:.0f} ms"), ("hanging", "provider hanging")):
        p50 = statistics.median(results[case])
        fill = statistics.median(results[f"{case} fill-in"])
        print(f"with the plugin, {label}: p50 {p50:.1f} ms, added {p50 - base:.1f} ms "
              f"(target < 20 ms: x{(p50 - base) / 20:.2f}); the panel's fill-in (admin-ajax) p50 {fill:.1f} ms")


if __name__ == "__main__":
    main()
