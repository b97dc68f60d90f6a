<?php
/**
 * The real gateway plugins (from ../shared/wordpress) load beside Refunder: activated for the class in another
 * process, then each test runs in a fresh process where WordPress loads them as a shop would.
 */
class GatewayPluginsTest extends Refunder_TestCase {

	const PLUGINS = array(
		'woo-vipps'                       => array( 'vipps', 'vipps_card' ),
		'woocommerce-gateway-stripe'      => array( 'stripe' ),
		'mollie-payments-for-woocommerce' => array(), // its gateways appear once an API key is set
	);

	public static function setUpBeforeClass(): void {
		foreach ( array_keys( self::PLUGINS ) as $slug ) {
			self::requires_plugin( $slug, true );
		}
	}

	public static function tearDownAfterClass(): void {
		foreach ( array_keys( self::PLUGINS ) as $slug ) {
			self::wp_eval( "refunder_test_deactivate_plugin( '$slug' );" );
		}
	}

	/**
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_all_three_load_and_register_their_gateways() {
		$registered = array_keys( WC()->payment_gateways()->payment_gateways() );
		foreach ( self::PLUGINS as $slug => $gateways ) {
			$this->assertTrue( is_plugin_active( refunder_test_plugin_file( $slug ) ), $slug );
			foreach ( $gateways as $gateway ) {
				$this->assertContains( $gateway, $registered );
			}
		}
		$this->assertTrue( class_exists( 'WC_Gateway_Vipps' ) && class_exists( 'WC_Stripe_Webhook_Handler' ) && defined( 'M4W_FILE' ) );
	}

	/**
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_a_refunder_refund_sends_nothing_to_the_providers() {
		$order = $this->order( array( 'payment_method' => 'bacs' ) );
		list( $status, $confirm ) = $this->refund( $order, array( 'mode' => 'full', 'reason' => 'Closed', 'bank_reference' => 'NO-1' ) );
		$this->assertSame( array( 200, 'refunded' ), array( $status, $confirm['data']['status'] ) );
		$this->assertSame( 'refunded', wc_get_order( $order->get_id() )->get_status() );
		$hosts = array_map( fn( $r ) => wp_parse_url( $r['url'], PHP_URL_HOST ), $this->outbound() );
		$this->assertSame( array(), array_intersect( $hosts, array( 'api.vipps.no', 'apitest.vipps.no', 'api.stripe.com', 'api.mollie.com' ) ) );
	}
}
