<?php
/**
 * Test site only: the captured mail (<site>/mail.jsonl) also records each attachment's name and SHA-256,
 * taken while the file still exists.
 */
add_filter(
	'wp_mail',
	function ( $atts ) {
		$files = is_array( $atts['attachments'] ?? null ) ? $atts['attachments'] : array_filter( explode( "\n", (string) ( $atts['attachments'] ?? '' ) ) );
		$atts['attachment_digests'] = array_map(
			fn( $file ) => array( 'name' => basename( $file ), 'sha256' => is_file( $file ) ? hash_file( 'sha256', $file ) : null ),
			array_values( $files )
		);
		return $atts;
	},
	999
);
