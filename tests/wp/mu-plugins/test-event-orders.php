<?php
/**
 * Test site only: the booking system's answer to "which orders booked product P on date D" — orders carrying
 * the meta _test_event "P@D", as a booking plugin would know from its own records.
 */
add_filter(
	'refunder_event_orders',
	function ( $ids, $product_id, $date ) {
		foreach ( wc_get_orders( array( 'limit' => -1, 'return' => 'ids' ) ) as $id ) {
			if ( wc_get_order( $id )->get_meta( '_test_event' ) === $product_id . '@' . $date ) {
				$ids[] = $id;
			}
		}
		return $ids;
	},
	10,
	3
);
