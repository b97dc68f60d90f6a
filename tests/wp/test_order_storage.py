"""Each site keeps its orders where its storage says: HPOS tables (sync off) or posts; the double in posts."""

from __future__ import annotations

from tests.wp.conftest import WordPress

WHERE = r"""
global $wpdb;
$id = refunder_test_create_order(array('total' => '100.00', 'items' => array(array('Haircut', 1, '100.00'))));
$hpos = class_exists('Automattic\WooCommerce\Utilities\OrderUtil')
  ? (Automattic\WooCommerce\Utilities\OrderUtil::custom_orders_table_usage_is_enabled() ? 'hpos' : 'legacy')
  : 'double';
$in_table = 'double' === $hpos ? 0
  : (int) $wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->prefix}wc_orders WHERE id = $id");
echo implode(' ', array($hpos, get_option('woocommerce_custom_orders_table_data_sync_enabled', '-'), $in_table,
  get_post_type($id), wc_get_order($id)->get_total()));
"""


def test_orders_are_kept_in_the_sites_storage(wordpress: WordPress) -> None:
    expected = {"hpos": "hpos no 1 shop_order_placehold 100.00", "legacy": "legacy no 0 shop_order 100.00",
                "double": "double - 0 shop_order 100.00"}
    assert wordpress.eval(WHERE) == expected[wordpress.storage]
