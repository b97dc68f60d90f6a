<?php
/**
 * Mollie shows an order's payment refunded while a Refunder refund of it is still in flight. Its webhook sets the
 * order to Refunded, and WooCommerce would then book "total − what it has recorded" as "Order fully refunded.":
 * that would count Refunder's money in flight twice. The status guard refuses that booking and holds it here (order
 * meta, with the Refunder refunds it waits for). Whenever Refunder settles a refund of the order
 * (Refunder_Books::settle; the follow-up runs every minute while one is in flight), the hold is looked at:
 *
 * - every refund it waits for is refunded and in WooCommerce's books: what WooCommerce shows left is booked as
 *   "Order fully refunded." (no gateway call), reported to the service as Mollie's (source mollie_webhook), as
 *   WooCommerce would have booked it with Refunder's money in the books;
 * - one of them failed: Mollie's payment is not fully refunded after all, so nothing is booked and a note says so;
 * - the order is no longer Refunded, or nothing is left: nothing is booked.
 *
 * One process books it: the one whose SQL DELETE of the hold found it (claim()).
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Held_Rest {

	const META = '_refunder_held_rest'; // on the order: array( 'source' => …, 'waiting' => Refunder refund ids )

	/**
	 * Holds the automatic booking refused during a gateway's webhook until the given Refunder refunds are settled.
	 *
	 * @param WC_Order $order   The order.
	 * @param string   $source  How the service is told the booking came about (Refunder_WooCommerce_Refunds).
	 * @param string[] $waiting Refunder refund ids still in flight, or refunded and not in the books.
	 */
	public static function hold( WC_Order $order, $source, array $waiting ) {
		$order->update_meta_data( self::META, array( 'source' => $source, 'waiting' => array_values( $waiting ) ) );
		$order->save_meta_data();
	}

	/** After Refunder settled a refund of the order: the held booking, once nothing it waits for is outside the books. */
	public static function check( $order_id ) {
		$order = wc_get_order( $order_id );
		$held  = $order ? $order->get_meta( self::META ) : '';
		if ( ! is_array( $held ) ) {
			return;
		}
		$entries = array_filter( array_map( array( 'Refunder_Store', 'get' ), $held['waiting'] ) );
		if ( array_filter( $entries, array( 'Refunder_Books', 'outside_the_books' ) ) || ! self::claim( $order ) ) {
			return; // still waiting, or another process took the hold.
		}
		self::book( $order, $held, $entries );
	}

	/**
	 * Takes the hold off the order for this process alone: its meta row deleted by SQL in the order storage
	 * WooCommerce uses, past every cache (only one DELETE finds it), then from the order object.
	 */
	private static function claim( WC_Order $order ) {
		global $wpdb;
		$deleted = Refunder_Store::hpos()
			? $wpdb->delete( "{$wpdb->prefix}wc_orders_meta", array( 'order_id' => $order->get_id(), 'meta_key' => self::META ) ) // phpcs:ignore WordPress.DB
			: $wpdb->delete( $wpdb->postmeta, array( 'post_id' => $order->get_id(), 'meta_key' => self::META ) ); // phpcs:ignore WordPress.DB
		$order->delete_meta_data( self::META );
		$order->save_meta_data(); // the caches, and the other storage when WooCommerce keeps both in sync
		return 0 < (int) $deleted;
	}

	private static function book( WC_Order $order, array $held, array $entries ) {
		$failed = array_filter( $entries, fn( $e ) => 'failed' === $e['status'] );
		if ( $failed ) {
			$entry = reset( $failed );
			Refunder_Order_Notes::add(
				$order,
				/* translators: 1: amount, 2: provider */
				sprintf( __( 'Refunder: the refund of %1$s through %2$s failed, so the payment is not fully refunded after all. WooCommerce\'s automatic record of the rest, held back when the order was set to Refunded, was not made. Check the payment with the provider.', 'refunder' ), Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] ), Refunder_Books::provider( $entry ) )
			);
			return;
		}
		$exponent = $entries ? (int) reset( $entries )['exponent'] : wc_get_price_decimals();
		$left     = Refunder_Books::woocommerce_left( $order, $exponent ); // minor units
		if ( ! $order->has_status( 'refunded' ) || 0 >= $left ) {
			return;
		}
		$refund = Refunder_WooCommerce_Refunds::booked_as(
			$held['source'],
			fn() => wc_create_refund(
				array(
					'order_id'   => $order->get_id(),
					'amount'     => Refunder_Money::to_decimal( $left, $exponent ),
					'reason'     => __( 'Order fully refunded.', 'refunder' ),
					'line_items' => array(),
				)
			)
		);
		if ( is_wp_error( $refund ) ) { // held again: tried when Refunder next settles a refund of the order.
			Refunder_Log::warning( sprintf( 'the rest of order %d held back at a status change was not booked: %s', $order->get_id(), $refund->get_error_message() ) );
			self::hold( $order, $held['source'], $held['waiting'] );
			return;
		}
		Refunder_Order_Notes::add(
			$order,
			/* translators: %s: amount */
			sprintf( __( 'Refunder recorded the rest the payment provider refunded, %s, now that Refunder\'s own refunds of the order are in WooCommerce\'s books.', 'refunder' ), Refunder_Money::woocommerce_text( $refund->get_amount(), $refund->get_currency() ) )
		);
	}
}
