<?php
/**
 * Test site only: make booking orders and read back refunds the same way on the WooCommerce double and on a
 * real WooCommerce (WC_SRC).
 */

/** $args: total, items [[name, qty, line total (ex tax), tax]], payment_method, transaction_id, email, meta. */
function refunder_test_create_order( array $args ) {
	if ( function_exists( 'wc_double_create_order' ) ) {
		return wc_double_create_order( $args );
	}
	$order = wc_create_order();
	foreach ( $args['items'] as $item ) {
		$line = new WC_Order_Item_Product();
		$line->set_name( $item[0] );
		$line->set_quantity( $item[1] );
		$line->set_subtotal( $item[2] );
		$line->set_total( $item[2] );
		$order->add_item( $line );
	}
	$order->set_currency( $args['currency'] ?? 'NOK' );
	$order->set_payment_method( $args['payment_method'] ?? 'bacs' );
	$order->set_payment_method_title( $args['payment_method_title'] ?? 'Direct bank transfer' );
	$order->set_transaction_id( $args['transaction_id'] ?? '' );
	$order->set_billing_email( $args['email'] ?? 'customer@example.com' );
	$order->set_total( $args['total'] );
	$order->set_date_paid( $args['date_paid'] ?? time() );
	foreach ( $args['meta'] ?? array() as $key => $value ) {
		$order->update_meta_data( $key, $value );
	}
	$order->set_status( 'processing' );
	$order->save();
	return $order->get_id();
}

/** item id => [qty, refund total] of a refund, as decimal strings. */
function refunder_test_refunded_lines( $refund ) {
	if ( function_exists( 'wc_double_create_order' ) ) {
		return array_map(
			fn( $l ) => array( (int) $l['qty'], $l['refund_total'] ),  // refund_tax is checked where taxes exist
			(array) get_post_meta( $refund->get_id(), '_refunded_line_items', true )
		);
	}
	$lines = array();
	foreach ( $refund->get_items() as $item ) {
		$lines[ (int) $item->get_meta( '_refunded_item_id' ) ] = array( abs( (int) $item->get_quantity() ), number_format( abs( (float) $item->get_total() ), 2, '.', '' ) );
	}
	return $lines;
}
