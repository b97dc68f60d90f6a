<?php
/**
 * Records whether a payment was made in test or live mode, at payment time, for the gateway plugins that do not
 * (Vipps MobilePay for WooCommerce and WooCommerce Stripe store no such marker on the order). The Refunder
 * service then refunds it with the credentials of that mode, never the other's.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Payment_Mode {

	const META = '_refunder_payment_mode';

	public static function register() {
		add_action( 'woocommerce_payment_complete', array( __CLASS__, 'vipps_paid' ) );
		add_action( 'wc_gateway_stripe_process_response', array( __CLASS__, 'stripe_paid' ), 10, 2 );
	}

	/**
	 * Vipps: the gateway's own test mode switch when the payment completed (WC_Gateway_Vipps::is_test_mode()).
	 *
	 * @param int $order_id The order.
	 */
	public static function vipps_paid( $order_id ) {
		$order   = wc_get_order( $order_id );
		$gateway = $order ? ( WC()->payment_gateways()->payment_gateways()[ $order->get_payment_method() ] ?? null ) : null;
		if ( ! $gateway || ! in_array( $gateway->id, array( 'vipps', 'vipps_card' ), true ) || ! method_exists( $gateway, 'is_test_mode' ) ) {
			return;
		}
		self::record( $order, $gateway->is_test_mode() ? 'test' : 'live' );
	}

	/**
	 * Stripe: the charge's (or intent's) own livemode, as the Stripe plugin processes it.
	 *
	 * @param object   $response The Stripe object the payment was made with.
	 * @param WC_Order $order    The order.
	 */
	public static function stripe_paid( $response, $order ) {
		if ( ! is_object( $response ) || ! isset( $response->livemode ) || ! is_a( $order, 'WC_Order' ) ) {
			return;
		}
		self::record( $order, $response->livemode ? 'live' : 'test' );
	}

	private static function record( $order, $mode ) {
		if ( $order->get_meta( self::META ) !== $mode ) {
			$order->update_meta_data( self::META, $mode );
			$order->save();
		}
	}
}
