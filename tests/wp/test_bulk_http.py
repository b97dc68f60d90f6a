"""Bulk refund from the order list: review, start, progress, report — over HTTP like a browser without JS."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import sys
import time

import requests

from tests.wp.conftest import WordPress
from tests.wp.test_admin_http import login

SIMULATED = ["wp-sim-0030", "wp-sim-0031", "wp-sim-0032"]


def event_orders(wp: WordPress) -> list[int]:
    ids = []
    for reference in SIMULATED:
        ids.append(int(wp.eval(
            "echo refunder_test_create_order(array('total' => '1500.00', 'meta' => array("
            f"'_test_simulated_reference' => '{reference}'),"
            " 'items' => array(array('Concert ticket', 1, '1500.00'))));")))
    ids.append(int(wp.eval("echo refunder_test_create_order(array('total' => '500.00', 'items' => array("
                           "array('Concert ticket', 1, '500.00'))));")))  # paid by bank transfer: skipped
    return ids


def test_bulk_refund_of_a_cancelled_event(wordpress: WordPress, sidecar_env: dict[str, str]) -> None:
    admin = login(wordpress, "admin")
    ids = event_orders(wordpress)
    list_url, chosen_ids = wordpress.order_list()
    listing = admin.get(list_url, timeout=30).text
    assert '<option value="refunder_bulk">Refunder</option>' in listing
    nonce = re.search(r'name="_wpnonce" value="([0-9a-f]+)"', listing).group(1)
    chosen = admin.get(list_url, params=[("action", "refunder_bulk"), ("_wpnonce", nonce),
                                         *[(chosen_ids, str(i)) for i in ids]], allow_redirects=False, timeout=30)
    assert chosen.status_code == 302 and "page=refunder-bulk&selection=" in chosen.headers["Location"]

    review = admin.get(chosen.headers["Location"], timeout=30).text
    assert "4 orders chosen, 3 can be refunded." in review
    assert re.search(r"<td>simulator</td><td>3</td><td>4\s500,00\skr</td>", review)
    assert f"Order {ids[3]}:" in review and "bank transfer" in review
    form = dict(re.findall(r'name="(selection|_wpnonce)" value="([^"]+)"', review))
    started = admin.post(f"{wordpress.url}/wp-admin/admin-post.php", data={
        "action": "refunder_bulk_start", "reason": "Concert cancelled", **form}, allow_redirects=False, timeout=60)
    assert started.status_code == 302 and "&job=bulk_" in started.headers["Location"]
    again = admin.post(f"{wordpress.url}/wp-admin/admin-post.php", data={
        "action": "refunder_bulk_start", "reason": "Concert cancelled", **form}, allow_redirects=False, timeout=60)
    assert again.headers["Location"] == started.headers["Location"]  # a second click starts nothing new

    progress = admin.get(started.headers["Location"], timeout=30).text
    job = re.search(r'data-job="(bulk_[0-9a-f]+)" data-nonce="([0-9a-f]+)"', progress)
    worked = subprocess.run([sys.executable, "-m", "refunder.cli", "worker", "--once"], env=sidecar_env,
                            timeout=120, capture_output=True, text=True)
    assert worked.returncode == 0 and "3 items worked through" in worked.stdout, worked.stdout + worked.stderr
    status = poll(admin, wordpress, job.group(1), job.group(2))
    assert status["done"] and status["finished"] == 4 and "3 refunded, 0 failed, 1 skipped" in status["text"]
    for order_id in ids[:3]:
        assert wordpress.eval(f"echo number_format(wc_get_order({order_id})->get_total_refunded(), 2);") == "1,500.00"
    assert wordpress.eval(f"echo count(wc_get_order({ids[3]})->get_refunds());") == "0"

    report_link = re.search(r'href="([^"]*action=refunder_bulk_report[^"]*)"', progress).group(1)
    report = admin.get(html.unescape(report_link), timeout=30)
    assert report.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert sorted((int(r["order_id"]), r["outcome"]) for r in rows) == [
        (ids[0], "refunded"), (ids[1], "refunded"), (ids[2], "refunded"), (ids[3], "skipped")]
    assert wordpress.php_problems() == []


def poll(session: requests.Session, wp: WordPress, job: str, nonce: str) -> dict:
    for _ in range(20):
        answer = session.post(f"{wp.url}/wp-admin/admin-ajax.php", data={
            "action": "refunder_bulk_status", "job": job, "nonce": nonce}, timeout=30).json()
        assert answer["success"], answer
        if answer["data"]["done"]:
            return answer["data"]
        time.sleep(0.5)
    raise AssertionError(f"the bulk refund did not finish: {answer}")


def test_bulk_pages_need_the_permission(wordpress: WordPress) -> None:
    kari = login(wordpress, "kari")
    assert kari.get(f"{wordpress.url}/wp-admin/admin.php?page=refunder-bulk", timeout=30).status_code == 403
    listing = kari.get(wordpress.order_list()[0], timeout=30).text
    assert "refunder_bulk" not in listing
    answer = kari.post(f"{wordpress.url}/wp-admin/admin-ajax.php", data={
        "action": "refunder_bulk_status", "job": "bulk_x", "nonce": "x"}, timeout=30)
    assert answer.status_code == 403


def test_all_bookings_of_one_event(wordpress: WordPress) -> None:
    def booked(event: str) -> int:
        return int(wordpress.eval("echo refunder_test_create_order(array('total' => '300.00', 'meta' => array("
                                  f"'_test_event' => '{event}'),"
                                  " 'items' => array(array('Yoga class', 1, '300.00'))));"))

    ours = [booked("42@2026-12-24"), booked("42@2026-12-24")]
    booked("42@2026-12-31")
    booked("7@2026-12-24")
    admin = login(wordpress, "admin")
    page = admin.get(f"{wordpress.url}/wp-admin/admin.php?page=refunder-bulk", timeout=30).text
    assert "All bookings of one event" in page
    nonce = re.search(r'name="_wpnonce" value="([0-9a-f]+)"', page).group(1)
    found = admin.post(f"{wordpress.url}/wp-admin/admin-post.php", data={
        "action": "refunder_bulk_event", "_wpnonce": nonce, "product_id": "42", "date": "2026-12-24"},
        timeout=60)
    assert "2 orders chosen" in found.text
    assert all(f"Order {i}:" in found.text for i in ours)  # paid by bank transfer here: listed with the reason
    none = admin.post(f"{wordpress.url}/wp-admin/admin-post.php", data={
        "action": "refunder_bulk_event", "_wpnonce": nonce, "product_id": "42", "date": "2027-01-01"}, timeout=60)
    assert none.status_code == 404 and "refunder_event_orders" in none.text
