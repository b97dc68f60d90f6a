<?php
/**
 * The order's payment at the Refunder service: registered from the order's payment facts (the service asks the
 * provider), read from the service's ledger (no provider asked), or checked with the provider again. Its id and
 * the last answer, with when WordPress got it, are kept on the order, so the order screen shows them at once.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Payments {

	const META  = '_refunder_payment_id';
	const KNOWN = '_refunder_payment'; // the service's last answer about the payment, plus fetched_at (unix time)

	/**
	 * Registers (or refreshes) the order's payment with the service, which asks the provider.
	 *
	 * @return array|WP_Error The payment as the service answered it.
	 */
	public static function summary( $order, $client ) {
		$paid   = $order->get_date_paid() ?: $order->get_date_created();
		$result = $client->call(
			'POST',
			'/v1/payments',
			array(
				'order_id' => (string) $order->get_id(),
				'captured' => Refunder_Money::decimal( $order->get_total(), $order->get_currency() ), // read by the service's currency table
				'paid_at'  => $paid->format( 'Y-m-d\TH:i:sP' ),
				'actor'    => self::actor( wp_get_current_user() ),
				'document' => Refunder_Credit_Notes::document( $order ),
			) + Refunder_Payment_Source::for_order( $order )
		);
		return self::keep( $order, $result );
	}

	/**
	 * The payment as the service's ledger has it (no provider is asked); registered first if it never was.
	 *
	 * @return array|WP_Error
	 */
	public static function read( $order, $client ) {
		$id = (string) $order->get_meta( self::META );
		if ( '' === $id ) {
			return self::summary( $order, $client );
		}
		return self::keep( $order, $client->call( 'GET', '/v1/payments/' . rawurlencode( $id ), null, array(), Refunder_Client::READ_TIMEOUT ) );
	}

	/**
	 * "Check with provider": the service asks the provider for the payment's facts and refunds again.
	 *
	 * @return array|WP_Error
	 */
	public static function check( $order, $client ) {
		$id = (string) $order->get_meta( self::META );
		if ( '' === $id ) {
			return self::summary( $order, $client );
		}
		return self::keep( $order, $client->call( 'POST', '/v1/payments/' . rawurlencode( $id ) . '/refresh' ) );
	}

	/**
	 * What WordPress last heard about the order's payment, without asking anyone.
	 *
	 * @return array|null The service's answer plus fetched_at (unix time), or null when it never answered.
	 */
	public static function known( $order ) {
		$known = $order->get_meta( self::KNOWN );
		return is_array( $known ) && isset( $known['refundable'], $known['fetched_at'] ) ? $known : null;
	}

	/** Keeps an answer on the order (its meta only: no order save, so no order hooks run). */
	private static function keep( $order, $result ) {
		if ( is_wp_error( $result ) ) {
			return $result;
		}
		$order->update_meta_data( self::META, $result['id'] );
		$order->update_meta_data( self::KNOWN, array_diff_key( $result, array( 'detection' => true ) ) + array( 'fetched_at' => time() ) );
		$order->save_meta_data();
		return $result;
	}

	public static function actor( $user ) {
		return array(
			'id'   => (string) ( $user->ID ?: 'system' ),
			'name' => $user->ID ? ( $user->display_name ?: $user->user_login ) : 'WordPress',
		);
	}
}
