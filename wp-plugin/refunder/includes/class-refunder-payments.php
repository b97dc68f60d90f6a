<?php
/**
 * The order's payment at the Refunder service: registered (or refreshed) from the order's payment facts,
 * its id kept on the order.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Payments {

	const META = '_refunder_payment_id';

	/**
	 * Registers (or refreshes) the order's payment with the service.
	 *
	 * @return array|WP_Error The payment summary.
	 */
	public static function summary( $order, $client ) {
		$paid   = $order->get_date_paid() ?: $order->get_date_created();
		$user   = wp_get_current_user();
		$result = $client->call(
			'POST',
			'/v1/payments',
			array(
				'order_id' => (string) $order->get_id(),
				'captured' => array(
					'value'    => Refunder_Money::to_minor( $order->get_total(), $order->get_currency() ) ?? 0,
					'currency' => $order->get_currency(),
				),
				'paid_at'  => $paid->format( 'Y-m-d\TH:i:sP' ),
				'actor'    => self::actor( $user ),
				'document' => Refunder_Credit_Notes::document( $order ),
			) + Refunder_Payment_Source::for_order( $order )
		);
		if ( ! is_wp_error( $result ) && $order->get_meta( self::META ) !== $result['id'] ) {
			$order->update_meta_data( self::META, $result['id'] );
			$order->save();
		}
		return $result;
	}

	public static function actor( $user ) {
		return array(
			'id'   => (string) ( $user->ID ?: 'system' ),
			'name' => $user->ID ? ( $user->display_name ?: $user->user_login ) : 'WordPress',
		);
	}
}
