"""No one on the page: a refund the service settles by itself is final in WordPress's books within two minutes,
through Action Scheduler alone. The site runs no WP-Cron on page loads (DISABLE_WP_CRON); a system cron calls
wp-cron.php, as a host without visitors would be set up; the sidecar's own follow-up reads the provider."""

from __future__ import annotations

import time

import requests

from tests.wp.books import ajax, books, panel_nonce, sidecar, simulated_order
from tests.wp.conftest import WordPress
from tests.wp.test_admin_http import login

CRON_EVERY = 5  # seconds between the system cron's calls of wp-cron.php
LIMIT = 120  # seconds from the service settling it to WooCommerce recording it

PENDING_FOLLOW_UPS = """echo count(as_get_scheduled_actions(array('hook' => 'refunder_follow_up', 'group' => 'refunder',
  'status' => ActionScheduler_Store::STATUS_PENDING), 'ids'));"""


def test_a_refund_the_service_settles_is_final_in_wordpress_with_no_one_on_the_page(wordpress: WordPress) -> None:
    admin = login(wordpress, "admin")
    order_id = simulated_order(wordpress, "wp-books-0029-async", "follow-up@example.com")
    page_nonce = panel_nonce(wordpress, admin, order_id)
    review = ajax(wordpress, admin, "refunder_review", order_id=order_id, nonce=page_nonce, mode="amount",
                  amount="200", reason="Cancelled")
    confirm = ajax(wordpress, admin, "refunder_confirm", order_id=order_id, nonce=page_nonce,
                   token=review["data"]["token"])
    assert confirm["data"]["status"] == "processing"
    refund_id = confirm["data"]["id"]
    assert int(wordpress.eval(PENDING_FOLLOW_UPS)) >= 1  # one, or two if a follow-up ran at that moment (harmless)

    start = time.monotonic()
    settled = recorded = None
    while time.monotonic() - start < 240 and recorded is None:
        requests.get(f"{wordpress.url}/wp-cron.php", timeout=60)  # the system cron; no one opens a page
        now = time.monotonic() - start
        if settled is None and sidecar(wordpress, "GET", f"/v1/refunds/{refund_id}")["status"] == "refunded":
            settled = now
        if books(wordpress, order_id)["refunds"]:
            recorded = now
        time.sleep(CRON_EVERY)
    assert settled is not None and recorded is not None, (settled, recorded)
    print(f"service settled it after {settled:.0f} s; WordPress recorded it {recorded - settled:.0f} s later")
    assert recorded - settled <= LIMIT
    assert [(r["amount"], r["refunder"]) for r in books(wordpress, order_id)["refunds"]] == [("200.00", refund_id)]
    requests.get(f"{wordpress.url}/wp-cron.php", timeout=60)
    assert wordpress.eval(PENDING_FOLLOW_UPS) == "0", "nothing in flight: no follow-up waiting"
