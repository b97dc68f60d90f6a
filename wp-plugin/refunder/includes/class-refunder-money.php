<?php
/**
 * Money as integer minor units, read from and written to decimal strings without floats.
 *
 * The plugin keeps no currency table: every conversion takes the currency's minor-unit digits (its exponent)
 * as the service's money objects give them ({value, currency, exponent}), or is left to the service (an
 * order's total and WooCommerce's refunds go as WooCommerce writes them: decimal()).
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Money {

	/**
	 * "1 234,50" or "1234.5" -> 123450 with 2 digits. Null when it is not an exact amount with that many digits.
	 *
	 * @param string $text     As staff typed it.
	 * @param int    $exponent The currency's minor-unit digits as the service said them (its money objects).
	 * @return int|null
	 */
	public static function to_minor( $text, $exponent ) {
		$digits = (int) $exponent;
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
	 * A WooCommerce amount as the service reads it: the decimal string WooCommerce stores ("1500.00", "12.5"),
	 * which the service turns into minor units with its ISO 4217 table (refusing an inexact one: amount_not_exact).
	 *
	 * @param string|float $amount   As WooCommerce gives it (get_total(), get_amount()).
	 * @param string       $currency ISO 4217 code.
	 */
	public static function decimal( $amount, $currency ) {
		return array(
			'decimal'  => wc_format_decimal( $amount ),
			'currency' => (string) $currency,
		);
	}

	/**
	 * A stored WooCommerce amount ("59.999999", 60.0, "-12.5") rounded half up to minor units.
	 *
	 * @param int $exponent The currency's minor-unit digits as the service said them.
	 */
	public static function round_to_minor( $value, $exponent ) {
		$digits = (int) $exponent;
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
	 * 123450 with 2 digits -> "1234.50" (what wc_create_refund expects).
	 *
	 * @param int $exponent The currency's minor-unit digits as the service said them (its money objects).
	 */
	public static function to_decimal( $minor, $exponent ) {
		$digits = (int) $exponent;
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
	 * @param int|null $exponent As the service's money objects say it: shown with exactly that many decimals.
	 *                           Null only for a refund kept before its digits were (the shop's price decimals).
	 */
	public static function format( $minor, $currency, $exponent ) {
		$digits = null === $exponent ? wc_get_price_decimals() : (int) $exponent;
		return wc_price(
			self::to_decimal( $minor, $digits ),
			array(
				'currency' => $currency,
				'decimals' => $digits,
			)
		);
	}

	/** The same as plain text (messages, order notes, JSON for the panel). */
	public static function text( $minor, $currency, $exponent ) {
		return html_entity_decode( wp_strip_all_tags( self::format( $minor, $currency, $exponent ) ), ENT_QUOTES, 'UTF-8' );
	}

	/** An amount as WooCommerce stores it (its decimal string), as plain text in WooCommerce's own format. */
	public static function woocommerce_text( $amount, $currency ) {
		return html_entity_decode( wp_strip_all_tags( wc_price( $amount, array( 'currency' => $currency ) ) ), ENT_QUOTES, 'UTF-8' );
	}

	/** A money object from the service ({value, currency, exponent}) as plain text. */
	public static function said( array $money ) {
		return self::text( (int) $money['value'], (string) $money['currency'], (int) $money['exponent'] );
	}
}
