<?php
/**
 * Test site only: a warning, notice or deprecation that WordPress or WooCommerce raise because of a call from
 * Refunder (or the WooCommerce double, or these helpers) is logged a second time naming that call, so
 * WordPress::php_problems() counts it as ours. Whose it is: the innermost caller outside WordPress and
 * WooCommerce (a gateway plugin's own problems stay theirs).
 */

set_error_handler(
	function ( $errno, $errstr, $file, $line ) {
		static $ours = null, $woocommerce = null;
		if ( null === $ours ) {
			$woocommerce = realpath( WP_PLUGIN_DIR . '/woocommerce' );
			$double      = $woocommerce && false !== strpos( $woocommerce, 'woocommerce-double' );
			$ours        = array_filter( array( realpath( WP_PLUGIN_DIR . '/refunder' ), $double ? $woocommerce : null, __DIR__ ) );
		}
		$under    = fn( $path, $dirs ) => (bool) array_filter( $dirs, fn( $dir ) => 0 === strpos( (string) $path, $dir . '/' ) );
		$platform = fn( $path ) => $under( $path, array( $woocommerce ) )
			|| ( $under( $path, array( realpath( ABSPATH ) ) ) && ! $under( $path, array( realpath( WP_CONTENT_DIR ) ) ) );
		if ( ! ( error_reporting() & $errno ) || $under( $file, $ours ) ) {
			return false; // PHP logs it with our path already.
		}
		foreach ( debug_backtrace( DEBUG_BACKTRACE_IGNORE_ARGS ) as $frame ) { // phpcs:ignore WordPress.PHP.DevelopmentFunctions
			if ( in_array( $frame['function'], array( 'include', 'include_once', 'require', 'require_once', 'spl_autoload_call' ), true ) ) {
				break; // raised while loading a file (e.g. a class declaration PHP 8 deprecates): the file's own.
			}
			$caller = $frame['file'] ?? '';
			if ( '' === $caller || __FILE__ === $caller || $platform( $caller ) ) {
				continue;
			}
			if ( $under( $caller, $ours ) ) {
				error_log( "PHP problem caused by $caller:{$frame['line']}: $errstr in $file on line $line" ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
			}
			break;
		}
		return false; // and PHP logs it as always.
	},
	E_WARNING | E_NOTICE | E_DEPRECATED | E_USER_WARNING | E_USER_NOTICE | E_USER_DEPRECATED
);
