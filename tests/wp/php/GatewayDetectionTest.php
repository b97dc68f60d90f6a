<?php
/**
 * The real gateway plugins write their own order meta through their own code (no provider is reached: outbound
 * HTTP is blocked, or answered with canned JSON), Refunder records the payment's mode where the plugin keeps
 * none, and the real sidecar's detection reads the result. Skipped where ../shared/wordpress is not beside the
 * checkout (the plugins only come from there).
 */
class GatewayDetectionTest extends Refunder_TestCase {

	const PLUGINS = array( 'woo-vipps', 'woocommerce-gateway-stripe', 'mollie-payments-for-woocommerce' );
	const MOLLIE  = 'https://api.mollie.com/v2/';

	/** PHPUnit 9 runs setUpBeforeClass and tearDownAfterClass again in each isolated test's own process. */
	private static function in_isolated_process(): bool {
		return function_exists( '__phpunit_run_isolated_test' );
	}

	public static function setUpBeforeClass(): void {
		if ( self::in_isolated_process() ) {
			return; // the parent switched the plugins on; switching them off here would do it for the next test
		}
		foreach ( self::PLUGINS as $slug ) {
			self::requires_plugin( $slug, true );
		}
		// Vipps in test mode (WC_Gateway_Vipps::is_test_mode()); Mollie with test and live keys, its Payments API, and
		// Mollie's list of active methods answered from here: without them it registers no gateway at all.
		self::wp_eval(
			"update_option( 'woocommerce_vipps_settings', array( 'enabled' => 'yes', 'developermode' => 'yes', 'testmode' => 'yes' ) );
			update_option( 'mollie-payments-for-woocommerce_live_api_key', 'live_' . str_repeat( 'a', 30 ) );
			update_option( 'mollie-payments-for-woocommerce_test_api_key', 'test_' . str_repeat( 'b', 30 ) );
			update_option( 'mollie-payments-for-woocommerce_test_mode_enabled', 'yes' );
			update_option( 'mollie-payments-for-woocommerce_api_switch', 'payment' );
			update_option( 'mollie_wc_gateway_creditcard_settings', array( 'enabled' => 'yes', 'title' => 'Card' ) );
			update_option( 'mollie_wc_gateway_voucher_settings', array( 'enabled' => 'no', 'mealvoucher_category_default' => 'no_category' ) );
			update_option( 'refunder_test_http_answers', array( '" . self::MOLLIE . "methods' => array( 'body' => wp_json_encode( array( 'count' => 1, '_embedded' => array( 'methods' => array( array( 'resource' => 'method', 'id' => 'creditcard', 'description' => 'Card', 'status' => 'activated', 'minimumAmount' => array( 'value' => '0.01', 'currency' => 'EUR' ), 'maximumAmount' => null, 'image' => array( 'size1x' => 'https://x/1.png', 'size2x' => 'https://x/2.png', 'svg' => 'https://x/c.svg' ), '_links' => array() ) ) ), '_links' => array() ) ) ) ) );"
		);
	}

	public static function tearDownAfterClass(): void {
		if ( self::in_isolated_process() ) {
			return;
		}
		foreach ( self::PLUGINS as $slug ) {
			self::wp_eval( "refunder_test_deactivate_plugin( '$slug' );" );
		}
		self::wp_eval( "delete_option( 'woocommerce_vipps_settings' ); delete_option( 'refunder_test_http_answers' ); delete_option( 'mollie-payments-for-woocommerce_live_api_key' ); delete_option( 'mollie-payments-for-woocommerce_test_api_key' );" );
		@unlink( refunder_test_http_log_file() ); // the canned provider calls asked for here are no other test's
	}

	private function detected( WC_Order $order ): array {
		$answer = Refunder_Payments::summary( wc_get_order( $order->get_id() ), Refunder_Client::configured() );
		$this->assertIsArray( $answer, is_wp_error( $answer ) ? $answer->get_error_message() : '' );
		return $answer;
	}

	private function pending( string $gateway, string $currency = 'NOK' ): WC_Order {
		$order = wc_get_order( refunder_test_create_order( array( 'total' => '100.50', 'currency' => $currency, 'items' => array( array( 'Booking', 1, '100.50' ) ), 'payment_method' => $gateway ) ) );
		$order->set_status( 'pending' );
		$order->set_date_paid( null );
		$order->save();
		return $order;
	}

	/**
	 * Stripe 8.8.0: the UPE gateway's own title and intent, then process_response() with a test-mode charge.
	 *
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_stripe_card_through_the_plugins_own_code() {
		$gateway = WC()->payment_gateways()->payment_gateways()['stripe'];
		$order   = $this->pending( 'stripe' );
		$n       = $order->get_id();
		if ( class_exists( 'WC_Stripe_Order_Helper' ) ) { // Stripe 10 moved it there (WC_Stripe_Helper's is gone)
			WC_Stripe_Order_Helper::get_instance()->add_payment_intent_to_order( "pi_rw$n", $order );
		} else {
			WC_Stripe_Helper::add_payment_intent_to_order( "pi_rw$n", $order );
		}
		$gateway->process_response( (object) array( 'id' => "ch_rw$n", 'object' => 'charge', 'captured' => true, 'status' => 'succeeded', 'amount' => 10050, 'currency' => 'nok', 'livemode' => false, 'payment_intent' => "pi_rw$n" ), wc_get_order( $n ) );
		$order = wc_get_order( $n );
		$this->assertSame( array( "pi_rw$n", 'yes', "ch_rw$n", 'test' ), array( $order->get_meta( '_stripe_intent_id' ), $order->get_meta( '_stripe_charge_captured' ), $order->get_transaction_id(), $order->get_meta( '_refunder_payment_mode' ) ) );
		$found = $this->detected( $order )['detection'];
		$this->assertSame( array( 'stripe', "pi_rw$n", 'test', true ), array( $found['provider'], $found['reference'], $found['mode'], $found['refundable'] ) );

		$held = $this->pending( 'stripe' ); // an authorization, captured later: nothing to refund yet
		$gateway->process_response( (object) array( 'id' => 'ch_hold' . $held->get_id(), 'captured' => false, 'status' => 'succeeded', 'livemode' => true ), $held );
		$found = $this->detected( $held )['detection'];
		$this->assertSame( array( false, 'not_captured', 'live' ), array( $found['refundable'], $found['reason']['code'], $found['mode'] ) );
	}

	/**
	 * Vipps 6.0.5: the gateway's own transaction metadata (Checkout bank transfer sets _vipps_api), payment
	 * completion records the gateway's test mode.
	 *
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_vipps_through_the_plugins_own_code() {
		$gateway = WC()->payment_gateways()->payment_gateways()['vipps'];
		$order   = $this->pending( 'vipps' );
		$ref     = 'Woo' . str_pad( (string) $order->get_id(), 5, '0', STR_PAD_LEFT );
		foreach ( array( '_vipps_api' => 'epayment', '_vipps_prefix' => 'Woo', '_vipps_orderid' => $ref, '_vipps_checkout' => 1 ) as $key => $value ) { // as VippsApi::epayment_initiate_payment writes them
			$order->update_meta_data( $key, $value );
		}
		$order->set_transaction_id( $ref );
		$gateway->order_set_transaction_metadata( $order, array( 'timeStamp' => gmdate( 'c' ), 'amount' => 10050, 'currency' => 'NOK', 'status' => 'AUTHORIZED', 'paymentmethod' => 'Wallet' ) );
		$order->save();
		wc_get_order( $order->get_id() )->payment_complete( $ref );
		$this->assertSame( 'test', wc_get_order( $order->get_id() )->get_meta( '_refunder_payment_mode' ) );
		$found = $this->detected( $order )['detection'];
		$this->assertSame( array( 'vipps', $ref, 'test', true ), array( $found['provider'], $found['reference'], $found['mode'], $found['refundable'] ) );

		$bank = $this->pending( 'vipps' );
		$bank->update_meta_data( '_vipps_api', 'epayment' );
		$bank->update_meta_data( '_vipps_orderid', 'WooBT' . $bank->get_id() );
		$bank->update_meta_data( '_vipps_checkout', 1 );
		$gateway->order_set_transaction_metadata( $bank, array( 'timeStamp' => gmdate( 'c' ), 'amount' => 10050, 'currency' => 'NOK', 'status' => 'SALE', 'paymentmethod' => 'BankTransfer' ) );
		$bank->save();
		$this->assertSame( 'banktransfer', wc_get_order( $bank->get_id() )->get_meta( '_vipps_api' ) );
		$answer = $this->detected( $bank );
		$this->assertSame( array( 'vipps', false, 'paid_by_bank_transfer' ), array( $answer['detection']['provider'], $answer['detection']['refundable'], $answer['detection']['reason']['code'] ) );
		$this->assertSame( 'bank_transfer', $answer['capabilities']['default_via'] );
	}

	/**
	 * Mollie 7.8.2: the gateway's own process_payment() (Payments API) against a canned Mollie answer.
	 *
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_mollie_card_through_the_plugins_own_code() {
		$gateway = WC()->payment_gateways()->payment_gateways()['mollie_wc_gateway_creditcard'] ?? null;
		$this->assertNotNull( $gateway, 'Mollie registered no creditcard gateway: ' . wp_json_encode( array_keys( WC()->payment_gateways()->payment_gateways() ) ) );
		$order = $this->pending( 'mollie_wc_gateway_creditcard', 'EUR' );
		$order->set_billing_first_name( 'Kari' );
		$order->set_billing_last_name( 'Nordmann' );
		$order->save();
		$payment = "tr_rw{$order->get_id()}";
		$answers = get_option( 'refunder_test_http_answers' );
		$answers[ self::MOLLIE . 'payments' ] = array( 'code' => 201, 'body' => wp_json_encode( array( 'resource' => 'payment', 'id' => $payment, 'mode' => 'test', 'status' => 'open', 'method' => 'creditcard', 'amount' => array( 'value' => '100.50', 'currency' => 'EUR' ), 'description' => 'Order', 'metadata' => array( 'order_id' => $order->get_id() ), 'createdAt' => gmdate( 'c' ), 'profileId' => 'pfl_x', 'sequenceType' => 'oneoff', 'redirectUrl' => 'https://x', '_links' => array( 'self' => array( 'href' => self::MOLLIE . "payments/$payment", 'type' => 'application/hal+json' ), 'checkout' => array( 'href' => 'https://www.mollie.com/checkout/x', 'type' => 'text/html' ) ) ) ) );
		update_option( 'refunder_test_http_answers', $answers );
		$result = $gateway->process_payment( $order->get_id() );
		$this->assertSame( 'success', $result['result'] ?? null, wp_json_encode( $result ) );
		$order = wc_get_order( $order->get_id() );
		$this->assertSame( array( $payment, $payment, 'test' ), array( $order->get_meta( '_mollie_order_id' ), $order->get_meta( '_mollie_payment_id' ), $order->get_meta( '_mollie_payment_mode' ) ) );
		$found = $this->detected( $order )['detection'];
		$this->assertSame( array( 'mollie', $payment, 'test', true ), array( $found['provider'], $found['reference'], $found['mode'], $found['refundable'] ) );
	}
}
