<?php
/**
 * Test double of the two WooCommerce Bookings calls Refunder makes (WooCommerce Bookings is a paid
 * extension in no registry). Bookings are wc_booking posts whose parent is the order, with the meta the
 * extension keeps: _booking_product_id, _booking_start / _booking_end as local "YmdHis", _booking_all_day.
 */
class WC_Booking_Data_Store {

	/** Only the filters Refunder passes: object_id + object_type "product", status, date_between. */
	public static function get_booking_ids_by( $filters = array() ) {
		global $wpdb;
		if ( 'product' !== ( $filters['object_type'] ?? 'product' ) ) {
			throw new LogicException( 'the double supports object_type "product" only' );
		}
		$statuses = array_map( 'esc_sql', (array) $filters['status'] );
		$ids      = $wpdb->get_col( "SELECT ID FROM {$wpdb->posts} WHERE post_type = 'wc_booking' AND post_status IN ('" . implode( "','", $statuses ) . "')" );
		$products = wp_parse_id_list( $filters['object_id'] );
		$from     = $filters['date_between']['start'];
		$to       = $filters['date_between']['end'];
		return array_values(
			array_filter(
				array_map( 'absint', $ids ),
				function ( $id ) use ( $products, $from, $to ) {
					$start   = get_post_meta( $id, '_booking_start', true );
					$end     = get_post_meta( $id, '_booking_end', true );
					$all_day = '1' === get_post_meta( $id, '_booking_all_day', true );
					$format  = $all_day ? 'Ymd000000' : 'YmdHis';
					return in_array( absint( get_post_meta( $id, '_booking_product_id', true ) ), $products, true )
						&& $start <= date( $format, $to ) && $end >= date( $format, $from ); // phpcs:ignore WordPress.DateTime.RestrictedFunctions.date_date
				}
			)
		);
	}

	public static function get_booking_order_id( $booking_id ) {
		return absint( wp_get_post_parent_id( $booking_id ) );
	}
}
