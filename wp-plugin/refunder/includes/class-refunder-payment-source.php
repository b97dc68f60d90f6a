<?php
/**
 * Which provider took an order's money, and its payment reference, from what the common gateway plugins store.
 * A booking system can answer instead through the refunder_payment_source filter.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Payment_Source {

	/**
	 * @return array{provider: string, reference: string, provider_data: array<string, string>}
	 */
	public static function for_order( $order ) {
		$method = (string) $order->get_payment_method();
		$source = self::detect( $order, $method );
		/**
		 * Filters where an order's money came from.
		 *
		 * @param array    $source { provider, reference, provider_data }.
		 * @param WC_Order $order  The order.
		 */
		$source = apply_filters( 'refunder_payment_source', $source, $order );
		return array(
			'provider'      => (string) $source['provider'],
			'reference'     => (string) $source['reference'],
			'provider_data' => array_map( 'strval', (array) ( $source['provider_data'] ?? array() ) ),
		);
	}

	private static function detect( $order, $method ) {
		if ( 'vipps' === $method || 'vipps_mobilepay' === $method ) {
			// Vipps MobilePay for WooCommerce: the Vipps order id, and which API created the payment.
			$reference = (string) ( $order->get_meta( '_vipps_orderid' ) ?: $order->get_transaction_id() );
			$api       = (string) $order->get_meta( '_vipps_api' );
			return array( 'provider' => 'ecom' === $api ? 'vipps_ecom' : 'vipps', 'reference' => $reference, 'provider_data' => array() );
		}
		if ( 'stripe' === $method || 0 === strpos( $method, 'stripe_' ) ) {
			// WooCommerce Stripe Gateway: the PaymentIntent, else the charge id in the transaction id.
			$reference = (string) ( $order->get_meta( '_stripe_intent_id' ) ?: $order->get_transaction_id() );
			return array( 'provider' => 'stripe', 'reference' => $reference, 'provider_data' => array() );
		}
		if ( 0 === strpos( $method, 'mollie_wc_gateway_' ) ) {
			// Mollie Payments for WooCommerce.
			$reference = (string) ( $order->get_meta( '_mollie_payment_id' ) ?: $order->get_transaction_id() );
			return array( 'provider' => 'mollie', 'reference' => $reference, 'provider_data' => array() );
		}
		return array( 'provider' => 'manual', 'reference' => 'wc-order-' . $order->get_id(), 'provider_data' => array() );
	}
}
