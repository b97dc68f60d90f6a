<?php
/**
 * The order's payment facts go to the Refunder service, which says which provider took the money: one test per
 * row of tests/vectors/detection.json (the order meta exactly as the real gateway plugins write it), through the
 * real sidecar, in this site's order storage. A booking system's filter names the payment instead.
 */
class PaymentSourceTest extends Refunder_TestCase {

	public static function rows(): array {
		$vectors = json_decode( file_get_contents( dirname( __DIR__, 2 ) . '/vectors/detection.json' ), true );
		$rows    = array();
		foreach ( $vectors['rows'] as $row ) {
			$rows[ $row['id'] ] = array( $row );
		}
		return $rows;
	}

	/** The row's values with this order's id filled in (every order has its own references). */
	private static function fill( $value, int $order_id ) {
		if ( is_array( $value ) ) {
			return array_map( fn( $v ) => self::fill( $v, $order_id ), $value );
		}
		return is_string( $value ) ? str_replace( '{order_id}', (string) $order_id, $value ) : $value;
	}

	private function paid_order( array $row ): WC_Order {
		$order = $this->order( array( 'payment_method' => $row['gateway'], 'payment_method_title' => $row['gateway_title'] ) );
		$id    = $order->get_id();
		$order->set_transaction_id( self::fill( $row['transaction_id'], $id ) );
		foreach ( self::fill( $row['meta'], $id ) as $key => $value ) {
			$order->update_meta_data( $key, $value );
		}
		$order->save();
		return wc_get_order( $id );
	}

	/** @dataProvider rows */
	public function test_detection_table_row( array $row ) {
		$order  = $this->paid_order( $row );
		$answer = Refunder_Payments::summary( $order, Refunder_Client::configured() );
		$this->assertIsArray( $answer, is_wp_error( $answer ) ? $answer->get_error_message() : '' );
		$expect = self::fill( $row['expect'], $order->get_id() );
		$found  = $answer['detection'];
		$this->assertSame(
			array( $expect['provider'], $expect['reference'], $expect['provider_data'], $expect['mode'], $expect['refundable'], $expect['reason'] ),
			array( $found['provider'], $found['reference'], $found['provider_data'], $found['mode'], $found['refundable'], $found['reason']['code'] ?? null ),
			$row['source']
		);
		$this->assertSame( array( $expect['provider'], $row['gateway'] ), array( $answer['provider'], $answer['gateway'] ) );
		if ( ! $expect['refundable'] ) { // the panel can offer a bank transfer, with the reason
			$this->assertFalse( $answer['capabilities']['provider_refund'] );
			$this->assertTrue( $answer['capabilities']['bank_transfer'] );
			$this->assertSame( $expect['reason'], $answer['capabilities']['reason']['code'] );
		}
	}

	public function test_facts_carry_the_gateway_plugins_meta_and_nothing_private() {
		$order = $this->order( array( 'payment_method' => 'vipps', 'payment_method_title' => 'Vipps', 'transaction_id' => 'Woo1' ) );
		foreach ( array( '_vipps_api' => 'epayment', '_vipps_orderid' => 'Woo1', '_vipps_authtoken' => 'secret-token', '_vipps_checkout_session' => 'sess', '_billing_phone' => '+4799999999', '_refunder_payment_mode' => 'test', '_vipps_captured' => 100 ) as $key => $value ) {
			$order->update_meta_data( $key, $value );
		}
		$order->update_meta_data( '_vipps_shipping_set', array( 'not', 'a', 'string' ) );
		$order->save();
		$facts = Refunder_Payment_Source::facts( wc_get_order( $order->get_id() ) );
		$meta  = (array) $facts['meta'];
		ksort( $meta );
		$this->assertSame( array( '_refunder_payment_mode' => 'test', '_vipps_api' => 'epayment', '_vipps_captured' => '100', '_vipps_orderid' => 'Woo1' ), $meta );
		$this->assertSame( array( 'vipps', 'Vipps', 'Woo1' ), array( $facts['gateway'], $facts['gateway_title'], $facts['transaction_id'] ) );
		$this->assertSame( array( 'facts' ), array_keys( Refunder_Payment_Source::for_order( $order ) ) );
	}

	public function test_a_booking_system_names_the_payment_itself() {
		$order = $this->order( array( 'payment_method' => 'btpay' ) );
		add_filter(
			'refunder_payment_source',
			fn( $source, $o ) => $o->get_id() === $order->get_id() ? array( 'provider' => 'simulator', 'reference' => 'wp-sim-0039', 'provider_data' => array( 'charge_type' => 'direct' ), 'mode' => 'test' ) : $source,
			10,
			2
		);
		$request = Refunder_Payment_Source::for_order( $order );
		$this->assertSame( array( 'simulator', 'wp-sim-0039', array( 'charge_type' => 'direct' ), 'test' ), array( $request['provider'], $request['reference'], (array) $request['provider_data'], $request['mode'] ) );
		$answer = Refunder_Payments::summary( $order, Refunder_Client::configured() );
		$this->assertSame( array( 'simulator', 'wp-sim-0039', 'explicit', 'test' ), array( $answer['provider'], $answer['reference'], $answer['detection']['rule'], $answer['mode'] ) );
		$this->assertTrue( $answer['capabilities']['provider_refund'] );
	}

	public function test_stripe_records_the_mode_of_the_charge_it_processed() {
		$order = $this->order( array( 'payment_method' => 'stripe', 'transaction_id' => 'ch_mode1' ) );
		do_action( 'wc_gateway_stripe_process_response', (object) array( 'id' => 'ch_mode1', 'livemode' => false ), $order );
		$this->assertSame( 'test', wc_get_order( $order->get_id() )->get_meta( '_refunder_payment_mode' ) );
		do_action( 'wc_gateway_stripe_process_response', (object) array( 'id' => 'ch_mode1' ), $order ); // no livemode: no guess
		$this->assertSame( 'test', wc_get_order( $order->get_id() )->get_meta( '_refunder_payment_mode' ) );
	}
}
