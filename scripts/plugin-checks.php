<?php
/**
 * The plugin's own checks, in the spirit of WordPress Coding Standards (which is in no registry here),
 * read from PHP's own tokens:
 *
 * - text domain: every translation call names the domain 'refunder';
 * - escaping at output: what echo, print, <?= , printf and wp_die print is escaped (esc_*, wp_kses*, a cast,
 *   a literal, or a function known to return safe HTML); _e() and _ex() are refused (esc_html_e);
 * - admin actions: every wp_ajax_* and admin_post_* handler checks a capability and a nonce, every bulk-action
 *   handler a capability (WordPress checks the list's nonce), directly or in the class's own helpers.
 *
 * A line may say why it is safe with `phpcs:ignore WordPress.Security.EscapeOutput` (or .NonceVerification,
 * WordPress.WP.I18n) as WordPress Coding Standards reads it.
 *
 * Usage: php scripts/plugin-checks.php wp-plugin/refunder    Prints each finding; exits 1 if there is one.
 */

const DOMAIN = 'refunder';
// Translation function => position of its text-domain argument (0-based).
const I18N = array(
	'__' => 1, '_e' => 1, '_x' => 2, '_ex' => 2, '_n' => 3, '_nx' => 4, '_n_noop' => 2, '_nx_noop' => 3,
	'esc_html__' => 1, 'esc_html_e' => 1, 'esc_html_x' => 2, 'esc_attr__' => 1, 'esc_attr_e' => 1, 'esc_attr_x' => 2,
);
// Calls whose result may be printed as it is.
const SAFE = array(
	'esc_html', 'esc_attr', 'esc_url', 'esc_js', 'esc_textarea', 'esc_xml', 'esc_html__', 'esc_attr__', 'esc_html_x',
	'esc_attr_x', 'wp_kses', 'wp_kses_post', 'wp_kses_data', 'absint', 'intval', 'floatval', 'number_format_i18n',
	'checked', 'selected', 'disabled', 'get_submit_button', 'wc_price', 'wc_help_tip', 'Refunder_Money::format',
);
const CAPABILITY = array( 'current_user_can', 'user_can' );
const NONCE      = array( 'check_ajax_referer', 'check_admin_referer', 'wp_verify_nonce' );

function significant( array $tokens ): array {
	$kept = array();
	$line = 1;
	foreach ( $tokens as $token ) {
		if ( is_array( $token ) ) {
			$line = $token[2];
			if ( in_array( $token[0], array( T_WHITESPACE, T_COMMENT, T_DOC_COMMENT ), true ) ) {
				continue;
			}
			$kept[] = array( 'id' => $token[0], 'text' => $token[1], 'line' => $line );
		} else {
			$kept[] = array( 'id' => null, 'text' => $token, 'line' => $line );
		}
	}
	return $kept;
}

/** Lines that carry a phpcs:ignore naming $sniff (or a plain phpcs:ignore). */
function ignored_lines( array $tokens, string $sniff ): array {
	$lines = array();
	foreach ( $tokens as $token ) {
		if ( is_array( $token ) && in_array( $token[0], array( T_COMMENT, T_DOC_COMMENT ), true ) && false !== strpos( $token[1], 'phpcs:ignore' ) ) {
			$rest = trim( substr( $token[1], strpos( $token[1], 'phpcs:ignore' ) + 12 ) );
			if ( '' === $rest || 0 === strpos( $rest, '--' ) || false !== strpos( $rest, $sniff ) ) {
				$lines[ $token[2] ] = true;
			}
		}
	}
	return $lines;
}

/** The arguments of the call whose '(' is at $open: lists of tokens, and the index after its ')'. */
function arguments( array $t, int $open ): array {
	$args  = array( array() );
	$depth = 0;
	for ( $i = $open; $i < count( $t ); $i++ ) {
		$text = $t[ $i ]['text'];
		if ( in_array( $text, array( '(', '[', '{' ), true ) || T_CURLY_OPEN === $t[ $i ]['id'] || T_DOLLAR_OPEN_CURLY_BRACES === $t[ $i ]['id'] ) {
			if ( 0 < $depth++ ) {
				$args[ count( $args ) - 1 ][] = $t[ $i ];
			}
			continue;
		}
		if ( in_array( $text, array( ')', ']', '}' ), true ) ) {
			if ( 0 === --$depth ) {
				return array( array_values( array_filter( $args, fn( $a ) => $a ) ), $i + 1 );
			}
		} elseif ( ',' === $text && 1 === $depth ) {
			$args[] = array();
			continue;
		}
		$args[ count( $args ) - 1 ][] = $t[ $i ];
	}
	return array( $args, count( $t ) );
}

function is_call( array $t, int $i ): bool {
	$before = $t[ $i - 1 ]['text'] ?? '';
	return T_STRING === $t[ $i ]['id'] && '(' === ( $t[ $i + 1 ]['text'] ?? '' ) && ! in_array( $before, array( '->', '?->', 'function' ), true )
		&& T_FUNCTION !== ( $t[ $i - 1 ]['id'] ?? null ) && T_NEW !== ( $t[ $i - 1 ]['id'] ?? null );
}

/** Whether an expression (tokens) is safe to print as it is. */
function escaped( array $expr ): bool {
	foreach ( parts( $expr ) as $part ) {
		if ( ! safe_part( $part ) ) {
			return false;
		}
	}
	return true;
}

/** An expression's printed operands: split at top-level concatenation and ternaries (a condition is not printed). */
function parts( array $expr ): array {
	$parts = array( array() );
	$depth = 0;
	foreach ( $expr as $n => $token ) {
		$text = $token['text'];
		if ( in_array( $text, array( '(', '[' ), true ) ) {
			$depth++;
		} elseif ( in_array( $text, array( ')', ']' ), true ) ) {
			$depth--;
		} elseif ( 0 === $depth && '?' === $text && ':' !== ( $expr[ $n + 1 ]['text'] ?? '' ) ) {
			$parts[ count( $parts ) - 1 ] = array(); // the condition
			continue;
		} elseif ( 0 === $depth && in_array( $text, array( '.', '?', ':', ',' ), true ) ) {
			$parts[] = array();
			continue;
		}
		$parts[ count( $parts ) - 1 ][] = $token;
	}
	return array_filter( $parts, fn( $p ) => $p );
}

/** Whether a line of these tokens says why they are safe (phpcs:ignore). */
function excused( array $tokens, array $lines ): bool {
	foreach ( $tokens as $token ) {
		if ( ! empty( $lines[ $token['line'] ] ) ) {
			return true;
		}
	}
	return false;
}

function safe_part( array $part ): bool {
	$first = $part[0];
	if ( 1 === count( $part ) && in_array( $first['id'], array( T_CONSTANT_ENCAPSED_STRING, T_LNUMBER, T_DNUMBER ), true ) ) {
		return true;
	}
	if ( in_array( $first['id'], array( T_INT_CAST, T_DOUBLE_CAST, T_BOOL_CAST ), true ) ) {
		return true;
	}
	if ( 1 === count( $part ) && T_STRING === $first['id'] && strtoupper( $first['text'] ) === $first['text'] ) {
		return true; // a constant
	}
	$name = $first['text'];
	if ( T_STRING === $first['id'] && '::' === ( $part[1]['text'] ?? '' ) ) {
		$name .= '::' . ( $part[2]['text'] ?? '' );
		$open  = 3;
	} else {
		$open = 1;
	}
	if ( T_STRING !== $first['id'] || '(' !== ( $part[ $open ]['text'] ?? '' ) ) {
		return false;
	}
	list( , $end ) = arguments( $part, $open );
	return in_array( $name, SAFE, true ) && $end === count( $part ); // the call is the whole operand
}

function check_file( string $file, array &$findings, array &$methods, array &$hooks ): void {
	$source = file_get_contents( $file );
	$raw    = token_get_all( $source );
	$t      = significant( $raw );
	$skip   = array(
		'escape' => ignored_lines( $raw, 'WordPress.Security.EscapeOutput' ),
		'i18n'   => ignored_lines( $raw, 'WordPress.WP.I18n' ),
	);
	$class  = '';
	$method = '';
	$depth  = 0;
	$ends   = array();
	for ( $i = 0; $i < count( $t ); $i++ ) {
		$token = $t[ $i ];
		$text  = $token['text'];
		$line  = $token['line'];
		if ( T_CLASS === $token['id'] && T_STRING === ( $t[ $i + 1 ]['id'] ?? null ) ) {
			$class = $t[ $i + 1 ]['text'];
		}
		if ( T_FUNCTION === $token['id'] && T_STRING === ( $t[ $i + 1 ]['id'] ?? null ) && $class ) {
			$method = $t[ $i + 1 ]['text'];
			$methods[ "$class::$method" ] = array( 'calls' => array(), 'file' => $file, 'line' => $line );
			$ends[ $depth ] = true; // this method ends when the depth comes back here
		}
		if ( '{' === $text || T_CURLY_OPEN === $token['id'] || T_DOLLAR_OPEN_CURLY_BRACES === $token['id'] ) {
			$depth++;
		} elseif ( '}' === $text ) {
			$depth--;
			if ( isset( $ends[ $depth ] ) ) {
				unset( $ends[ $depth ] );
				$method = '';
			}
		}
		if ( is_call( $t, $i ) ) {
			$name = $text;
			if ( '::' === ( $t[ $i - 1 ]['text'] ?? '' ) ) {
				$owner = $t[ $i - 2 ]['text'];
				$name  = ( in_array( $owner, array( 'self', 'static' ), true ) ? $class : $owner ) . '::' . $text;
			}
			if ( $method ) {
				$methods[ "$class::$method" ]['calls'][] = $name;
			}
			list( $args, ) = arguments( $t, $i + 1 );
			if ( isset( I18N[ $name ] ) && empty( $skip['i18n'][ $line ] ) ) {
				$domain = $args[ I18N[ $name ] ] ?? array();
				if ( 1 !== count( $domain ) || "'" . DOMAIN . "'" !== $domain[0]['text'] ) {
					$findings[] = "$file:$line: $name() without the text domain '" . DOMAIN . "'";
				}
			}
			if ( in_array( $name, array( '_e', '_ex' ), true ) && empty( $skip['escape'][ $line ] ) ) {
				$findings[] = "$file:$line: $name() prints a translation unescaped: use esc_html_e() or esc_attr_e()";
			}
			if ( in_array( $name, array( 'printf', 'vprintf' ), true ) && empty( $skip['escape'][ $line ] ) ) {
				foreach ( $args as $n => $arg ) {
					if ( ! ( 0 === $n && 1 === count( $arg ) && T_CONSTANT_ENCAPSED_STRING === $arg[0]['id'] ) && ! escaped( $arg ) && ! excused( $arg, $skip['escape'] ) ) {
						$findings[] = "$file:$line: $name() argument " . ( $n + 1 ) . ' is printed unescaped';
					}
				}
			}
			if ( 'wp_die' === $name && $args && empty( $skip['escape'][ $line ] ) && ! escaped( $args[0] ) ) {
				$findings[] = "$file:$line: wp_die() prints its message unescaped";
			}
			if ( in_array( $name, array( 'add_action', 'add_filter' ), true ) && $args ) {
				$hook = implode( '', array_column( $args[0], 'text' ) );
				if ( preg_match( '/^[\'"](wp_ajax_(?!nopriv_)|admin_post_(?!nopriv_)|handle_bulk_actions-)/', $hook ) && 2 <= count( $args ) ) {
					$callback = array_column( $args[1], 'text' );
					$target   = end( $callback ) === ')' && count( $callback ) >= 6 ? trim( $callback[ count( $callback ) - 2 ], "'\"" ) : '';
					$hooks[]  = array( 'hook' => trim( $hook, "'\"" ), 'method' => "$class::$target", 'file' => $file, 'line' => $line );
				}
				if ( preg_match( '/^[\'"](wp_ajax_nopriv_|admin_post_nopriv_)/', $hook ) ) {
					$findings[] = "$file:$line: " . trim( $hook, "'\"" ) . ' is open to visitors who are not logged in';
				}
			}
		}
		if ( in_array( $token['id'], array( T_ECHO, T_PRINT, T_OPEN_TAG_WITH_ECHO ), true ) && empty( $skip['escape'][ $line ] ) ) {
			$expr = array();
			for ( $j = $i + 1; $j < count( $t ) && ';' !== $t[ $j ]['text'] && T_CLOSE_TAG !== $t[ $j ]['id']; $j++ ) {
				$expr[] = $t[ $j ];
			}
			if ( ! $expr || ! escaped( $expr ) ) {
				$findings[] = "$file:$line: " . trim( $text ) . ' prints something unescaped';
			}
		}
	}
}

/** Whether $method, or a helper of its own it calls (three calls deep), calls one of $functions. */
function reaches( array $methods, string $method, array $functions, int $depth = 3 ): bool {
	foreach ( $methods[ $method ]['calls'] ?? array() as $call ) {
		if ( in_array( $call, $functions, true ) || ( $depth > 0 && isset( $methods[ $call ] ) && reaches( $methods, $call, $functions, $depth - 1 ) ) ) {
			return true;
		}
	}
	return false;
}

$root     = rtrim( $argv[1] ?? 'wp-plugin/refunder', '/' );
$files    = new RecursiveIteratorIterator( new RecursiveDirectoryIterator( $root, FilesystemIterator::SKIP_DOTS ) );
$findings = array();
$methods  = array();
$hooks    = array();
foreach ( $files as $file ) {
	if ( 'php' === $file->getExtension() ) {
		check_file( $file->getPathname(), $findings, $methods, $hooks );
	}
}
foreach ( $hooks as $hook ) {
	$where = "{$hook['file']}:{$hook['line']}";
	if ( ! isset( $methods[ $hook['method'] ] ) ) {
		$findings[] = "$where: {$hook['hook']}: cannot find its handler {$hook['method']}";
		continue;
	}
	if ( ! reaches( $methods, $hook['method'], CAPABILITY ) ) {
		$findings[] = "$where: {$hook['hook']} ({$hook['method']}) checks no capability";
	}
	if ( 0 !== strpos( $hook['hook'], 'handle_bulk_actions-' ) && ! reaches( $methods, $hook['method'], NONCE ) ) {
		$findings[] = "$where: {$hook['hook']} ({$hook['method']}) checks no nonce";
	}
}
foreach ( $findings as $finding ) {
	fwrite( STDERR, $finding . "\n" );
}
printf( "plugin-checks: %d PHP files, %d admin actions, %d findings\n", iterator_count( $files ), count( $hooks ), count( $findings ) );
exit( $findings ? 1 : 0 );
