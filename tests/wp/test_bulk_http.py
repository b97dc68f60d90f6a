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
from tests.wp.test_admin_http import login, new_order

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
    assert "1 order chosen, 0 can be refunded." in admin.get(choose(admin, wordpress, ids[3:]), timeout=30).text
    assert re.search(r"<td>Simulated card provider</td><td>3</td><td>4\s500,00\skr</td>", review)  # its label
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
    assert len(status["problems"]) == 1, status["problems"]  # why, per booking not refunded
    assert status["problems"][0].startswith(f"Order {ids[3]}: Not paid through a payment provider Refunder knows")
    assert 'class="refunder-bulk-problems" hidden' in progress  # filled in by assets/refunder-bulk.js
    for order_id in ids[:3]:
        assert wordpress.eval(f"echo number_format(wc_get_order({order_id})->get_total_refunded(), 2);") == "1,500.00"
    assert wordpress.eval(f"echo count(wc_get_order({ids[3]})->get_refunds());") == "0"

    report_link = re.search(r'href="([^"]*action=refunder_bulk_report[^"]*)"', progress).group(1)
    report = admin.get(html.unescape(report_link), timeout=30)
    assert report.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert sorted((int(r["Order"]), r["Outcome"]) for r in rows) == [
        (ids[0], "refunded"), (ids[1], "refunded"), (ids[2], "refunded"), (ids[3], "skipped")]
    by_order = {int(r["Order"]): r for r in rows}
    assert [by_order[i]["Provider"] for i in ids] == ["Simulated card provider"] * 3 + ["Bank transfer (manual)"]
    assert [by_order[i]["Amount"] for i in ids[:3]] == ["1500.00"] * 3
    assert [by_order[i]["Reason"] for i in ids] == ["", "", "", status["problems"][0].split(": ", 1)[1]]
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


def choose(session: requests.Session, wp: WordPress, ids: list[int]) -> str:
    """The review page's URL for these orders, chosen with the order list's bulk action "Refunder"."""
    list_url, chosen_ids = wp.order_list()
    listing = session.get(list_url, timeout=30).text
    nonce = re.search(r'name="_wpnonce" value="([0-9a-f]+)"', listing).group(1)
    chosen = session.get(list_url, params=[("action", "refunder_bulk"), ("_wpnonce", nonce),
                                           *[(chosen_ids, str(i)) for i in ids]], allow_redirects=False, timeout=30)
    assert chosen.status_code == 302, chosen.status_code
    return chosen.headers["Location"]


def test_bulk_page_is_under_woocommerces_menu_with_its_product_search(wordpress: WordPress) -> None:
    admin = login(wordpress, "admin")
    log = wordpress.directory / "debug.log"
    before = log.stat().st_size if log.exists() else 0
    page = admin.get(f"{wordpress.url}/wp-admin/admin.php?page=refunder-bulk", timeout=30)
    logged = log.read_bytes()[before:].decode(errors="replace") if log.exists() else ""
    assert page.status_code == 200
    # WordPress 6.8 said "strip_tags(): Passing null to parameter #1" on every visit of a page in no menu
    assert [line for line in logged.splitlines() if "PHP " in line] == []
    menu = re.search(r'id="toplevel_page_woocommerce".*?</ul>', page.text, re.S)
    assert menu and re.search(r"""<a href=['"]admin.php\?page=refunder-bulk['"][^>]*>Bulk refund</a>""", menu.group(0))
    assert re.search(r"<title>Bulk refund\b", page.text)
    form = re.search(r'<form[^>]*class="refunder-bulk-event".*?</form>', page.text, re.S).group(0)
    assert re.search(r'<select[^>]*class="wc-product-search"[^>]*name="product_id"', form)
    assert 'data-action="woocommerce_json_search_products_and_variations"' in form
    assert re.search(r'<input type="date"[^>]*name="date"', form)
    assert "assets/refunder-bulk.js" in page.text and "RefunderBulk" in page.text
    assert "refunder_bulk_status" not in page.text  # the page's script is an asset, not inline
    if not wordpress.eval("echo WC()->version;").endswith("-double"):  # WooCommerce's own enhanced select
        scripts = re.findall(r"<(?:script|link)[^>]*id=['\"]([^'\"]+)['\"]", page.text)
        assert "wc-enhanced-select-js" in scripts and "woocommerce_admin_styles-css" in scripts, scripts
    order = admin.get(wordpress.order_screen(new_order(wordpress)), timeout=30).text
    assert "refunder-bulk.js" not in order  # only on its own page


def test_a_norwegian_admin_reads_the_bulk_refund_in_norwegian(wordpress: WordPress,
                                                              sidecar_env: dict[str, str]) -> None:
    paid = int(wordpress.eval(
        "echo refunder_test_create_order(array('total' => '1500.00', 'meta' => array("
        "'_test_simulated_reference' => 'wp-bulk-nb-0001'),"
        " 'items' => array(array('Konsertbillett', 1, '1500.00'))));"))
    by_hand = int(wordpress.eval("echo refunder_test_create_order(array('total' => '500.00', 'items' => array("
                                 "array('Konsertbillett', 1, '500.00'))));"))
    gone = 987654  # no such order: the service has no payment for it
    wordpress.eval("update_user_meta(1, 'locale', 'nb_NO');")
    try:
        admin = login(wordpress, "admin")
        review = html.unescape(admin.get(choose(admin, wordpress, [paid, by_hand, gone]), timeout=60).text)
        assert "3 ordrer valgt, 1 kan refunderes." in review and "Kan ikke refunderes her" in review
        assert re.search(r"<td>Simulated card provider</td><td>1</td><td>1\s500,00\skr</td>", review)
        one = html.unescape(admin.get(choose(admin, wordpress, [gone]), timeout=60).text)
        assert "1 ordre valgt, 0 kan refunderes." in one  # _n(): the singular where the count is one
        assert f"Ordre {gone}: Refunder kjenner ingen betaling for denne ordren ennå: åpne ordren én gang." in review
        assert f"Ordre {by_hand}: Ikke betalt gjennom en betalingsleverandør Refunder kjenner" in review
        assert "open the order once" not in review and "transfer the money yourself" not in review
        form = dict(re.findall(r'name="(selection|_wpnonce)" value="([^"]+)"', review))
        started = admin.post(f"{wordpress.url}/wp-admin/admin-post.php", data={
            "action": "refunder_bulk_start", "reason": "Konserten er avlyst", **form}, allow_redirects=False,
            timeout=60)
        progress = admin.get(started.headers["Location"], timeout=30).text
        job = re.search(r'data-job="(bulk_[0-9a-f]+)" data-nonce="([0-9a-f]+)"', progress)
        assert "Last ned rapporten (CSV)" in progress
        subprocess.run([sys.executable, "-m", "refunder.cli", "worker", "--once"], env=sidecar_env, timeout=120,
                       check=True, capture_output=True)
        status = poll(admin, wordpress, job.group(1), job.group(2))
        assert status["text"] == "3 av 3 ferdig: 1 refundert, 0 mislyktes, 2 hoppet over."
        no_payment = f"Ordre {gone}: Refunder kjenner ingen betaling for denne ordren ennå: åpne ordren én gang."
        by_hand_line = f"Ordre {by_hand}: Ikke betalt gjennom en betalingsleverandør Refunder kjenner"
        assert len(status["problems"]) == 2 and no_payment in status["problems"]
        assert [line for line in status["problems"] if line.startswith(by_hand_line)]
        link = re.search(r'href="([^"]*action=refunder_bulk_report[^"]*)"', progress).group(1)
        report = admin.get(html.unescape(link), timeout=30).content.decode("utf-8-sig")
        rows = {r["Ordre"]: r for r in csv.DictReader(io.StringIO(report), delimiter=";")}  # as the journal
        assert [rows[str(paid)]["Utfall"], rows[str(by_hand)]["Utfall"]] == ["refundert", "hoppet over"]
        assert rows[str(gone)]["Årsak"] == no_payment.split(": ", 1)[1] and rows[str(paid)]["Beløp"] == "1500,00"
        english = ("open the order once", "transfer the money yourself", "skipped", "refunded", "Reason")
        assert not [word for word in english if word in report], report
    finally:
        wordpress.eval("delete_user_meta(1, 'locale');")
    assert wordpress.eval(f"echo number_format(wc_get_order({paid})->get_total_refunded(), 2);") == "1,500.00"
    assert wordpress.php_problems() == []


def woocommerce_log(wp: WordPress, source: str) -> str:
    """What WooCommerce's logger (its file handler) kept for this source."""
    logs = sorted((wp.directory / "docroot" / "wp-content" / "uploads" / "wc-logs").glob(f"{source}-*.log"))
    return "".join(log.read_text() for log in logs)


def test_an_outage_during_a_bulk_refund_is_shown_and_logged(wordpress: WordPress) -> None:
    admin = login(wordpress, "admin")
    page = admin.get(f"{wordpress.url}/wp-admin/admin.php?page=refunder-bulk&job=bulk_outage", timeout=30).text
    nonce = re.search(r'data-job="bulk_outage" data-nonce="([0-9a-f]+)"', page).group(1)
    saved = wordpress.eval("echo get_option('refunder_settings')['secret'];")
    wordpress.eval("update_option('refunder_settings', array('url' => 'http://127.0.0.1:9', 'secret' => '"
                   + saved + "'));")
    try:
        answer = admin.post(f"{wordpress.url}/wp-admin/admin-ajax.php", data={
            "action": "refunder_bulk_status", "job": "bulk_outage", "nonce": nonce}, timeout=30)
    finally:
        wordpress.eval("update_option('refunder_settings', array('url' => '" + wordpress.sidecar_url
                       + "', 'secret' => '" + saved + "'));")
    assert answer.status_code == 502 and "could not be reached" in answer.json()["data"]["message"]
    logged = [line for line in woocommerce_log(wordpress, "refunder").splitlines() if "bulk_outage" in line]
    assert len(logged) == 2  # the client's network error (with the address), then the bulk page's line
    assert "Refunder: GET http://127.0.0.1:9/v1/bulk-refunds/bulk_outage: cURL error 7" in logged[0]
    assert "Refunder: bulk refund progress bulk_outage: The Refunder service could not be reached." in logged[1]
    assert "[refunder_unreachable]" in logged[1]
    assert wordpress.php_problems() == []


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
