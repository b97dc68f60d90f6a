<?php
/** Provider and reference from what the common gateway plugins store; a filter for booking systems. */
class PaymentSourceTest extends Refunder_TestCase {

	private function source( array $args ) {
		return Refunder_Payment_Source::for_order( $this->order( $args ) );
	}

	public function test_vipps_epayment_and_ecom() {
		$this->assertSame( array( 'provider' => 'vipps', 'reference' => 'shop-1001', 'provider_data' => array() ), $this->source( array( 'payment_method' => 'vipps', 'meta' => array( '_vipps_orderid' => 'shop-1001' ) ) ) );
		$this->assertSame( 'vipps_ecom', $this->source( array( 'payment_method' => 'vipps', 'meta' => array( '_vipps_orderid' => 'shop-1002', '_vipps_api' => 'ecom' ) ) )['provider'] );
	}

	public function test_stripe_intent_or_charge() {
		$this->assertSame( 'pi_123', $this->source( array( 'payment_method' => 'stripe', 'meta' => array( '_stripe_intent_id' => 'pi_123' ), 'transaction_id' => 'ch_9' ) )['reference'] );
		$charge = $this->source( array( 'payment_method' => 'stripe_klarna', 'transaction_id' => 'ch_9' ) );
		$this->assertSame( array( 'stripe', 'ch_9' ), array( $charge['provider'], $charge['reference'] ) );
	}

	public function test_mollie() {
		$this->assertSame( array( 'provider' => 'mollie', 'reference' => 'tr_abc', 'provider_data' => array() ), $this->source( array( 'payment_method' => 'mollie_wc_gateway_klarnapaylater', 'meta' => array( '_mollie_payment_id' => 'tr_abc' ) ) ) );
	}

	public function test_anything_else_is_a_manual_bank_transfer() {
		$order = $this->order( array( 'payment_method' => 'bacs' ) );
		$this->assertSame( array( 'provider' => 'manual', 'reference' => 'wc-order-' . $order->get_id(), 'provider_data' => array() ), Refunder_Payment_Source::for_order( $order ) );
	}

	public function test_a_booking_system_can_answer_instead() {
		add_filter( 'refunder_payment_source', fn( $s ) => array( 'provider' => 'stripe_connect', 'reference' => 'pi_bt', 'provider_data' => array( 'charge_type' => 'direct', 'account' => 'acct_1' ) ) );
		$this->assertSame( array( 'provider' => 'stripe_connect', 'reference' => 'pi_bt', 'provider_data' => array( 'charge_type' => 'direct', 'account' => 'acct_1' ) ), $this->source( array() ) );
	}
}
