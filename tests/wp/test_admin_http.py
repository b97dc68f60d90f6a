"""The plugin as a browser without JavaScript sees it: logged-in pages and admin-ajax over HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.wp.conftest import WordPress

USERS = {"admin": "admin-Pass-123", "kari": "kari-Pass-123", "ola": "ola-Pass-123"}


def login(wp: WordPress, user: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{wp.url}/wp-login.php", timeout=30)
    answer = session.post(f"{wp.url}/wp-login.php", data={"log": user, "pwd": USERS[user], "testcookie": "1",
                                                          "redirect_to": f"{wp.url}/wp-admin/"},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 302, f"login failed for {user}"
    return session


def new_order(wp: WordPress) -> int:
    return int(wp.eval("echo refunder_test_create_order(array('total' => '1500.00', 'items' => array("
                       "array('Haircut', 1, '1000.00'), array('Hair wash', 2, '500.00'))));"))


def nonce(html: str) -> str:
    match = re.search(r'class="refunder-panel" data-order-id="\d+" data-nonce="([0-9a-f]+)"', html)
    assert match, "no Refunder panel"
    return match.group(1)


@pytest.fixture(scope="module")
def admin(wordpress: WordPress) -> requests.Session:
    return login(wordpress, "admin")


def test_panel_on_the_order_screen(wordpress: WordPress, admin: requests.Session, order_screen: str) -> None:
    order_id = new_order(wordpress)
    page = admin.get(wordpress.order_screens(order_id)[order_screen], timeout=30)
    assert page.status_code == 200
    assert 'id="refunder"' in page.text and "Asking the Refunder service about this payment" in page.text
    assert "refunder-admin.js" in page.text
    filled = admin.post(f"{wordpress.url}/wp-admin/admin-ajax.php", data={
        "action": "refunder_payment", "order_id": order_id, "nonce": nonce(page.text)}, timeout=30).json()["data"]
    assert ">Refund by bank transfer</button>" in filled["html"] and "refunder-form" in filled["html"]
    assert "Paid with <strong>Bank transfer (manual)</strong>" in filled["html"]
    assert "Total incl. VAT" in filled["html"] and "Quantity to refund" in filled["html"]  # the items table's headers
    page = admin.get(wordpress.order_screens(order_id)[order_screen], timeout=30)
    assert "Paid with <strong>Bank transfer (manual)</strong>" in page.text  # known now: shown at once
    if wordpress.storage != "double":  # WooCommerce's own Refund button, and where the box sits
        assert "refunder-woocommerce-hint" in page.text
        assert page.text.index('id="woocommerce-order-items"') < page.text.index('id="refunder"')
    assert wordpress.php_problems() == []


def test_shop_manager_without_permission_sees_nothing_and_is_refused(wordpress: WordPress,
                                                                       admin: requests.Session) -> None:
    order_id = new_order(wordpress)
    good_nonce = nonce(admin.get(wordpress.order_screen(order_id), timeout=30).text)
    kari = login(wordpress, "kari")
    for url in wordpress.order_screens(order_id).values():
        page = kari.get(url, timeout=30)
        assert page.status_code == 200 and 'id="refunder"' not in page.text and "refunder-admin.js" not in page.text
    answer = kari.post(f"{wordpress.url}/wp-admin/admin-ajax.php", data={
        "action": "refunder_review", "order_id": order_id, "nonce": good_nonce, "mode": "full", "reason": "x"},
        timeout=30)
    assert answer.status_code == 403 and answer.json()["success"] is False


def test_missing_nonce_is_refused(wordpress: WordPress, admin: requests.Session) -> None:
    order_id = new_order(wordpress)
    for data in ({}, {"nonce": "0123456789"}):
        answer = admin.post(f"{wordpress.url}/wp-admin/admin-ajax.php", data={
            "action": "refunder_confirm", "order_id": order_id, "token": "x", **data}, timeout=30)
        assert answer.status_code == 403 and "expired" in answer.json()["data"]["message"]


def settings_form(session: requests.Session, wp: WordPress) -> dict[str, Any]:
    page = session.get(f"{wp.url}/wp-admin/options-general.php?page=refunder", timeout=30).text
    nonce_value = re.search(r'name="_wpnonce" value="([0-9a-f]+)"', page).group(1)  # the first form: save
    test_nonce = re.findall(r'name="_wpnonce" value="([0-9a-f]+)"', page)[1]
    return {"page": page, "save": nonce_value, "test": test_nonce}


def test_administrator_grants_the_permission_to_shop_managers(wordpress: WordPress, admin: requests.Session) -> None:
    form = settings_form(admin, wordpress)
    assert "Who may refund" in form["page"]
    saved = admin.post(f"{wordpress.url}/wp-admin/admin-post.php", data={
        "action": "refunder_save_settings", "_wpnonce": form["save"], "refunder_url": wordpress.sidecar_url,
        "refunder_secret": "", "refunder_roles[]": ["shop_manager"]}, timeout=30)
    assert "Settings saved." in saved.text
    try:
        order_id = new_order(wordpress)
        kari, ola = login(wordpress, "kari"), login(wordpress, "ola")
        for url in wordpress.order_screens(order_id).values():
            assert 'id="refunder"' in kari.get(url, timeout=30).text
            assert 'id="refunder"' not in ola.get(url, timeout=30).text
    finally:
        form = settings_form(admin, wordpress)
        admin.post(f"{wordpress.url}/wp-admin/admin-post.php", data={
            "action": "refunder_save_settings", "_wpnonce": form["save"], "refunder_url": wordpress.sidecar_url,
            "refunder_secret": ""}, timeout=30)
    assert "refunder_refund_orders" not in wordpress.eval("echo implode(',', array_keys(array_filter("
                                                          "get_role('shop_manager')->capabilities)));")


@pytest.mark.any_storage
def test_settings_need_the_administrator(wordpress: WordPress) -> None:
    kari = login(wordpress, "kari")
    assert kari.get(f"{wordpress.url}/wp-admin/options-general.php?page=refunder", timeout=30).status_code == 403
    answer = kari.post(f"{wordpress.url}/wp-admin/admin-post.php", data={
        "action": "refunder_save_settings", "refunder_url": "http://evil.example"}, timeout=30)
    assert answer.status_code == 403
    assert wordpress.sidecar_url in wordpress.eval("echo get_option('refunder_settings')['url'];")


def test_test_connection_reports_clearly(wordpress: WordPress, admin: requests.Session) -> None:
    form = settings_form(admin, wordpress)
    ok = admin.post(f"{wordpress.url}/wp-admin/admin-post.php",
                    data={"action": "refunder_test_connection", "_wpnonce": form["test"]}, timeout=30)
    assert "Connected to the Refunder service 0.1.0. Providers: manual, simulator." in ok.text
    saved = wordpress.eval("echo get_option('refunder_settings')['secret'];")
    wordpress.eval("update_option('refunder_settings', array('url' => 'http://127.0.0.1:9', 'secret' => '"
                   + saved + "'));")
    try:
        form = settings_form(admin, wordpress)
        down = admin.post(f"{wordpress.url}/wp-admin/admin-post.php",
                          data={"action": "refunder_test_connection", "_wpnonce": form["test"]}, timeout=30)
        assert "Connection failed: The Refunder service could not be reached." in down.text
        page = admin.get(wordpress.order_screen(new_order(wordpress)), timeout=30)
        assert page.status_code == 200 and "Asking the Refunder service" in page.text and 'id="wpadminbar"' in page.text
    finally:
        wordpress.eval("update_option('refunder_settings', array('url' => '" + wordpress.sidecar_url
                       + "', 'secret' => '" + saved + "'));")
    assert wordpress.php_problems() == []


def test_norwegian_admin_sees_refunder(wordpress: WordPress) -> None:
    wordpress.eval("update_user_meta(1, 'locale', 'nb_NO');")
    try:
        session = login(wordpress, "admin")
        order_id = new_order(wordpress)
        page = session.get(wordpress.order_screen(order_id), timeout=30).text
        assert "Spør Refunder-tjenesten om denne betalingen" in page
        filled = session.post(f"{wordpress.url}/wp-admin/admin-ajax.php", data={
            "action": "refunder_payment", "order_id": order_id, "nonce": nonce(page)}, timeout=30).json()["data"]
        assert ">Refunder med bankoverføring</button>" in filled["html"] and "Gå gjennom refusjonen" in filled["html"]
    finally:
        wordpress.eval("delete_user_meta(1, 'locale');")
