<?php
/**
 * An order set to Refunded or Cancelled: WooCommerce and the gateway plugins then refund "order total −
 * what WooCommerce has recorded as refunded" on their own (core books it as "Order fully refunded."; the
 * Vipps plugin refunds it through Vipps at priority 9, and on Cancelled; a Mollie webhook sets Refunded too).
 * If WooCommerce under-counts Refunder's money that would pay the customer again, so:
 *
 * 1. before them (priority 5) WooCommerce is brought up to date with Refunder's refunds of the order;
 * 2. while one of them is still in flight, or refunded and not in WooCommerce's books, every automatic
 *    refund during that status change is refused (an exception in woocommerce_create_refund: WooCommerce
 *    deletes the refund before any gateway is called), with an order note and an admin notice. During Mollie's
 *    webhook the money is already back at Mollie: that booking is held until those refunds are settled, and
 *    then made for what is left (Refunder_Held_Rest).
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Status_Guard {

	const STATUSES = array( 'refunded', 'cancelled' );

	/** @var array<int, array> Orders whose automatic refunds are refused during this status change => why, and
	 * the Refunder refunds not in the books. */
	private static $held = array();

	public static function register() {
		foreach ( self::STATUSES as $status ) {
			add_action( "woocommerce_order_status_$status", array( __CLASS__, 'before' ), 5 );
			add_action( "woocommerce_order_status_$status", array( __CLASS__, 'after' ), PHP_INT_MAX );
		}
		add_action( 'woocommerce_create_refund', array( __CLASS__, 'refuse' ), 1, 2 );
	}

	/** Brings the order's books up to date, then holds automatic refunds if Refunder's money is not all in them. */
	public static function before( $order_id ) {
		$order = wc_get_order( $order_id );
		if ( ! $order || '' === (string) $order->get_meta( Refunder_Payments::META ) ) {
			return; // Refunder never registered this order's payment, so it has refunded nothing on it.
		}
		$client = Refunder_Client::configured();
		$asked  = is_wp_error( $client ) ? $client : $client->call( 'GET', '/v1/refunds?order_id=' . rawurlencode( (string) $order_id ) );
		if ( ! is_wp_error( $asked ) ) {
			foreach ( $asked['refunds'] as $refund ) {
				if ( 'requested' === $refund['kind'] ) {
					Refunder_Books::remember( (int) $order_id, $refund );
				}
			}
		}
		$unsettled = array_filter( Refunder_Store::for_order( $order_id ), array( 'Refunder_Books', 'outside_the_books' ) );
		if ( $unsettled ) {
			self::$held[ (int) $order_id ] = array(
				'why'     => self::why( reset( $unsettled ) ),
				'waiting' => array_column( $unsettled, 'id' ),
			);
		}
	}

	public static function after( $order_id ) {
		unset( self::$held[ (int) $order_id ] );
	}

	private static function why( array $entry ) {
		$amount = Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] );
		if ( 'refunded' === $entry['status'] ) {
			/* translators: 1: amount, 2: provider */
			return sprintf( __( 'Refunder refunded %1$s through %2$s, and WooCommerce has not recorded it yet (it is tried again in the background).', 'refunder' ), $amount, Refunder_Books::provider( $entry ) );
		}
		/* translators: 1: amount, 2: provider */
		return sprintf( __( 'Refunder is still refunding %1$s through %2$s.', 'refunder' ), $amount, Refunder_Books::provider( $entry ) );
	}

	/**
	 * On woocommerce_create_refund, first: a refund WooCommerce or a gateway plugin makes by itself while the
	 * order's status changes and Refunder's money is not all in the books is refused (Refunder's own pass).
	 *
	 * @param WC_Order_Refund $refund The refund being created.
	 * @param array           $args   wc_create_refund's arguments.
	 * @throws Exception To make WooCommerce drop the refund before any gateway is asked to pay.
	 */
	public static function refuse( $refund, $args ) {
		$order_id = (int) ( $args['order_id'] ?? 0 );
		if ( ! isset( self::$held[ $order_id ] ) || ! empty( $args['refunder_refund_id'] ) ) {
			return;
		}
		$why     = self::$held[ $order_id ]['why'];
		$amount  = Refunder_Money::woocommerce_text( $refund->get_amount(), $refund->get_currency() );
		$order   = wc_get_order( $order_id );
		if ( $order && Refunder_WooCommerce_Refunds::in_mollie_webhook() ) { // the money is back at Mollie already.
			Refunder_Held_Rest::hold( $order, 'mollie_webhook', self::$held[ $order_id ]['waiting'] );
			$message = sprintf(
				/* translators: 1: amount, 2: why */
				__( 'Mollie shows the payment refunded, but WooCommerce did not record %1$s as refunded now: %2$s Once Refunder\'s refunds of the order are settled, Refunder records what is left. Nothing more was refunded.', 'refunder' ),
				$amount,
				$why
			);
		} else {
			$message = sprintf(
				/* translators: 1: amount, 2: why */
				__( 'Refunder stopped WooCommerce from refunding %1$s automatically when the order status changed: %2$s Nothing more was refunded. Refund any rest only once Refunder\'s refund shows as refunded on the order.', 'refunder' ),
				$amount,
				$why
			);
		}
		if ( $order ) {
			Refunder_Order_Notes::add( $order, $message );
		}
		Refunder_Notices::flash( $message );
		Refunder_Log::warning( "automatic refund of order $order_id refused during a status change: $why" );
		throw new Exception( $message ); // phpcs:ignore WordPress.Security.EscapeOutput -- WooCommerce returns it as a WP_Error.
	}
}
