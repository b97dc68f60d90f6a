<?php
/**
 * Test helper: other plugins' strings translated as their language pack would (the option
 * refunder_test_translations: text domain => original => translation), for language packs the tests do not have.
 * Read once per request, and no gettext filter at all without it (bench.render loads these helpers too).
 */

$refunder_test_translations = get_option( 'refunder_test_translations', array() );
if ( $refunder_test_translations ) {
	add_filter(
		'gettext',
		function ( $translation, $text, $domain ) use ( $refunder_test_translations ) {
			return $refunder_test_translations[ $domain ][ $text ] ?? $translation;
		},
		10,
		3
	);
}
