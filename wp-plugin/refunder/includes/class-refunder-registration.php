<?php
/**
 * Payments are registered with the service when they are paid, in the background: WooCommerce's
 * payment-complete hook and an order moving to processing or completed queue the Action Scheduler action
 * refunder_register (group "refunder"); an order paid before Refunder was there is queued when its screen is
 * first shown. The order screen itself never registers (the service asks the provider, which may be slow).
 * A registration the service or the provider could not answer is tried again after 1, 2, 4 … 60 minutes.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Registration {

	const ACTION   = 'refunder_register';
	const ATTEMPTS = 8;
	const GROUP    = 'refunder'; // Action Scheduler's group for Refunder's background work

	public static function register() {
		add_action( 'woocommerce_payment_complete', array( __CLASS__, 'queue' ) );
		add_action( 'woocommerce_order_status_processing', array( __CLASS__, 'queue' ) );
		add_action( 'woocommerce_order_status_completed', array( __CLASS__, 'queue' ) );
		add_action( self::ACTION, array( __CLASS__, 'run' ), 10, 2 );
	}

	/** Queues the order's registration unless it is registered or queued already. */
	public static function queue( $order_id ) {
		$order = wc_get_order( $order_id );
		if ( ! $order || $order instanceof WC_Order_Refund || '' !== (string) $order->get_meta( Refunder_Payments::META ) ) {
			return;
		}
		if ( ! function_exists( 'as_enqueue_async_action' ) || as_has_scheduled_action( self::ACTION, array( (int) $order_id ), self::GROUP ) ) {
			return;
		}
		as_enqueue_async_action( self::ACTION, array( (int) $order_id ), self::GROUP );
	}

	/**
	 * The action: registers the order's payment; an outage (no answer, 5xx) is tried again later.
	 *
	 * @param int $order_id The order.
	 * @param int $attempt  1 for the first try.
	 */
	public static function run( $order_id, $attempt = 1 ) {
		$order = wc_get_order( $order_id );
		if ( ! $order || '' !== (string) $order->get_meta( Refunder_Payments::META ) ) {
			return; // registered meanwhile (its order screen was opened).
		}
		$client = Refunder_Client::configured();
		$result = is_wp_error( $client ) ? $client : Refunder_Payments::summary( $order, $client );
		if ( ! is_wp_error( $result ) ) {
			return;
		}
		$again = Refunder_Client::status( $result ) >= 500 && $attempt < self::ATTEMPTS && function_exists( 'as_schedule_single_action' );
		Refunder_Log::warning( sprintf( 'order %d: the payment could not be registered (attempt %d%s): %s', $order_id, $attempt, $again ? ', tried again later' : '', $result->get_error_message() ) );
		if ( $again ) {
			as_schedule_single_action( time() + min( HOUR_IN_SECONDS, MINUTE_IN_SECONDS * 2 ** ( $attempt - 1 ) ), self::ACTION, array( (int) $order_id, $attempt + 1 ), self::GROUP );
		}
	}
}
