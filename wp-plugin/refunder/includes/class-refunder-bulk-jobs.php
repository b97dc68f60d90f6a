<?php
/**
 * The bulk refund's calls to the Refunder service: the plan of a selection, starting its job, the job's
 * progress (each refund it made recorded on its order in WooCommerce) and its report (the items, which
 * Refunder_Bulk_Report writes as CSV in the admin's language). Failures come back
 * as a WP_Error in the admin's language (Refunder_Client) and are logged with WooCommerce's logger.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Bulk_Jobs {

	/**
	 * What the service would refund of these orders, and why not.
	 *
	 * @param int[] $ids Orders.
	 * @return array|WP_Error The plan: lines (with reason), totals, refundable, skipped.
	 */
	public static function plan( array $ids ) {
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			return $client;
		}
		return self::logged( $client->call( 'POST', '/v1/bulk-refunds/plan', array( 'lines' => self::lines( $ids, $client ) ) ), 'plan' );
	}

	/**
	 * Starts refunding the orders; the same selection starts nothing new (its idempotency key).
	 *
	 * @return array|WP_Error The job.
	 */
	public static function start( array $ids, $selection, $reason ) {
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			return $client;
		}
		$job = $client->call(
			'POST',
			'/v1/bulk-refunds',
			array( 'lines' => self::lines( $ids, $client ), 'reason' => $reason, 'actor' => Refunder_Payments::actor( wp_get_current_user() ) ),
			array( 'Idempotency-Key' => 'wp-bulk-' . $selection )
		);
		return self::logged( $job, 'start ' . $selection );
	}

	/**
	 * The job's progress; the refunds it made are recorded on their orders in WooCommerce.
	 *
	 * @return array|WP_Error
	 */
	public static function progress( $job ) {
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			return $client;
		}
		$view = self::logged( $client->call( 'GET', '/v1/bulk-refunds/' . rawurlencode( $job ) ), 'progress ' . $job );
		if ( ! is_wp_error( $view ) ) {
			self::record( $view, $client );
		}
		return $view;
	}

	/** @return string|WP_Error The CSV report, in the admin's language. */
	public static function report( $job ) {
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			return $client;
		}
		$view = self::logged( $client->call( 'GET', '/v1/bulk-refunds/' . rawurlencode( $job ) ), 'report ' . $job );
		return is_wp_error( $view ) ? $view : Refunder_Bulk_Report::csv( $view );
	}

	/** @return array<int, array> lines for the service: order id, payment id (none when it cannot be registered) */
	private static function lines( array $ids, $client ) {
		$lines = array();
		foreach ( $ids as $id ) {
			$order   = wc_get_order( $id );
			$summary = $order ? Refunder_Payments::summary( $order, $client ) : null;
			if ( is_wp_error( $summary ) ) {
				self::logged( $summary, 'order ' . $id . ': payment not registered' );
			}
			$lines[] = array( 'order_id' => (string) $id, 'payment_id' => is_array( $summary ) ? $summary['id'] : null );
		}
		return $lines;
	}

	/** Each refund the job made, on its order (WooCommerce records it once it is refunded). */
	private static function record( array $view, $client ) {
		foreach ( $view['items'] as $item ) {
			if ( empty( $item['refund_id'] ) ) {
				continue;
			}
			$order = wc_get_order( (int) $item['order_id'] );
			$known = Refunder_Store::get( $item['refund_id'] );
			if ( ! $order || ( $known && ! Refunder_Books::unsettled( $known ) ) ) {
				continue;
			}
			$refund = $client->call( 'GET', '/v1/refunds/' . rawurlencode( $item['refund_id'] ) );
			if ( is_wp_error( $refund ) ) {
				self::logged( $refund, 'refund ' . $item['refund_id'] . ' of order ' . $item['order_id'] . ' not read back (the next poll or the follow-up records it)' );
				continue;
			}
			Refunder_Books::remember( $order, $refund );
		}
	}

	/** A failed call in WooCommerce's log (WooCommerce → Status → Logs, source "refunder"); the result as it was. */
	private static function logged( $result, $what ) {
		if ( is_wp_error( $result ) ) {
			Refunder_Log::warning( sprintf( 'bulk refund %s: %s [%s]', $what, $result->get_error_message(), $result->get_error_code() ) );
		}
		return $result;
	}
}
