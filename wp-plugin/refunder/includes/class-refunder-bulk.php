<?php
/**
 * Bulk refunds: the "Refunder" bulk action in the order list, and the selections it (or one event's
 * bookings) makes for the Bulk refund page. The page is Refunder_Bulk_Page, its form and ajax handlers
 * Refunder_Bulk_Actions, the calls to the service Refunder_Bulk_Jobs.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Bulk {

	const PAGE   = 'refunder-bulk';
	const ACTION = 'refunder_bulk';
	const TTL    = 3600;

	public static function register() {
		foreach ( array( 'edit-shop_order', 'woocommerce_page_wc-orders' ) as $screen ) {
			add_filter( "bulk_actions-$screen", array( __CLASS__, 'bulk_action' ) );
			add_filter( "handle_bulk_actions-$screen", array( __CLASS__, 'handle' ), 10, 3 );
		}
		Refunder_Bulk_Page::register();
		Refunder_Bulk_Actions::register();
	}

	public static function bulk_action( $actions ) {
		if ( current_user_can( REFUNDER_CAPABILITY ) ) {
			$actions[ self::ACTION ] = __( 'Refunder', 'refunder' );
		}
		return $actions;
	}

	/** Remembers the chosen orders and opens the review page. */
	public static function handle( $redirect, $action, $ids ) {
		if ( self::ACTION !== $action || ! current_user_can( REFUNDER_CAPABILITY ) ) {
			return $redirect;
		}
		return self::review_url( self::choose( (array) $ids ) );
	}

	/**
	 * Keeps a selection of orders for this user (an hour).
	 *
	 * @param int[] $ids Orders.
	 * @return string The selection's id.
	 */
	public static function choose( array $ids ) {
		$selection = wp_generate_uuid4();
		set_transient( self::key( $selection ), array_map( 'absint', $ids ), self::TTL );
		return $selection;
	}

	/** @return int[] The selection's orders; none when it has expired or is another user's. */
	public static function chosen( $selection ) {
		$ids = $selection ? get_transient( self::key( $selection ) ) : false;
		return is_array( $ids ) ? $ids : array();
	}

	/**
	 * The orders of one event. WooCommerce Bookings is answered by Refunder_Event_Orders; other booking
	 * plugins answer: add_filter( 'refunder_event_orders', fn( $ids, $product_id, $date ) => ..., 10, 3 ).
	 *
	 * @return int[]
	 */
	public static function event_orders( $product_id, $date ) {
		/**
		 * Filters the orders of one event: the paid bookings of a product on a day.
		 *
		 * @since 0.1.0
		 *
		 * @param int[]  $ids        Orders found so far.
		 * @param int    $product_id Booking product.
		 * @param string $date       Y-m-d in the site's calendar.
		 */
		return array_values( array_unique( array_map( 'absint', (array) apply_filters( 'refunder_event_orders', array(), $product_id, $date ) ) ) );
	}

	public static function review_url( $selection ) {
		return admin_url( 'admin.php?page=' . self::PAGE . '&selection=' . $selection );
	}

	public static function job_url( $job ) {
		return admin_url( 'admin.php?page=' . self::PAGE . '&job=' . rawurlencode( $job ) );
	}

	/** The nonce action of one job's progress and report. */
	public static function nonce_action( $job ) {
		return 'refunder_bulk_' . $job;
	}

	public static function guard() {
		if ( ! current_user_can( REFUNDER_CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to refund orders. Ask an administrator for the refund permission.', 'refunder' ), 403 );
		}
	}

	private static function key( $selection ) {
		return 'refunder_bulk_' . get_current_user_id() . '_' . sanitize_key( $selection );
	}
}
