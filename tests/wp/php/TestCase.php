<?php
/** Shared helpers: orders, users, admin-ajax calls caught in-process, the sidecar's settings. */

class Refunder_Ajax_Done extends Exception {}

abstract class Refunder_TestCase extends PHPUnit\Framework\TestCase {

	protected $status;

	protected function setUp(): void {
		parent::setUp();
		update_option( 'refunder_settings', array( 'url' => getenv( 'REFUNDER_TEST_SIDECAR_URL' ), 'secret' => getenv( 'REFUNDER_TEST_SIDECAR_SECRET' ) ) );
		wp_set_current_user( 1 );
		remove_all_filters( 'refunder_payment_source' );
		remove_all_filters( 'pre_http_request' );
		refunder_test_http_guard_install(); // outbound HTTP stays logged and blocked (mu-plugins/test-outbound-http.php)
	}

	/**
	 * Skips the test unless the plugin (e.g. a gateway plugin from ../shared/wordpress) is installed; with
	 * $activate, switches it on for the processes that follow. This process stays as it was: run the tests
	 * that need the plugin loaded with @runInSeparateProcess, and switch it off in tearDownAfterClass.
	 */
	protected static function requires_plugin( string $slug, bool $activate = false ): void {
		if ( ! refunder_test_plugin_file( $slug ) ) {
			self::markTestSkipped( "$slug is not installed: the real gateway plugins come from ../shared/wordpress beside a real WooCommerce" );
		}
		if ( $activate ) {
			self::assertSame( 'active', self::wp_eval( "\$r = refunder_test_activate_plugin( '$slug' ); echo is_wp_error( \$r ) ? \$r->get_error_message() : 'active';" ) );
		}
	}

	/** Runs PHP in a new WordPress process (as the administrator); returns what it printed. */
	protected static function wp_eval( string $php ): string {
		$dir    = getenv( 'REFUNDER_WP_DIR' );
		$script = tempnam( $dir . '/bin', 'eval-' );
		file_put_contents( $script, "<?php\n" . $php );
		try {
			return (string) shell_exec( 'php ' . escapeshellarg( "$dir/bin/wp-eval.php" ) . ' ' . escapeshellarg( $script ) );
		} finally {
			unlink( $script );
		}
	}

	/** Outbound HTTP the site logged (mu-plugins/test-outbound-http.php): url, method, body, answer. */
	protected function outbound(): array {
		$file = refunder_test_http_log_file();
		return file_exists( $file ) ? array_map( fn( $l ) => json_decode( $l, true ), file( $file ) ) : array();
	}

	/** A paid booking order; $source sends it to a simulator payment instead of a manual one. */
	protected function order( array $args = array(), ?string $simulated = null ): WC_Order {
		$id = refunder_test_create_order(
			$args + array(
				'total' => '1500.00',
				'items' => array( array( 'Haircut', 1, '1000.00' ), array( 'Hair wash', 2, '500.00' ) ),
			)
		);
		if ( $simulated ) {
			$this->simulate( $id, $simulated );
		}
		return wc_get_order( $id );
	}

	protected function simulate( int $order_id, string $reference ): void {
		add_filter(
			'refunder_payment_source',
			function ( $source, $order ) use ( $order_id, $reference ) {
				return $order->get_id() === $order_id ? array( 'provider' => 'simulator', 'reference' => $reference ) : $source;
			},
			10,
			2
		);
	}

	protected function user( string $role ): int {
		return wp_insert_user( array( 'user_login' => $role . '-' . wp_generate_password( 6, false ), 'user_pass' => wp_generate_password(), 'role' => $role, 'display_name' => ucfirst( $role ) . ' user' ) );
	}

	/**
	 * Runs $work as a Norwegian administrator sees it: their profile's language, which determine_locale()
	 * gives on admin screens (this process is none, and the site has no core nb_NO pack for switch_to_locale).
	 */
	protected function as_norwegian_admin( callable $work ) {
		$before = get_current_user_id();
		$user   = $this->user( 'administrator' );
		update_user_meta( $user, 'locale', 'nb_NO' );
		wp_set_current_user( $user );
		$admin_screen = fn() => get_user_locale();
		add_filter( 'determine_locale', $admin_screen );
		Refunder_Plugin::load_textdomain();
		try {
			return $work();
		} finally {
			remove_filter( 'determine_locale', $admin_screen );
			wp_set_current_user( $before );
			Refunder_Plugin::load_textdomain();
		}
	}

	/** Calls a wp_ajax_ action as admin-ajax.php would; returns [HTTP status, decoded JSON]. */
	protected function ajax( string $action, array $post ): array {
		$_POST    = $post;
		$_REQUEST = $post;
		$this->status = 200;
		$die    = function () {
			return function () {
				throw new Refunder_Ajax_Done();
			};
		};
		$status = function ( $header, $code ) {
			$this->status = $code;
			return $header;
		};
		add_filter( 'wp_doing_ajax', '__return_true' );
		add_filter( 'wp_die_ajax_handler', $die );
		add_filter( 'status_header', $status, 10, 2 );
		ob_start();
		try {
			do_action( 'wp_ajax_' . $action );
		} catch ( Refunder_Ajax_Done $done ) {
			unset( $done );
		} finally {
			$output = ob_get_clean();
			remove_filter( 'wp_doing_ajax', '__return_true' );
			remove_filter( 'wp_die_ajax_handler', $die );
			remove_filter( 'status_header', $status, 10 );
			$_POST = $_REQUEST = array();
		}
		return array( $this->status, json_decode( $output, true ) );
	}

	protected function nonce( WC_Order $order ): string {
		return wp_create_nonce( Refunder_Ajax::nonce_action( $order->get_id() ) );
	}

	/** Review then confirm; returns the confirm answer. */
	protected function refund( WC_Order $order, array $form ): array {
		list( $status, $review ) = $this->ajax( 'refunder_review', $form + array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ) ) );
		$this->assertSame( 200, $status, wp_json_encode( $review ) );
		list( $status, $confirm ) = $this->ajax( 'refunder_confirm', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'token' => $review['data']['token'] ) );
		return array( $status, $confirm, $review );
	}

	/** Prices come with non-breaking spaces (as in WooCommerce); compare them as plain spaces. */
	protected static function plain( $text ) {
		return is_array( $text ) ? array_map( array( __CLASS__, 'plain' ), $text ) : str_replace( "\xc2\xa0", ' ', (string) $text );
	}

	protected function mails_to( string $address ): array {
		$file = getenv( 'REFUNDER_WP_DIR' ) . '/mail.jsonl';
		$all  = file_exists( $file ) ? array_map( fn( $l ) => json_decode( $l, true ), file( $file ) ) : array();
		return array_values( array_filter( $all, fn( $m ) => $m['to'] === $address ) );
	}
}
