"""Order screen render time with and without the plugin, on a real WordPress (scripts/wp-env.sh) with a real
sidecar (manual provider). Target: the plugin adds less than 20 ms at the median.
    .venv/bin/python -m bench.render [--requests 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.fakes.sidecar import free_port, serving_sidecar
from tests.wp.conftest import ROOT, SECRET, WordPress
from tests.wp.test_admin_http import login


def timings(session: requests.Session, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        page = session.get(url, timeout=60)
        out.append((time.perf_counter() - start) * 1000)
        assert page.status_code == 200
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": f"sqlite:///{data / 'ledger.db'}",
                    "REFUNDER_PROVIDERS": "manual", "REFUNDER_WORKERS": "2"}
        with serving_sidecar(settings, data / "sidecar.log") as (sidecar_url, _):
            env = {**os.environ, "W": str(data / "wp"), "PORT": str(free_port()), "DBPORT": str(free_port())}
            subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "up"], check=True, env=env, capture_output=True)
            try:
                wp = WordPress(f"http://127.0.0.1:{env['PORT']}", data / "wp", sidecar_url)
                for helper in (ROOT / "tests" / "wp" / "mu-plugins").glob("*.php"):
                    (data / "wp" / "docroot" / "wp-content" / "mu-plugins" / helper.name).symlink_to(helper)
                wp.eval(f"update_option('refunder_settings', array('url' => '{sidecar_url}', 'secret' => '{SECRET}'));")
                order = wp.eval("echo refunder_test_create_order(array('total' => '1500.00', 'items' => array("
                                "array('Haircut', 1, '1000.00'), array('Hair wash', 2, '500.00'))));")
                url = f"{wp.url}/wp-admin/post.php?post={order}&action=edit"
                session = login(wp, "admin")
                assert 'id="refunder"' in session.get(url, timeout=60).text
                timings(session, url, 5)
                with_plugin = timings(session, url, args.requests)
                wp.eval("deactivate_plugins('refunder/refunder.php');")
                assert 'id="refunder"' not in session.get(url, timeout=60).text
                timings(session, url, 5)
                without = timings(session, url, args.requests)
            finally:
                subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "down"], env=env, capture_output=True)
    a, b = statistics.median(with_plugin), statistics.median(without)
    print(f"order screen (legacy post.php, php -S, WordPress 6.1), {args.requests} loads each")
    print(f"without plugin p50 {b:.1f} ms; with plugin p50 {a:.1f} ms; added {a - b:.1f} ms "
          f"(target < 20 ms: x{(a - b) / 20:.2f} of target)")


if __name__ == "__main__":
    main()
