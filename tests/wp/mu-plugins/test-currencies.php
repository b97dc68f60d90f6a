<?php
/**
 * Test helper: the site also sells in Chile's Unidad de Fomento (CLF, 4 decimals), a currency WooCommerce does
 * not list and the plugin knows nothing about, added as a shop would (WooCommerce caches its list on first use).
 */

add_filter(
	'woocommerce_currencies',
	function ( $currencies ) {
		return $currencies + array( 'CLF' => 'Unidad de Fomento' );
	}
);
