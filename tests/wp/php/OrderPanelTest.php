<?php
/**
 * The order panel: rendering asks no one; it fills in from the service's ledger, says in plain words who is
 * not answering, reviews with the service's quote, offers a bank transfer where the provider cannot refund,
 * and payments are registered in the background when they are paid.
 */
class OrderPanelTest extends Refunder_TestCase {

	private static $next = 0;

	/** @var string[] URLs of the HTTP requests WordPress tried since the test began. */
	private $requests = array();

	protected function setUp(): void {
		parent::setUp();
		$this->requests = array();
		add_filter(
			'pre_http_request',
			function ( $preempt, $args, $url ) {
				$this->requests[] = strtoupper( $args['method'] ?? 'GET' ) . ' ' . $url;
				return $preempt;
			},
			1,
			3
		);
	}

	private static function requires_action_scheduler(): void {
		if ( ! function_exists( 'as_has_scheduled_action' ) ) {
			self::markTestSkipped( 'Action Scheduler comes with WooCommerce; the WooCommerce double has none' );
		}
	}

	private function simulated( string $reference = '' ): WC_Order {
		return $this->order( array(), $reference ?: sprintf( 'wp-panel-%04d', self::$next++ ) );
	}

	/** What the order screen's box shows, as text. */
	private function render( WC_Order $order ): string {
		ob_start();
		Refunder_Order_Panel::render( wc_get_order( $order->get_id() ) );
		return self::text( ob_get_clean() );
	}

	private static function text( string $html ): string {
		return preg_replace( '/\s+/', ' ', self::plain( html_entity_decode( wp_strip_all_tags( $html ), ENT_QUOTES, 'UTF-8' ) ) );
	}

	private function fill( WC_Order $order, string $action = 'refunder_payment' ): array {
		list( $status, $json ) = $this->ajax( $action, array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ) ) );
		$this->assertSame( 200, $status, wp_json_encode( $json ) );
		return $json['data'] + array( 'text' => self::text( $json['data']['html'] ) );
	}

	public function test_rendering_sends_no_request_and_queues_the_registration_of_an_unknown_payment() {
		$order = $this->simulated();
		$this->requests = array();
		$html           = $this->render( $order );
		$this->assertSame( array(), $this->requests );
		$this->assertStringContainsString( 'Asking the Refunder service about this payment', $html );
		if ( function_exists( 'as_has_scheduled_action' ) ) { // Action Scheduler comes with WooCommerce
			$this->assertTrue( as_has_scheduled_action( Refunder_Registration::ACTION, array( $order->get_id() ), 'refunder' ) );
		}
		$this->assertSame( '', (string) wc_get_order( $order->get_id() )->get_meta( Refunder_Payments::META ), 'not registered while rendering' );

		$filled = $this->fill( $order ); // the page's fill-in registers it
		$this->assertStringContainsString( 'Paid with Simulated card provider: 1 500,00 kr captured', $filled['text'] );
		$this->assertFalse( $filled['outage'] );
		$this->requests = array();
		$html           = $this->render( $order );
		$this->assertSame( array(), $this->requests, 'rendering a known payment asks no one either' );
		$this->assertStringContainsString( '1 500,00 kr can be refunded', $html );
		$this->assertMatchesRegularExpression( '/(Amounts as Refunder knew them|Last checked with Simulated card provider) at \d{1,2}:\d\d/', $html );
	}

	public function test_the_fill_in_reads_the_ledger_only() {
		$order = $this->simulated();
		$this->fill( $order );
		$this->requests = array();
		$this->fill( $order );
		$this->assertCount( 1, $this->requests );
		$this->assertMatchesRegularExpression( '#^GET http://[^/]+/v1/payments/pay_\w+$#', $this->requests[0] );
	}

	public function test_service_down_shows_the_last_amounts_and_says_so_in_plain_words() {
		$order = $this->simulated();
		$this->fill( $order );
		update_option( 'refunder_settings', array( 'url' => 'http://127.0.0.1:9', 'secret' => getenv( 'REFUNDER_TEST_SIDECAR_SECRET' ) ) );
		$this->assertStringContainsString( '1 500,00 kr can be refunded', $this->render( $order ) );
		$filled = $this->fill( $order );
		$this->assertTrue( $filled['outage'] );
		$this->assertMatchesRegularExpression( '/^The Refunder service is not answering; the amounts shown are from \d{1,2}:\d\d( [ap]m)?\.$/', $filled['notice'] );
		$this->assertStringContainsString( '1 500,00 kr can be refunded', $filled['text'] );
		$this->assertStringNotContainsString( '127.0.0.1', $filled['notice'] . $filled['html'] );
		$this->assertStringNotContainsString( 'cURL', $filled['notice'] . $filled['html'] );

		$unknown = $this->simulated();
		$filled  = $this->fill( $unknown );
		$this->assertSame( '', $filled['html'] );
		$this->assertStringStartsWith( 'The Refunder service is not answering, so the payment cannot be shown yet.', $filled['notice'] );
	}

	public function test_review_is_the_services_quote() {
		$order = $this->simulated();
		$id    = $order->get_id();
		$items = array_keys( $order->get_items() );
		$this->fill( $order );
		$this->requests = array();
		list( $status, $json ) = $this->ajax( 'refunder_review', array( 'order_id' => $id, 'nonce' => $this->nonce( $order ), 'mode' => 'items', 'qty' => array( $items[1] => 1 ), 'reason' => 'Wash cancelled' ) );
		$this->assertSame( 200, $status, wp_json_encode( $json ) );
		$this->assertSame( array( '1 × Hair wash: 250,00 kr' ), self::plain( $json['data']['lines'] ) );
		$this->assertStringEndsWith( '/quote', $this->requests[0] );
	}

	public function test_a_refusal_from_the_quote_is_in_the_admins_language() {
		$order = $this->simulated();
		$this->fill( $order );
		$user  = $this->user( 'administrator' );
		update_user_meta( $user, 'locale', 'nb_NO' ); // a Norwegian admin, as determine_locale() finds them on admin screens
		wp_set_current_user( $user );
		$admin_screen = fn() => get_user_locale();
		add_filter( 'determine_locale', $admin_screen );
		Refunder_Plugin::load_textdomain();
		try {
			list( $status, $json ) = $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'amount', 'amount' => '1500,01', 'reason' => 'x' ) );
		} finally {
			remove_filter( 'determine_locale', $admin_screen );
			wp_set_current_user( 1 );
			Refunder_Plugin::load_textdomain();
		}
		$this->assertSame( 422, $status );
		$this->assertStringStartsWith( 'Du kan refundere høyst 1 500,00 kr', self::plain( $json['data']['message'] ) );
	}

	public function test_a_permanent_refusal_offers_a_bank_transfer_on_the_same_balance() {
		$order = $this->simulated( 'wp-panel-decline-0000-decline' );
		list( , $confirm ) = $this->refund( $order, array( 'mode' => 'amount', 'amount' => '100', 'reason' => 'Cancelled' ) );
		$this->assertSame( 'failed', $confirm['data']['status'] );
		$filled = $this->fill( $order );
		$this->assertStringContainsString( '>Refund by bank transfer</button>', $filled['html'] );
		$this->assertStringContainsString( 'refused the last refund for a reason that will not change', $filled['text'] );
		$this->assertStringContainsString( 'name="refunder_bank_reference"', $filled['html'] );
		$this->assertStringContainsString( 'name="refunder_via" value="bank_transfer"', $filled['html'] );

		$form = array( 'via' => 'bank_transfer', 'mode' => 'amount', 'amount' => '600', 'reason' => 'Card expired' );
		list( $status, $json ) = $this->ajax( 'refunder_review', $form + array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ) ) );
		$this->assertSame( 422, $status );
		$this->assertStringContainsString( "bank transfer's reference", $json['data']['message'] );
		list( $status, $confirm, $review ) = $this->refund( $order, $form + array( 'bank_reference' => 'NO93-0001' ) );
		$this->assertSame( 'bank transfer', $review['data']['provider'] );
		$this->assertSame( 'refunded', $confirm['data']['status'] );
		$this->assertEquals( 600.0, wc_get_order( $order->get_id() )->get_total_refunded() );
		$filled = $this->fill( $order );
		$this->assertStringContainsString( '600,00 kr refunded, 900,00 kr can be refunded', $filled['text'], 'one balance for both' );
		list( $status, $json ) = $this->ajax( 'refunder_review', array( 'via' => 'bank_transfer', 'mode' => 'amount', 'amount' => '900,01', 'reason' => 'x', 'bank_reference' => 'NO93-0002', 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ) ) );
		$this->assertSame( 422, $status );
		$this->assertStringContainsString( 'At most 900,00 kr can be refunded', self::plain( $json['data']['message'] ) );
	}

	public function test_a_test_payment_says_so() {
		$order = $this->order();
		add_filter(
			'refunder_payment_source',
			fn( $source, $o ) => $o->get_id() === $order->get_id() ? array( 'provider' => 'simulator', 'reference' => sprintf( 'wp-panel-%04d', self::$next++ ), 'mode' => 'test' ) : $source,
			10,
			2
		);
		$this->assertStringContainsString( 'test payment', $this->fill( $order )['text'] );
	}

	public function test_full_refund_marks_the_items_refunded_in_woocommerce() {
		$order = $this->simulated();
		$items = array_keys( $order->get_items() );
		list( , $confirm ) = $this->refund( $order, array( 'mode' => 'full', 'reason' => 'Salon closed' ) );
		$this->assertSame( 'refunded', $confirm['data']['status'] );
		$refunds = wc_get_order( $order->get_id() )->get_refunds();
		$this->assertCount( 1, $refunds );
		$this->assertSame( array( $items[0] => array( 1, '1000.00' ), $items[1] => array( 2, '500.00' ) ), refunder_test_refunded_lines( $refunds[0] ) );
	}

	public function test_a_paid_order_is_registered_in_the_background_and_retried_while_the_service_is_down() {
		self::requires_action_scheduler();
		$order = $this->order();
		as_unschedule_all_actions( Refunder_Registration::ACTION, array( $order->get_id() ), 'refunder' );
		do_action( 'woocommerce_payment_complete', $order->get_id() );
		$this->assertTrue( as_has_scheduled_action( Refunder_Registration::ACTION, array( $order->get_id() ), 'refunder' ) );
		update_option( 'refunder_settings', array( 'url' => 'http://127.0.0.1:9', 'secret' => getenv( 'REFUNDER_TEST_SIDECAR_SECRET' ) ) );
		Refunder_Registration::run( $order->get_id() );
		$this->assertTrue( as_has_scheduled_action( Refunder_Registration::ACTION, array( $order->get_id(), 2 ), 'refunder' ), 'tried again later' );
		update_option( 'refunder_settings', array( 'url' => getenv( 'REFUNDER_TEST_SIDECAR_URL' ), 'secret' => getenv( 'REFUNDER_TEST_SIDECAR_SECRET' ) ) );
		Refunder_Registration::run( $order->get_id(), 2 );
		$order = wc_get_order( $order->get_id() );
		$this->assertStringStartsWith( 'pay_', (string) $order->get_meta( Refunder_Payments::META ) );
		$this->assertSame( 'manual', Refunder_Payments::known( $order )['provider'] );
	}

	public function test_check_with_provider_asks_the_provider_again() {
		$spec = json_decode( wp_remote_retrieve_body( wp_remote_get( getenv( 'REFUNDER_TEST_SIDECAR_URL' ) . '/openapi.json' ) ), true );
		if ( ! isset( $spec['paths']['/v1/payments/{payment_id}/refresh'] ) ) {
			self::markTestSkipped( 'this sidecar has no POST /v1/payments/{id}/refresh yet (issue 13, the sidecar half)' );
		}
		$order = $this->simulated();
		$this->fill( $order );
		$this->requests = array();
		$filled         = $this->fill( $order, 'refunder_check' );
		$this->assertMatchesRegularExpression( '#^POST http://[^/]+/v1/payments/pay_\w+/refresh$#', $this->requests[0] );
		$this->assertFalse( $filled['outage'] );
		$this->assertMatchesRegularExpression( '/Last checked with Simulated card provider at /', $filled['notice'] );
	}
}
