<?php
/**
 * The order's side of the books: the sidecar payment id, each refund's latest state, and the one
 * WooCommerce refund recorded (with wc_create_refund, refund_payment false) when the money has gone back.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Ledger {

	const PAYMENT = '_refunder_payment_id';
	const REFUNDS = '_refunder_refunds';
	const PENDING = '_refunder_pending';
	const INDEX   = 'refunder_pending_orders'; // option: ids of orders with refunds not final yet (any datastore)
	const FINAL   = array( 'refunded', 'failed' );

	/** The order's payment registered with the service (Refunder_Payments), for the callers that ask here. */
	public static function payment_summary( $order, $client ) {
		return Refunder_Payments::summary( $order, $client );
	}

	public static function actor( $user ) {
		return Refunder_Payments::actor( $user );
	}

	/** @return array<string, array> refund id => what we know, oldest first */
	public static function refunds( $order ) {
		$refunds = $order->get_meta( self::REFUNDS );
		return is_array( $refunds ) ? $refunds : array();
	}

	/**
	 * Stores the service's view of one refund; records it in WooCommerce once it is refunded.
	 *
	 * @param array       $refund         The refund as the service returned it.
	 * @param string|null $provider_label Who sent the money back, when known.
	 */
	public static function remember( $order, array $refund, $provider_label = null ) {
		$lock = 'refunder_order_' . $order->get_id();
		self::lock( $lock );
		try {
			$order   = wc_get_order( $order->get_id() ); // fresh meta under the lock.
			$refunds = self::refunds( $order );
			$known   = $refunds[ $refund['id'] ] ?? array();
			$entry   = array_merge(
				$known,
				array(
					'id'                 => $refund['id'],
					'status'             => $refund['status'],
					'amount'             => (int) $refund['amount']['value'],
					'currency'           => $refund['amount']['currency'],
					'reason'             => $refund['reason'],
					'actor'              => $refund['actor']['name'],
					'provider_reference' => $refund['provider_reference'],
					'failure'            => $refund['failure'] ?? null, // code, params and the English sentence
					'created_at'         => $refund['created_at'],
					'lines'              => $refund['lines'],
				),
				$provider_label ? array( 'provider_label' => $provider_label ) : array()
			);
			if ( 'refunded' === $entry['status'] && empty( $entry['wc_refund_id'] ) ) {
				$entry['wc_refund_id'] = self::record_in_woocommerce( $order, $entry );
			}
			$refunds[ $refund['id'] ] = $entry;
			$order->update_meta_data( self::REFUNDS, $refunds );
			$pending = (bool) array_filter( $refunds, fn( $r ) => ! in_array( $r['status'], self::FINAL, true ) );
			$order->update_meta_data( self::PENDING, $pending ? 'yes' : 'no' );
			$order->save();
			self::index( $order->get_id(), $pending );
			return $entry;
		} finally {
			self::unlock( $lock );
		}
	}

	/** The WooCommerce refund that makes totals, order notes and the customer's e-mail follow. */
	private static function record_in_woocommerce( $order, array $entry ) {
		$line_items = array();
		$items      = $order->get_items();
		foreach ( $entry['lines'] ?? array() as $line ) {
			$item = $items[ (int) $line['item_id'] ] ?? null;
			if ( $item ) {
				$line_items[ $item->get_id() ] = self::refunded_line( $item, (int) $line['quantity'], $entry['currency'] );
			}
		}
		$refund = wc_create_refund(
			array(
				'order_id'       => $order->get_id(),
				'amount'         => Refunder_Money::to_decimal( $entry['amount'], $entry['currency'] ),
				'reason'         => $entry['reason'],
				'line_items'     => $line_items,
				'refund_payment' => false, // the money already went back through the Refunder service.
				'restock_items'  => false,
				'refunder_refund_id' => $entry['id'], // names the refund for its credit note (e-mail attachment).
			)
		);
		$provider = $entry['provider_label'] ?? __( 'the payment provider', 'refunder' );
		if ( is_wp_error( $refund ) ) {
			$order->add_order_note(
				/* translators: 1: amount, 2: provider, 3: error */
				sprintf( __( 'Refunder: %1$s was refunded through %2$s, but WooCommerce did not record it: %3$s', 'refunder' ), Refunder_Money::text( $entry['amount'], $entry['currency'] ), $provider, $refund->get_error_message() )
			);
			return 0;
		}
		$order->add_order_note(
			sprintf(
				/* translators: 1: amount, 2: provider, 3: person, 4: provider's reference, 5: reason */
				__( 'Refunder: %1$s refunded through %2$s by %3$s (reference %4$s). Reason: %5$s', 'refunder' ),
				Refunder_Money::text( $entry['amount'], $entry['currency'] ),
				$provider,
				$entry['actor'],
				$entry['provider_reference'] ?: '–',
				$entry['reason']
			)
		);
		return $refund->get_id();
	}

	/** The net and tax shares of a refunded line, as WooCommerce books them. */
	private static function refunded_line( $item, $qty, $currency ) {
		$whole = max( 1, (int) $item->get_quantity() );
		$taxes = array();
		foreach ( $item->get_taxes()['total'] ?? array() as $rate => $tax ) {
			$taxes[ $rate ] = Refunder_Money::to_decimal( Refunder_Money::share( Refunder_Money::round_to_minor( $tax, $currency ), $qty, $whole ), $currency );
		}
		return array(
			'qty'          => $qty,
			'refund_total' => Refunder_Money::to_decimal( Refunder_Money::share( Refunder_Money::round_to_minor( $item->get_total(), $currency ), $qty, $whole ), $currency ),
			'refund_tax'   => $taxes,
		);
	}

	/** @return int[] orders that have refunds which are not final yet. */
	public static function pending_orders() {
		return array_map( 'intval', (array) get_option( self::INDEX, array() ) );
	}

	private static function index( $order_id, $pending ) {
		self::lock( self::INDEX );
		try {
			wp_cache_delete( self::INDEX, 'options' );
			$ids = array_diff( self::pending_orders(), array( $order_id ) );
			update_option( self::INDEX, array_values( $pending ? array_merge( $ids, array( $order_id ) ) : $ids ), false );
		} finally {
			self::unlock( self::INDEX );
		}
	}

	/** Asks the service about every refund of the order that is not final yet. */
	public static function refresh_pending( $order, $client ) {
		foreach ( self::refunds( $order ) as $id => $known ) {
			if ( in_array( $known['status'], self::FINAL, true ) ) {
				continue;
			}
			$refund = $client->call( 'POST', '/v1/refunds/' . rawurlencode( $id ) . '/refresh' );
			if ( is_wp_error( $refund ) ) { // asked again at the next round
				wc_get_logger()->warning( sprintf( 'Refunder: refund %s (order %d) could not be read back: %s', $id, $order->get_id(), $refund->get_error_message() ), array( 'source' => 'refunder' ) );
			} else {
				self::remember( $order, $refund );
			}
		}
	}

	private static function lock( $name ) {
		global $wpdb;
		$wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 15)', $name ) );
	}

	private static function unlock( $name ) {
		global $wpdb;
		$wpdb->get_var( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $name ) );
	}
}
