<?php
/**
 * A bulk refund's outcome in the admin's language, from the service's progress answer: why each booking was
 * not refunded (its code and params through Refunder_Messages; the service's English for a code the plugin
 * does not know) and the CSV report built from the same items.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Bulk_Report {

	/**
	 * Why an item failed or was skipped, in the admin's language; '' when nothing needs saying.
	 *
	 * @param array $item One item of the service's progress answer.
	 */
	public static function why( array $item ) {
		if ( is_array( $item['reason'] ?? null ) ) {
			return Refunder_Messages::of( $item['reason'] );
		}
		return (string) ( $item['message'] ?? '' );
	}

	/**
	 * One line per booking that failed or was skipped: "Order 1042: why".
	 *
	 * @param array $view The service's progress answer.
	 * @return string[] Plain text: escape it where it is shown.
	 */
	public static function problems( array $view ) {
		$lines = array();
		foreach ( $view['items'] as $item ) {
			if ( in_array( $item['outcome'], array( 'failed', 'skipped' ), true ) ) {
				/* translators: 1: order number, 2: why */
				$lines[] = sprintf( __( 'Order %1$s: %2$s', 'refunder' ), $item['order_id'], self::why( $item ) );
			}
		}
		return $lines;
	}

	/** A provider as people name it: the service's label, in the admin's language where it is a word. */
	public static function provider( array $said ) {
		return Refunder_Messages::name( (string) ( $said['provider_label'] ?? $said['provider'] ?? '' ) );
	}

	/**
	 * The report: one row per booking, headings, outcomes and reasons in the admin's language, in the
	 * language's spreadsheet habits (Norwegian: ";" between columns, a decimal comma, as the refund journal);
	 * UTF-8 with a byte order mark (as WooCommerce's own exports), so spreadsheets read "ø" right.
	 *
	 * @param array $view The service's progress answer.
	 */
	public static function csv( array $view ) {
		/* translators: the column separator of the CSV report: "," in English, ";" where the decimal mark is a comma */
		$separator = _x( ',', 'CSV column separator', 'refunder' );
		/* translators: the decimal mark of amounts in the CSV report */
		$point    = _x( '.', 'CSV decimal mark', 'refunder' );
		$headings = array(
			__( 'Order', 'refunder' ),
			__( 'Provider', 'refunder' ),
			__( 'Currency', 'refunder' ),
			__( 'Amount', 'refunder' ),
			__( 'Outcome', 'refunder' ),
			_x( 'Reason', 'report column: why a booking was not refunded', 'refunder' ),
			_x( 'Refund', 'report column: the refund id', 'refunder' ),
			__( 'Provider reference', 'refunder' ),
			__( 'Payment', 'refunder' ),
		);
		$out = fopen( 'php://temp', 'w+' );
		fputcsv( $out, $headings, $separator, '"', '' );
		$outcomes = self::outcomes();
		foreach ( $view['items'] as $item ) {
			$money = is_array( $item['amount'] ?? null ) ? $item['amount'] : null;
			$row   = array(
				$item['order_id'],
				$item['provider'] ? self::provider( $item ) : '',
				$money ? $money['currency'] : '',
				$money ? str_replace( '.', $point, Refunder_Money::to_decimal( (int) $money['value'], (int) $money['exponent'] ) ) : '',
				$outcomes[ $item['outcome'] ] ?? $item['outcome'],
				self::why( $item ),
				$item['refund_id'] ?? '',
				$item['provider_reference'] ?? '',
				$item['payment_id'] ?? '',
			);
			fputcsv( $out, array_map( array( __CLASS__, 'cell' ), $row ), $separator, '"', '' );
		}
		rewind( $out );
		$csv = stream_get_contents( $out );
		fclose( $out );
		return "\xEF\xBB\xBF" . $csv;
	}

	/** @return array<string, string> An item's outcome in one word, as the report shows it. */
	public static function outcomes() {
		return array(
			/* translators: a bulk refund's booking, not sent yet */
			'queued'     => __( 'queued', 'refunder' ),
			/* translators: a bulk refund's booking, sent and not confirmed yet */
			'processing' => __( 'processing', 'refunder' ),
			/* translators: a bulk refund's booking */
			'refunded'   => __( 'refunded', 'refunder' ),
			/* translators: a bulk refund's booking whose refund the provider has not confirmed either way */
			'unknown'    => __( 'unknown', 'refunder' ),
			/* translators: a bulk refund's booking */
			'failed'     => __( 'failed', 'refunder' ),
			/* translators: a bulk refund's booking that could not be refunded here */
			'skipped'    => __( 'skipped', 'refunder' ),
		);
	}

	/** A cell a spreadsheet shows as text, never runs as a formula (as WooCommerce's CSV exporter does). */
	private static function cell( $value ) {
		$value = (string) $value;
		return '' !== $value && in_array( $value[0], array( '=', '+', '-', '@', "\t", "\r" ), true ) ? "'" . $value : $value;
	}
}
