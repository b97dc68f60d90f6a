/**
 * The plugin's JavaScript, linted with WordPress's own rules (scripts/lint.sh).
 */
import wordpress from '@wordpress/eslint-plugin';

export default [
	{ ignores: [ '**/*', '!wp-plugin/', '!wp-plugin/refunder/', '!wp-plugin/refunder/assets/', '!wp-plugin/refunder/assets/**/*.js' ] },
	...wordpress.configs[ 'recommended-with-formatting' ],
];
