<?php
/**
 * Test site only: orders with the meta _test_simulated_reference were "paid" at the sidecar's simulator.
 * This is how a booking system would use the refunder_payment_source filter.
 */
add_filter(
	'refunder_payment_source',
	function ( $source, $order ) {
		$reference = $order->get_meta( '_test_simulated_reference' );
		return $reference ? array( 'provider' => 'simulator', 'reference' => $reference ) : $source;
	},
	10,
	2
);
