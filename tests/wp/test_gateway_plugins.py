"""The real gateway plugins (../shared/wordpress) switched on one at a time beside Refunder: WordPress and the
order screen still work, nothing fatal is logged, and no provider is called."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from tests.wp.conftest import WordPress
from tests.wp.test_admin_http import login, new_order, nonce

PROVIDER_HOSTS = {"api.vipps.no", "apitest.vipps.no", "api.stripe.com", "api.mollie.com"}


@pytest.mark.parametrize("slug, gateways", [("woo-vipps", {"vipps", "vipps_card"}),
                                            ("woocommerce-gateway-stripe", {"stripe"}),
                                            ("mollie-payments-for-woocommerce", set())])  # Mollie's need an API key
def test_gateway_plugin_beside_refunder(wordpress: WordPress, slug: str, gateways: set[str]) -> None:
    before = len(wordpress.outbound())
    with wordpress.plugin(slug):
        registered = wordpress.eval("echo implode(',', array_keys(WC()->payment_gateways()->payment_gateways()));")
        assert gateways <= set(registered.split(","))
        admin = login(wordpress, "admin")
        order_id = new_order(wordpress)
        pages: list[requests.Response] = [admin.get(url, timeout=60) for url in (
            wordpress.order_screen(order_id), f"{wordpress.url}/wp-admin/plugins.php",
            f"{wordpress.url}/wp-admin/admin.php?page=wc-settings&tab=checkout")]
        assert [page.status_code for page in pages] == [200, 200, 200]
        assert 'id="refunder"' in pages[0].text
        filled = admin.post(f"{wordpress.url}/wp-admin/admin-ajax.php", data={  # the panel's fill-in
            "action": "refunder_payment", "order_id": order_id, "nonce": nonce(pages[0].text)}, timeout=60)
        assert "Paid with <strong>Bank transfer (manual)</strong>" in filled.json()["data"]["html"]
        assert not [page.url for page in pages if "critical error" in page.text]
    assert wordpress.php_problems() == []
    assert [call for call in wordpress.outbound()[before:] if urlsplit(call["url"]).hostname in PROVIDER_HOSTS] == []
