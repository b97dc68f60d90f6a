<?php
/**
 * The plugin keeps no currency table: an order's total goes to the service as WooCommerce wrote it, and every
 * amount the plugin books or shows takes its digits from the service's money objects. So a 0-decimal, a
 * 3-decimal and a currency only the service knows (CLF, 4 decimals: mu-plugins/test-currencies.php) are
 * registered, refunded by items and booked in WooCommerce exactly.
 */
class CurrencyTest extends Refunder_TestCase {

	private $decimals;

	protected function setUp(): void {
		parent::setUp();
		if ( function_exists( 'wc_double_create_order' ) ) {
			$this->markTestSkipped( "WooCommerce's currencies and price decimals need a real WooCommerce" );
		}
		$this->decimals = get_option( 'woocommerce_price_num_decimals' );
	}

	protected function tearDown(): void {
		update_option( 'woocommerce_price_num_decimals', $this->decimals );
		parent::tearDown();
	}

	public function currencies() {
		return array(
			'JPY at WooCommerce\'s default 2 decimals' => array( 'JPY', 2, '1500.00', array( '1000.00', '500.00' ), 1500, 0, '250', 250 ),
			'KWD, 3 decimals'                         => array( 'KWD', 3, '15.125', array( '10.000', '5.125' ), 15125, 3, '2.563', 2563 ),
			'CLF, 4 decimals, unknown to the plugin'  => array( 'CLF', 4, '12.3456', array( '10.0000', '2.3456' ), 123456, 4, '1.1728', 11728 ),
		);
	}

	/** @dataProvider currencies */
	public function test_a_refund_by_items_is_registered_and_booked_with_the_services_digits( $currency, $decimals, $total, array $lines, $captured, $exponent, $refunded, $refunded_minor ) {
		update_option( 'woocommerce_price_num_decimals', $decimals );
		$order = $this->order(
			array(
				'currency' => $currency,
				'total'    => $total,
				'items'    => array( array( 'Haircut', 1, $lines[0] ), array( 'Hair wash', 2, $lines[1] ) ),
			)
		);
		$payment = Refunder_Payments::summary( $order, Refunder_Client::configured() );
		$this->assertIsArray( $payment, is_wp_error( $payment ) ? $payment->get_error_message() : '' );
		$this->assertEquals( array( 'value' => $captured, 'currency' => $currency, 'exponent' => $exponent ), $payment['captured'] );
		$this->assertSame( $captured, Refunder_Books::woocommerce_left( $order, $payment['refundable']['exponent'] ) );

		$items = array_keys( $order->get_items() );
		list( $status, $confirm, $review ) = $this->refund( $order, array( 'mode' => 'items', 'qty' => array( $items[1] => 1 ), 'reason' => 'Hair wash cancelled', 'bank_reference' => 'NO93-8601-2026' ) );
		$shown = Refunder_Money::text( $refunded_minor, $currency, $exponent );
		$this->assertSame( array( '1 × Hair wash: ' . $shown ), $review['data']['lines'] );
		$this->assertSame( array( 200, 'refunded' ), array( $status, $confirm['data']['status'] ) );

		$order   = wc_get_order( $order->get_id() );
		$refunds = $order->get_refunds();
		$this->assertCount( 1, $refunds );
		$this->assertSame( $refunded, $refunds[0]->get_amount() );
		$booked = array_values( $refunds[0]->get_items() );
		$this->assertSame( array( -1, $refunded ), array( (int) $booked[0]->get_quantity(), ltrim( (string) $booked[0]->get_total(), '-' ) ) );
		$this->assertSame( $exponent, Refunder_Store::get( $confirm['data']['id'] )['exponent'] );
		$this->assertSame( $captured - $refunded_minor, Refunder_Books::woocommerce_left( $order, $exponent ) );
	}

	public function test_a_refund_made_in_woocommerce_is_counted_with_the_services_digits() {
		update_option( 'woocommerce_price_num_decimals', 4 );
		$order = $this->order(
			array(
				'currency' => 'CLF',
				'total'    => '12.3456',
				'items'    => array( array( 'Haircut', 1, '12.3456' ) ),
			)
		);
		$client = Refunder_Client::configured();
		$this->assertIsArray( Refunder_Payments::summary( $order, $client ) );
		wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '1.0001', 'reason' => 'Paid back in the shop', 'refund_payment' => false ) );
		$payment = Refunder_Payments::read( wc_get_order( $order->get_id() ), $client );
		$this->assertEquals( array( 'value' => 10001, 'currency' => 'CLF', 'exponent' => 4 ), $payment['refunded'] );
		$this->assertSame( 113455, $payment['refundable']['value'] );
	}

	public function test_a_total_with_more_digits_than_its_currency_is_refused_in_the_admins_language() {
		update_option( 'woocommerce_price_num_decimals', 2 );
		$order   = $this->order( array( 'currency' => 'JPY', 'total' => '1500.50', 'items' => array( array( 'Haircut', 1, '1500.50' ) ) ) );
		$refused = $this->as_norwegian_admin( fn() => Refunder_Payments::summary( $order, Refunder_Client::configured() ) );
		$this->assertInstanceOf( WP_Error::class, $refused );
		$this->assertSame( 422, Refunder_Client::status( $refused ) );
		$this->assertSame( '1500.50 er ikke et eksakt beløp i JPY, som har 0 desimaler.', $refused->get_error_message() );
		$this->assertSame( '', (string) wc_get_order( $order->get_id() )->get_meta( Refunder_Payments::META ) );
	}

	public function test_a_refund_kept_before_the_table_held_its_digits_takes_them_from_the_orders_payment() {
		update_option( 'woocommerce_price_num_decimals', 3 );
		$order = $this->order( array( 'currency' => 'KWD', 'total' => '15.125', 'items' => array( array( 'Haircut', 1, '15.125' ) ) ) );
		$this->assertIsArray( Refunder_Payments::summary( $order, Refunder_Client::configured() ) );
		$id = 'ref_kept_by_version_2_' . $order->get_id();
		Refunder_Store::save( $order->get_id(), array( 'id' => $id, 'status' => 'refunded', 'amount' => array( 'value' => 2500, 'currency' => 'KWD' ), 'reason' => 'Before the upgrade', 'created_at' => gmdate( 'c' ) ) );
		$this->assertNull( Refunder_Store::get( $id )['exponent'] );

		Refunder_Books::settle( Refunder_Store::get( $id ) ); // never booked with digits nobody said
		$this->assertSame( array(), wc_get_order( $order->get_id() )->get_refunds() );
		$this->assertStringContainsString( 'decimals', Refunder_Store::get( $id )['last_error'] );

		delete_option( 'refunder_db_version' );
		Refunder_Store::maybe_install();
		$this->assertSame( 3, Refunder_Store::get( $id )['exponent'] );
	}
}
