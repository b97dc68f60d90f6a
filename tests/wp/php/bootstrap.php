<?php
/**
 * PHPUnit on a real WordPress: load the site that scripts/wp-env.sh installed (REFUNDER_WP_DIR), with
 * WooCommerce (the double or a real one) and Refunder active, pointed at a real sidecar.
 */
$dir = getenv( 'REFUNDER_WP_DIR' );
if ( ! $dir ) {
	fwrite( STDERR, "Set REFUNDER_WP_DIR (pytest tests/wp does).\n" );
	exit( 1 );
}
$_SERVER += array( 'HTTP_HOST' => 'localhost', 'SERVER_NAME' => 'localhost', 'REQUEST_URI' => '/', 'REQUEST_METHOD' => 'GET', 'SERVER_PROTOCOL' => 'HTTP/1.1', 'REMOTE_ADDR' => '127.0.0.1' );
require $dir . '/docroot/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once __DIR__ . '/TestCase.php';
