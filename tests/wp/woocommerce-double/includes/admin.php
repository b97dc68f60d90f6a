<?php
/** The two order edit screens: legacy post.php (WordPress renders shop_order meta boxes) and the HPOS page. */

add_action( 'admin_menu', function () {
	add_menu_page( 'WooCommerce', 'WooCommerce', 'edit_posts', 'woocommerce', '__return_null' );
	add_submenu_page( 'woocommerce', 'Orders', 'Orders', 'edit_posts', 'wc-orders', 'wc_double_render_orders_page' );
} );

add_action( 'current_screen', function ( $screen ) {
	if ( 'woocommerce_page_wc-orders' === $screen->id && isset( $_GET['id'] ) ) {
		$order = wc_get_order( absint( $_GET['id'] ) );
		if ( $order ) {
			do_action( 'add_meta_boxes', 'woocommerce_page_wc-orders', $order );
		}
	}
} );

function wc_double_render_orders_page() {
	$order = isset( $_GET['id'] ) ? wc_get_order( absint( $_GET['id'] ) ) : false;
	if ( ! $order ) {
		echo '<div class="wrap"><h1>Orders</h1></div>';
		return;
	}
	echo '<div class="wrap"><h1>Edit order #' . esc_html( $order->get_order_number() ) . '</h1>';
	echo '<div id="poststuff"><div id="post-body" class="metabox-holder columns-2"><div id="postbox-container-2" class="postbox-container">';
	do_meta_boxes( 'woocommerce_page_wc-orders', 'normal', $order );
	echo '</div><div id="postbox-container-1" class="postbox-container">';
	do_meta_boxes( 'woocommerce_page_wc-orders', 'side', $order );
	echo '</div></div></div></div>';
}
