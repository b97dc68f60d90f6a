<?php
/**
 * Plugin Name: WooCommerce (Refunder test double)
 * Description: The small part of the WooCommerce API that the Refunder plugin calls, for tests on real WordPress.
 *              Orders are shop_order posts (legacy storage); option woocommerce_custom_orders_table_enabled=yes
 *              makes the order screen the HPOS one (admin.php?page=wc-orders&action=edit&id=N).
 * Version: 0.0.1
 */

defined( 'ABSPATH' ) || exit;

require_once __DIR__ . '/includes/class-wc-order-item-product.php';
require_once __DIR__ . '/includes/class-wc-order.php';
require_once __DIR__ . '/includes/functions.php';
require_once __DIR__ . '/includes/admin.php';
require_once __DIR__ . '/includes/action-scheduler.php';

add_action( 'init', 'wc_double_register_types' );

register_activation_hook( __FILE__, function () {
	$editor = get_role( 'editor' );
	if ( ! get_role( 'shop_manager' ) ) {
		add_role( 'shop_manager', 'Shop manager', ( $editor ? $editor->capabilities : array( 'read' => true ) ) + array( 'edit_shop_orders' => true, 'manage_woocommerce' => true ) );
	}
	$admin = get_role( 'administrator' );
	if ( $admin ) {
		$admin->add_cap( 'edit_shop_orders' );
		$admin->add_cap( 'manage_woocommerce' );
	}
} );
