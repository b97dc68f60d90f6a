<?php
/**
 * What the order says about how it was paid (its payment facts), for the Refunder service to work out which
 * provider took the money and whether it can refund it. A booking system can name the payment itself through
 * the refunder_payment_source filter (e.g. BT Pay / Stripe Connect).
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Payment_Source {

	/** Order meta the gateway plugins write (Vipps MobilePay, Stripe, Mollie; Vipps Recurring) and Refunder's mode. */
	const META_PREFIXES = array( '_vipps_', '_stripe_', '_mollie_', '_refunder_payment_mode', '_agreement_id', '_charge_id' );

	/** Meta that could help someone act on the customer's behalf is never sent. */
	const PRIVATE_META = '/token|secret|password|session/i';

	/**
	 * The source part of the payment registration (POST /v1/payments): the order's payment facts, and the
	 * provider, reference and provider data when a booking system names them.
	 *
	 * @param WC_Order $order The order.
	 * @return array{facts: array, provider?: string, reference?: string, provider_data?: object, mode?: string}
	 */
	public static function for_order( $order ) {
		$request = array( 'facts' => self::facts( $order ) );
		/**
		 * Filters where an order's money came from, for orders no gateway plugin Refunder knows took (a booking
		 * system's own payments, e.g. BT Pay through Stripe Connect). Return null to let the Refunder service
		 * decide from the order's payment facts, or the payment itself, which then wins.
		 *
		 * @since 0.1.0
		 * @since 0.2.0 Receives null instead of the plugin's own guess: detection moved to the Refunder service.
		 *
		 * @param array|null $source null, or { provider, reference, provider_data?, mode? ('live'|'test') }.
		 * @param WC_Order   $order  The order.
		 */
		$source = apply_filters( 'refunder_payment_source', null, $order );
		if ( is_array( $source ) && ! empty( $source['provider'] ) ) {
			$request['provider']      = (string) $source['provider'];
			$request['reference']     = (string) ( $source['reference'] ?? '' );
			$request['provider_data'] = (object) array_map( 'strval', (array) ( $source['provider_data'] ?? array() ) );
			if ( ! empty( $source['mode'] ) ) {
				$request['mode'] = (string) $source['mode'];
			}
		}
		return $request;
	}

	/**
	 * The order's payment facts: gateway id and title, transaction id, and the gateway plugins' order meta.
	 *
	 * @param WC_Order $order The order.
	 * @return array{gateway: string, gateway_title: string, transaction_id: string, meta: object}
	 */
	public static function facts( $order ) {
		$meta = array();
		foreach ( $order->get_meta_data() as $entry ) {
			$key   = (string) $entry->key;
			$value = $entry->value;
			if ( is_scalar( $value ) && self::sent( $key ) ) {
				$meta[ $key ] = mb_substr( (string) $value, 0, 200 );
			}
		}
		$facts = array(
			'gateway'        => mb_substr( (string) $order->get_payment_method(), 0, 64 ),
			'gateway_title'  => mb_substr( (string) $order->get_payment_method_title(), 0, 200 ),
			'transaction_id' => mb_substr( (string) $order->get_transaction_id(), 0, 200 ),
			'meta'           => $meta,
		);
		/**
		 * Filters the payment facts sent to the Refunder service (e.g. to add the meta of another gateway plugin
		 * whose rule the service has).
		 *
		 * @since 0.2.0
		 *
		 * @param array    $facts { gateway, gateway_title, transaction_id, meta: key => string }.
		 * @param WC_Order $order The order.
		 */
		$facts         = apply_filters( 'refunder_payment_facts', $facts, $order );
		$facts['meta'] = (object) array_slice( (array) $facts['meta'], 0, 100, true );
		return $facts;
	}

	private static function sent( $key ) {
		if ( strlen( $key ) > 64 || preg_match( self::PRIVATE_META, $key ) ) {
			return false;
		}
		foreach ( self::META_PREFIXES as $prefix ) {
			if ( 0 === strpos( $key, $prefix ) ) {
				return true;
			}
		}
		return false;
	}
}
