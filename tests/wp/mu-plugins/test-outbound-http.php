<?php
/**
 * Test site only: every outbound HTTP request is written to <site>/outbound-http.jsonl (url, method, body,
 * what answered it) and blocked with a WP_Error, except calls to the Refunder sidecar the settings name (and
 * URL prefixes in the option refunder_test_http_allow). A test can give a canned answer instead: option
 * refunder_test_http_answers, URL prefix => array( 'code' => 200, 'body' => '...', 'headers' => array() ).
 * Tests read the log to assert, for example, that nothing was sent to api.vipps.no.
 */

/** Where the log is: beside the site's docroot. */
function refunder_test_http_log_file() {
	return dirname( ABSPATH ) . '/outbound-http.jsonl';
}

/** pre_http_request, last: log, then let the sidecar through, answer a canned response or block. */
function refunder_test_http_guard( $preempt, $args, $url ) {
	$entry = array(
		'url'    => $url,
		'method' => strtoupper( $args['method'] ?? 'GET' ),
		'body'   => is_array( $args['body'] ?? null ) ? $args['body'] : (string) ( $args['body'] ?? '' ),
	);
	$settings = get_option( 'refunder_settings', array() );
	$allowed  = array_filter( array_merge( array( $settings['url'] ?? '', defined( 'REFUNDER_SIDECAR_URL' ) ? REFUNDER_SIDECAR_URL : '' ), (array) get_option( 'refunder_test_http_allow', array() ) ) );
	$answers  = (array) get_option( 'refunder_test_http_answers', array() );
	if ( false !== $preempt ) {
		$entry['answer'] = 'test filter';
	} elseif ( array_filter( $allowed, fn( $prefix ) => 0 === strpos( $url, rtrim( $prefix, '/' ) ) ) ) {
		$entry['answer'] = 'sent';
	} else {
		$canned = null;
		foreach ( $answers as $prefix => $answer ) {
			if ( 0 === strpos( $url, $prefix ) ) {
				$canned = $answer;
				break;
			}
		}
		$entry['answer'] = $canned ? 'canned' : 'blocked';
		$preempt         = $canned
			? array(
				'headers'  => $canned['headers'] ?? array( 'content-type' => 'application/json' ),
				'body'     => $canned['body'] ?? '',
				'response' => array( 'code' => (int) ( $canned['code'] ?? 200 ), 'message' => '' ),
				'cookies'  => array(),
				'filename' => null,
			)
			: new WP_Error( 'refunder_test_offline', 'Outbound HTTP is blocked on the test site: ' . $url );
	}
	file_put_contents( refunder_test_http_log_file(), wp_json_encode( $entry ) . "\n", FILE_APPEND | LOCK_EX );
	return $preempt;
}

/** (Re)installs the guard; tests that clear pre_http_request call it again. */
function refunder_test_http_guard_install() {
	add_filter( 'pre_http_request', 'refunder_test_http_guard', PHP_INT_MAX, 3 );
}

refunder_test_http_guard_install();
