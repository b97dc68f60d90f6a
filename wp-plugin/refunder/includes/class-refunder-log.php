<?php
/**
 * The plugin's lines in WooCommerce's log (WooCommerce → Status → Logs, source "refunder"): every failure the
 * plugin carries on after (an outage, a refund not read back, a note not attached) is written here once.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Log {

	/** The log's source: WooCommerce keeps the plugin's lines in their own file under this name. */
	const SOURCE = 'refunder';

	/** Every line starts with it, so the plugin's lines stand out wherever a handler sends them. */
	const PREFIX = 'Refunder: ';

	/**
	 * A failure the plugin swallowed, as a warning.
	 *
	 * @param string $message What failed, and why (English: the log is read by whoever supports the shop).
	 * @param array  $context More for log handlers (ids, error codes); its source is always "refunder".
	 */
	public static function warning( $message, array $context = array() ) {
		wc_get_logger()->warning( self::PREFIX . $message, array( 'source' => self::SOURCE ) + $context );
	}
}
