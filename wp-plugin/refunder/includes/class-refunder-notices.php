<?php
/**
 * What staff must know about an order's books, as admin notices: a Refunder refund WooCommerce has not
 * recorded yet (shown on the order until it is), and, once, an automatic refund Refunder stopped.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Notices {

	public static function register() {
		add_action( 'admin_notices', array( __CLASS__, 'show' ) );
	}

	/** A notice for the current user's next admin page. */
	public static function flash( $message ) {
		$user = get_current_user_id();
		if ( $user ) {
			$key = 'refunder_notices_' . $user;
			set_transient( $key, array_merge( (array) get_transient( $key ), array( $message ) ), HOUR_IN_SECONDS );
		}
	}

	public static function show() {
		if ( ! current_user_can( 'edit_shop_orders' ) && ! current_user_can( REFUNDER_CAPABILITY ) ) {
			return;
		}
		$key = 'refunder_notices_' . get_current_user_id();
		foreach ( (array) get_transient( $key ) as $message ) {
			printf( '<div class="notice notice-warning refunder-notice"><p>%s</p></div>', esc_html( $message ) );
		}
		delete_transient( $key );
		foreach ( self::unrecorded( self::order_on_screen() ) as $message ) {
			printf( '<div class="notice notice-error refunder-notice refunder-not-recorded"><p>%s</p></div>', esc_html( $message ) );
		}
	}

	/** The order whose edit screen this is (legacy or HPOS), or 0. */
	private static function order_on_screen() {
		$screen = get_current_screen();
		if ( ! $screen || ! in_array( $screen->id, Refunder_Order_Panel::screens(), true ) ) {
			return 0;
		}
		return absint( $_GET['id'] ?? $_GET['post'] ?? 0 ); // phpcs:ignore WordPress.Security.NonceVerification -- which screen this is.
	}

	/** @return string[] One sentence per refund of the order that is refunded and not in WooCommerce's books. */
	public static function unrecorded( $order_id ) {
		$messages = array();
		foreach ( $order_id ? Refunder_Store::for_order( $order_id ) : array() as $entry ) {
			if ( 'refunded' === $entry['status'] && Refunder_Store::FAILED === $entry['record_state'] ) {
				$messages[] = sprintf(
					/* translators: 1: amount, 2: provider, 3: error, 4: when the next attempt is */
					__( 'Refunder: %1$s was refunded through %2$s, but WooCommerce has not recorded it yet: %3$s Refunder tries again in the background (next attempt %4$s). Do not refund it again.', 'refunder' ),
					Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] ),
					Refunder_Books::provider( $entry ),
					rtrim( $entry['last_error'], '.' ) . '.',
					$entry['retry_at'] ? get_date_from_gmt( $entry['retry_at'], get_option( 'time_format' ) ) : '–'
				);
			}
		}
		return $messages;
	}
}
