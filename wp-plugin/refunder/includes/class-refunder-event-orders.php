<?php
/**
 * Default answers to "which orders booked product P on date D" (the refunder_event_orders filter) for
 * booking systems Refunder knows. Others answer through the same filter themselves.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Event_Orders {

	/** WooCommerce Bookings statuses of a booking the customer has paid for. */
	const PAID_BOOKINGS = array( 'paid', 'confirmed', 'complete' );

	public static function register() {
		add_filter( 'refunder_event_orders', array( __CLASS__, 'woocommerce_bookings' ), 5, 3 );
	}

	/**
	 * WooCommerce Bookings: the orders of the product's paid bookings that take place on the date
	 * (bookings that span it included).
	 *
	 * @param int[]  $ids        Orders found so far.
	 * @param int    $product_id Bookable product.
	 * @param string $date       Y-m-d in the site's calendar.
	 * @return int[]
	 */
	public static function woocommerce_bookings( $ids, $product_id, $date ) {
		if ( ! class_exists( 'WC_Booking_Data_Store' ) ) {
			return $ids;
		}
		// Bookings keeps start and end as local "YmdHis" text and compares them with date() of these stamps.
		$day      = new DateTimeImmutable( $date . ' 00:00:00', new DateTimeZone( date_default_timezone_get() ) );
		$bookings = WC_Booking_Data_Store::get_booking_ids_by(
			array(
				'object_id'    => $product_id,
				'object_type'  => 'product',
				'status'       => self::PAID_BOOKINGS,
				'date_between' => array(
					'start' => $day->getTimestamp(),
					'end'   => $day->modify( '+1 day' )->getTimestamp() - 1,
				),
				'limit'        => -1,
			)
		);
		foreach ( $bookings as $booking_id ) {
			$order_id = WC_Booking_Data_Store::get_booking_order_id( $booking_id );
			if ( $order_id ) {
				$ids[] = $order_id;
			}
		}
		return $ids;
	}
}
