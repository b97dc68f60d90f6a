<?php
/**
 * Reviewed refunds waiting for their confirm, each kept on its order as the meta _refunder_review_<token>
 * (WooCommerce's CRUD, so HPOS and legacy storage alike), not in a transient: with a persistent object cache
 * a transient lives only in the cache, which may evict it at any moment, and the review's idempotency key must
 * outlive a lost answer, so that "Press Refund again" sends the same refund under the same key.
 *
 * A review holds for TTL seconds. Once the service has answered its refund only that refund's id stays, so the
 * token never sends anything again. Action Scheduler (refunder_forget_review) removes each review when it expires;
 * deactivation removes them all.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Reviews {

	const TTL    = 1800;
	const PREFIX = '_refunder_review_';
	const FORGET = 'refunder_forget_review';

	public static function register() {
		add_action( self::FORGET, array( __CLASS__, 'forget' ), 10, 2 );
	}

	/**
	 * Keeps a review on its order until it expires (the order's meta only: no order save).
	 *
	 * @param WC_Order $order  The order.
	 * @param array    $review What the confirm sends, and who may send it (user_id).
	 * @return string The review's token.
	 */
	public static function keep( WC_Order $order, array $review ) {
		$token   = wp_generate_uuid4();
		$expires = time() + self::TTL;
		$order->update_meta_data( self::PREFIX . $token, array( 'expires' => $expires ) + $review );
		$order->save_meta_data();
		as_schedule_single_action( $expires, self::FORGET, array( $order->get_id(), $token ), Refunder_Follow_Up::GROUP );
		return $token;
	}

	/**
	 * The review of this order under $token, when it has not expired and the user is the one who made it.
	 *
	 * @return array|null With refund_id alone once the service has answered its refund.
	 */
	public static function find( WC_Order $order, $token, $user_id ) {
		$review = wp_is_uuid( $token, 4 ) ? $order->get_meta( self::PREFIX . $token ) : null;
		if ( ! is_array( $review ) || (int) $review['user_id'] !== (int) $user_id ) {
			return null;
		}
		if ( $review['expires'] <= time() ) {
			self::forget( $order->get_id(), $token );
			return null;
		}
		return $review;
	}

	/**
	 * The service answered the review's refund: what it would send goes, the refund's id stays. The order is
	 * read again: recording the refund has changed it since.
	 */
	public static function answered( $order_id, $token, array $review, $refund_id ) {
		self::put( $order_id, $token, array( 'expires' => $review['expires'], 'user_id' => $review['user_id'], 'refund_id' => $refund_id ) );
	}

	/**
	 * Every review removed, from every order: at deactivation, which drops their expiry actions. A confirm after it
	 * answers that the review expired, as it would 30 minutes later.
	 */
	public static function forget_all() {
		global $wpdb;
		Refunder_Store::delete_order_meta( $wpdb->esc_like( self::PREFIX ) . '%' );
	}

	/** The action: the review is removed from its order. */
	public static function forget( $order_id, $token ) {
		self::put( $order_id, $token, null );
	}

	private static function put( $order_id, $token, $entry ) {
		$order = wc_get_order( $order_id );
		if ( ! $order || '' === $order->get_meta( self::PREFIX . $token ) ) {
			return; // removed meanwhile (it expired): not made again.
		}
		if ( null === $entry ) {
			$order->delete_meta_data( self::PREFIX . $token );
		} else {
			$order->update_meta_data( self::PREFIX . $token, $entry );
		}
		$order->save_meta_data();
	}
}
