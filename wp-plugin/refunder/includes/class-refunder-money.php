<?php
/**
 * Money as integer minor units, read from and written to decimal strings without floats.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Money {

	/** ISO 4217 minor-unit digits that differ from 2 (the sidecar holds the full table). */
	const EXPONENTS = array(
		'BIF' => 0, 'CLP' => 0, 'DJF' => 0, 'GNF' => 0, 'ISK' => 0, 'JPY' => 0, 'KMF' => 0, 'KRW' => 0, 'PYG' => 0,
		'RWF' => 0, 'UGX' => 0, 'UYI' => 0, 'VND' => 0, 'VUV' => 0, 'XAF' => 0, 'XOF' => 0, 'XPF' => 0,
		'BHD' => 3, 'IQD' => 3, 'JOD' => 3, 'KWD' => 3, 'LYD' => 3, 'OMR' => 3, 'TND' => 3,
	);

	public static function exponent( $currency ) {
		return self::EXPONENTS[ strtoupper( $currency ) ] ?? 2;
	}

	/**
	 * "1 234,50" or "1234.5" in NOK -> 123450. Null when it is not an exact amount in that currency.
	 *
	 * @return int|null
	 */
	public static function to_minor( $text, $currency ) {
		$digits = self::exponent( $currency );
		$clean  = str_replace( array( ' ', "\xc2\xa0" ), '', trim( (string) $text ) );
		$clean  = str_replace( ',', '.', $clean );
		if ( ! preg_match( '/^(\d{1,13})(?:\.(\d+))?$/', $clean, $m ) ) {
			return null;
		}
		$fraction = $m[2] ?? '';
		if ( strlen( $fraction ) > $digits ) {
			if ( '' !== trim( substr( $fraction, $digits ), '0' ) ) {
				return null;
			}
			$fraction = substr( $fraction, 0, $digits );
		}
		return (int) $m[1] * ( 10 ** $digits ) + (int) str_pad( $fraction, $digits, '0' );
	}

	/**
	 * A stored WooCommerce amount ("59.999999", 60.0, "-12.5") rounded half up to minor units.
	 */
	public static function round_to_minor( $value, $currency ) {
		$digits = self::exponent( $currency );
		$text   = is_float( $value ) ? sprintf( '%.8F', $value ) : trim( (string) $value );
		if ( ! preg_match( '/^(-?)(\d*)(?:\.(\d*))?$/', $text, $m ) || '' === $m[2] . ( $m[3] ?? '' ) ) {
			return 0;
		}
		$fraction = str_pad( $m[3] ?? '', $digits + 1, '0' );
		$minor    = (int) $m[2] * ( 10 ** $digits ) + (int) substr( $fraction, 0, $digits );
		if ( (int) $fraction[ $digits ] >= 5 ) {
			++$minor;
		}
		return '-' === $m[1] ? -$minor : $minor;
	}

	/** $part of $whole of an amount in minor units, rounded half up ($whole of it is the amount itself). */
	public static function share( $minor, $part, $whole ) {
		return intdiv( 2 * $minor * $part + $whole, 2 * $whole );
	}

	/**
	 * 123450 NOK -> "1234.50" (what wc_create_refund and the sidecar's decimal form expect).
	 *
	 * @param int|null $exponent The currency's minor-unit digits as the sidecar said them (its money objects).
	 */
	public static function to_decimal( $minor, $currency, $exponent = null ) {
		$digits = null === $exponent ? self::exponent( $currency ) : (int) $exponent;
		$sign   = $minor < 0 ? '-' : '';
		$minor  = abs( (int) $minor );
		if ( 0 === $digits ) {
			return $sign . $minor;
		}
		$base = 10 ** $digits;
		return $sign . intdiv( $minor, $base ) . '.' . str_pad( (string) ( $minor % $base ), $digits, '0', STR_PAD_LEFT );
	}

	/**
	 * For people, as HTML: "1 234,50 kr" through WooCommerce's own formatting.
	 *
	 * @param int|null $exponent As the sidecar's money objects say it: shown with exactly that many decimals.
	 */
	public static function format( $minor, $currency, $exponent = null ) {
		$args = array( 'currency' => $currency ) + ( null === $exponent ? array() : array( 'decimals' => (int) $exponent ) );
		return wc_price( self::to_decimal( $minor, $currency, $exponent ), $args );
	}

	/** The same as plain text (messages, order notes, JSON for the panel). */
	public static function text( $minor, $currency, $exponent = null ) {
		return html_entity_decode( wp_strip_all_tags( self::format( $minor, $currency, $exponent ) ), ENT_QUOTES, 'UTF-8' );
	}
}
