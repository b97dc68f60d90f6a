<?php
/**
 * Test helper: other plugins' strings translated as their language pack would (the option
 * refunder_test_translations: text domain => original => translation), for language packs the tests do not have.
 */

add_filter(
	'gettext',
	function ( $translation, $text, $domain ) {
		$packs = get_option( 'refunder_test_translations', array() );
		return $packs[ $domain ][ $text ] ?? $translation;
	},
	10,
	3
);
