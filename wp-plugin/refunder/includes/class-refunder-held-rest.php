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
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Held_Rest {

	const META = '_refunder_held_rest'; // on the order: array( 'source' => …, 'waiting' => Refunder refund ids )
	const LOCK = 'refunder_held_rest_'; // option per order while one process books its rest (add_option is atomic)

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

	/** After Refunder settled a refund of the order: the held booking, once nothing it waits for is unsettled. */
	public static function check( $order_id ) {
		$order = wc_get_order( $order_id );
		if ( ! $order || ! is_array( $order->get_meta( self::META ) ) || self::waiting( $order->get_meta( self::META ) ) ) {
			return;
		}
		$lock = self::LOCK . (int) $order_id;
		if ( ! add_option( $lock, time(), '', false ) ) {
			if ( time() - (int) get_option( $lock ) < Refunder_Store::STALE ) {
				return; // another process is booking it.
			}
			update_option( $lock, time(), false ); // its process died: taken over.
		}
		try {
			self::book( wc_get_order( $order_id ) );
		} finally {
			delete_option( $lock );
		}
	}

	/** Whether a refund the hold waits for is still in flight, or refunded and not yet in WooCommerce's books. */
	private static function waiting( array $held ) {
		foreach ( $held['waiting'] as $refund_id ) {
			$entry = Refunder_Store::get( $refund_id );
			if ( $entry && 'failed' !== $entry['status'] && Refunder_Store::RECORDED !== $entry['record_state'] ) {
				return true;
			}
		}
		return false;
	}

	private static function book( WC_Order $order ) {
		$held = $order->get_meta( self::META );
		if ( ! is_array( $held ) ) {
			return; // booked by another process meanwhile.
		}
		$entries  = array_filter( array_map( array( 'Refunder_Store', 'get' ), $held['waiting'] ) );
		$failed   = array_filter( $entries, fn( $e ) => 'failed' === $e['status'] );
		$exponent = $entries ? (int) reset( $entries )['exponent'] : wc_get_price_decimals();
		$left     = Refunder_Books::woocommerce_left( $order, $exponent ); // minor units
		if ( $failed ) {
			$entry = reset( $failed );
			Refunder_Order_Notes::add(
				$order,
				/* translators: 1: amount, 2: provider */
				sprintf( __( 'Refunder: the refund of %1$s through %2$s failed, so the payment is not fully refunded after all. WooCommerce\'s automatic record of the rest, held back when the order was set to Refunded, was not made. Check the payment with the provider.', 'refunder' ), Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] ), Refunder_Books::provider( $entry ) )
			);
		} elseif ( $order->has_status( 'refunded' ) && 0 < $left ) {
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
			if ( is_wp_error( $refund ) ) { // kept: tried again when Refunder next settles a refund of the order.
				Refunder_Log::warning( sprintf( 'the rest of order %d held back at a status change was not booked: %s', $order->get_id(), $refund->get_error_message() ) );
				return;
			}
			Refunder_Order_Notes::add(
				$order,
				/* translators: %s: amount */
				sprintf( __( 'Refunder recorded the rest the payment provider refunded, %s, now that Refunder\'s own refunds of the order are in WooCommerce\'s books.', 'refunder' ), Refunder_Money::woocommerce_text( $refund->get_amount(), $refund->get_currency() ) )
			);
		}
		$order = wc_get_order( $order->get_id() ); // as wc_create_refund left it
		$order->delete_meta_data( self::META );
		$order->save_meta_data();
	}
}
