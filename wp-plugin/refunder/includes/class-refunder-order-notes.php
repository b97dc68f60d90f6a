<?php
/**
 * Order notes by the staff member who acted, not by "WooCommerce".
 *
 * WooCommerce's add_order_note( $note, 0, true ) names the current user as the note's author, when they may
 * edit orders. Work done later on someone's behalf (WP-Cron, Action Scheduler, a bulk refund) has no current
 * user: its note names the staff member who asked, through woocommerce_new_order_note_data, for that note only.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Order_Notes {

	/**
	 * Adds a private order note authored by the staff member who asked for what it records.
	 *
	 * @param WC_Order $order   The order.
	 * @param string   $note    The note, in plain words.
	 * @param int      $user_id Who asked (a refund's actor id); 0: the current user.
	 * @return int The note's comment id.
	 */
	public static function add( $order, $note, $user_id = 0 ) {
		$user_id = (int) $user_id ?: get_current_user_id();
		if ( $user_id && get_current_user_id() === $user_id && current_user_can( 'edit_shop_orders', $order->get_id() ) ) {
			return $order->add_order_note( $note, 0, true ); // WooCommerce's own way: by the current user.
		}
		$user = $user_id ? get_userdata( $user_id ) : false;
		if ( ! $user ) {
			return $order->add_order_note( $note );
		}
		$by = function ( $data ) use ( $user ) {
			return array_merge(
				$data,
				array( 'comment_author' => $user->display_name, 'comment_author_email' => $user->user_email, 'user_id' => $user->ID )
			);
		};
		add_filter( 'woocommerce_new_order_note_data', $by );
		try {
			return $order->add_order_note( $note );
		} finally {
			remove_filter( 'woocommerce_new_order_note_data', $by );
		}
	}
}
