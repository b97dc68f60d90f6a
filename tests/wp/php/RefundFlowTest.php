<?php
/** Review, confirm and follow refunds through the real sidecar; WooCommerce records each refund once. */
class RefundFlowTest extends Refunder_TestCase {

	private static $next = 0;

	/** A fresh simulator payment for each order (the session's sidecar keeps its balances). */
	private function simulated_order( string $reference = '' ): WC_Order {
		return $this->order( array(), $reference ?: sprintf( 'wp-sim-%04d', self::$next++ ) );
	}

	public function test_refund_by_items_through_a_bank_transfer() {
		$order = $this->order( array( 'email' => 'kunde-items@example.com' ) );
		$items = array_keys( $order->get_items() );
		list( $status, $confirm, $review ) = $this->refund( $order, array( 'mode' => 'items', 'qty' => array( $items[1] => 1 ), 'reason' => 'Hair wash cancelled', 'bank_reference' => 'NO93-8601-2026' ) );
		$this->assertSame( array( '1 × Hair wash: 250,00 kr' ), self::plain( $review['data']['lines'] ) );
		$this->assertSame( 'bank transfer', $review['data']['provider'] );
		$this->assertSame( 200, $status );
		$this->assertSame( 'refunded', $confirm['data']['status'] );
		$order   = wc_get_order( $order->get_id() );
		$refunds = $order->get_refunds();
		$this->assertCount( 1, $refunds );
		$this->assertSame( '250.00', $refunds[0]->get_amount() );
		$this->assertFalse( $refunds[0]->get_refunded_payment(), 'no second gateway call' );
		$this->assertSame( array( $items[1] => array( 1, '250.00' ) ), refunder_test_refunded_lines( $refunds[0] ) );
		$notes = wp_list_pluck( wc_get_order_notes( array( 'order_id' => $order->get_id() ) ), 'content' );
		$this->assertContains( 'Refunder: 250,00 kr refunded through Bank transfer (manual) by admin (reference NO93-8601-2026). Reason: Hair wash cancelled', self::plain( $notes ) );
		$mails = array_values( array_filter( $this->mails_to( 'kunde-items@example.com' ), fn( $m ) => false !== stripos( $m['subject'], 'refunded' ) ) );
		$this->assertCount( 1, $mails );
		$this->assertStringContainsString( 'partially refunded', $mails[0]['subject'] );
	}

	public function test_double_confirm_refunds_once() {
		$order = $this->simulated_order();
		list( , $review ) = $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'amount', 'amount' => '300,00', 'reason' => 'Late cancellation' ) );
		$args  = array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'token' => $review['data']['token'] );
		$first = $this->ajax( 'refunder_confirm', $args );
		$again = $this->ajax( 'refunder_confirm', $args );
		$this->assertSame( $first[1]['data']['id'], $again[1]['data']['id'] );
		$this->assertCount( 1, wc_get_order( $order->get_id() )->get_refunds() );
		$this->assertEquals( 300.0, wc_get_order( $order->get_id() )->get_total_refunded() );
	}

	public function test_full_refund_then_nothing_is_left() {
		$order = $this->simulated_order();
		list( $status, $confirm ) = $this->refund( $order, array( 'mode' => 'full', 'reason' => 'Salon closed' ) );
		$this->assertSame( 'refunded', $confirm['data']['status'] );
		$this->assertSame( 'refunded', wc_get_order( $order->get_id() )->get_status() );
		list( $status, $json ) = $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'amount', 'amount' => '1', 'reason' => 'x' ) );
		$this->assertSame( 422, $status );
		$this->assertStringStartsWith( 'At most 0,00 kr can be refunded: 1 500,00 kr captured, 1 500,00 kr already refunded', self::plain( $json['data']['message'] ) );
	}

	/** @dataProvider bad_reviews */
	public function test_bad_input_is_explained_and_changes_nothing( array $form, string $message, bool $manual = false ) {
		$order = $manual ? $this->order() : $this->simulated_order();
		list( $status, $json ) = $this->ajax( 'refunder_review', $form + array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ) ) );
		$this->assertSame( 422, $status );
		$this->assertStringContainsString( $message, self::plain( $json['data']['message'] ) );
		$this->assertSame( array(), Refunder_Store::for_order( $order->get_id() ) );
		$this->assertCount( 0, wc_get_order( $order->get_id() )->get_refunds() );
	}

	public function bad_reviews() {
		return array(
			'no reason'        => array( array( 'mode' => 'full', 'reason' => '  ' ), 'Give the reason' ),
			'too much'         => array( array( 'mode' => 'amount', 'amount' => '1500,01', 'reason' => 'x' ), 'At most 1 500,00 kr can be refunded' ),
			'not a number'     => array( array( 'mode' => 'amount', 'amount' => 'fifty', 'reason' => 'x' ), 'Write the amount as a number' ),
			'zero'             => array( array( 'mode' => 'amount', 'amount' => '0', 'reason' => 'x' ), 'more than zero' ),
			'no mode'          => array( array( 'reason' => 'x' ), 'Choose a full refund' ),
			'no items'         => array( array( 'mode' => 'items', 'qty' => array(), 'reason' => 'x' ), 'Choose at least one item' ),
			'no bank reference' => array( array( 'mode' => 'full', 'reason' => 'x' ), "bank transfer's reference", true ),
		);
	}

	public function test_more_items_than_ordered() {
		$order = $this->simulated_order();
		$items = array_keys( $order->get_items() );
		list( $status, $json ) = $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'items', 'qty' => array( $items[0] => 2 ), 'reason' => 'x' ) );
		$this->assertSame( 422, $status );
		$this->assertStringContainsString( 'You cannot refund more of "Haircut" than is left of it: 1 ordered, 0 refunded before.', $json['data']['message'] );
	}

	private function review( WC_Order $order ): string {
		list( $status, $review ) = $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'amount', 'amount' => '100', 'reason' => 'Cancelled' ) );
		$this->assertSame( 200, $status, wp_json_encode( $review ) );
		return $review['data']['token'];
	}

	private function confirm( WC_Order $order, string $token ): array {
		return $this->ajax( 'refunder_confirm', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'token' => $token ) );
	}

	/** The review as its order keeps it (read fresh), or '' when there is none. */
	private static function kept( WC_Order $order, string $token ) {
		return wc_get_order( $order->get_id() )->get_meta( Refunder_Reviews::PREFIX . $token );
	}

	private function assertExpired( array $answer ): void {
		$this->assertSame( 410, $answer[0] );
		$this->assertStringContainsString( 'Review the refund again', $answer[1]['data']['message'] );
	}

	public function test_an_expired_or_foreign_review_is_refused() {
		$order = $this->simulated_order();
		$this->assertExpired( $this->confirm( $order, 'not-a-review' ) );
		$token = $this->review( $order );
		$this->assertExpired( $this->confirm( $this->simulated_order(), $token ) ); // another order
		wp_set_current_user( $this->user( 'administrator' ) );
		$this->assertExpired( $this->confirm( $order, $token ) ); // another user
		wp_set_current_user( 1 );
		$kept            = self::kept( $order, $token );
		$kept['expires'] = time(); // its 30 minutes are up
		$aged            = wc_get_order( $order->get_id() );
		$aged->update_meta_data( Refunder_Reviews::PREFIX . $token, $kept );
		$aged->save_meta_data();
		$this->assertExpired( $this->confirm( $order, $token ) );
		$this->assertSame( '', self::kept( $order, $token ), 'an expired review is removed' );
		$this->assertSame( array(), Refunder_Store::for_order( $order->get_id() ) );
	}

	public function test_a_review_is_kept_on_its_order_for_30_minutes_then_removed() {
		$order = $this->simulated_order();
		$token = $this->review( $order );
		$kept  = self::kept( $order, $token );
		$this->assertEqualsWithDelta( time() + 1800, $kept['expires'], 5 );
		$this->assertTrue( wp_is_uuid( $kept['idempotency_key'], 4 ) );
		$this->assertSame( array( 'value' => 10000, 'currency' => 'NOK' ), $kept['body']['amount'] );
		$args = array( $order->get_id(), $token );
		$this->assertEqualsWithDelta( $kept['expires'], as_next_scheduled_action( Refunder_Reviews::FORGET, $args, Refunder_Follow_Up::GROUP ), 1 );
		do_action( Refunder_Reviews::FORGET, ...$args ); // as Action Scheduler runs it when the review expires
		$this->assertSame( '', self::kept( $order, $token ) );
		$this->assertExpired( $this->confirm( $order, $token ) );
	}

	public function test_once_answered_a_review_keeps_only_its_refund_and_sends_nothing_again() {
		$order  = $this->simulated_order();
		$token  = $this->review( $order );
		$first  = $this->confirm( $order, $token );
		$kept   = self::kept( $order, $token );
		$sent   = 0;
		$count  = function ( $preempt, $args, $url ) use ( &$sent ) {
			$sent += (int) preg_match( '#/refunds$#', $url );
			return $preempt;
		};
		add_filter( 'pre_http_request', $count, 10, 3 );
		$again = $this->confirm( $order, $token );
		remove_filter( 'pre_http_request', $count, 10 );
		$this->assertSame( array( 'expires', 'user_id', 'refund_id' ), array_keys( $kept ) );
		$this->assertSame( $first[1]['data']['id'], $kept['refund_id'] );
		$this->assertSame( array( 200, $first[1] ), $again );
		$this->assertSame( 0, $sent );
	}

	public function test_a_review_removed_while_its_refund_was_sent_is_not_made_again() {
		$order  = $this->simulated_order();
		$token  = $this->review( $order );
		$expire = function ( $response, $args, $url ) use ( $order, $token ) {
			if ( preg_match( '#/refunds$#', $url ) ) { // its Action Scheduler action ran meanwhile
				do_action( Refunder_Reviews::FORGET, $order->get_id(), $token );
			}
			return $response;
		};
		add_filter( 'http_response', $expire, 10, 3 );
		list( $status, $confirm ) = $this->confirm( $order, $token );
		remove_filter( 'http_response', $expire, 10 );
		$this->assertSame( array( 200, 'refunded' ), array( $status, $confirm['data']['status'] ) );
		$this->assertSame( '', self::kept( $order, $token ) );
	}

	/**
	 * A shop with a persistent object cache keeps transients only there, and the cache may drop them at any
	 * time: the answer to the first confirm is lost after the refund was made, the cache forgets, and
	 * "Press Refund again" must send the same refund under the same key, not say the review expired.
	 */
	public function test_a_confirm_after_a_lost_answer_resends_the_same_key_when_the_object_cache_forgets() {
		$order = $this->simulated_order();
		$sent  = array();
		$lose  = true;
		$wire  = function ( $response, $args, $url ) use ( &$sent, &$lose ) {
			if ( preg_match( '#/v1/payments/[^/]+/refunds$#', $url ) ) {
				$sent[] = $args['headers']['Idempotency-Key'];
				if ( $lose ) { // the service refunded; its answer never came back
					return new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out after 45001 milliseconds' );
				}
			}
			return $response;
		};
		$cache = wp_using_ext_object_cache( true ); // transients now live in the object cache only
		add_filter( 'http_response', $wire, 10, 3 );
		try {
			$token = $this->review( $order );
			list( $status, $first ) = $this->confirm( $order, $token );
			$this->assertSame( 504, $status );
			$this->assertStringContainsString( 'Press Refund again: it cannot refund twice.', $first['data']['message'] );
			wp_cache_flush(); // the cache evicts everything
			$lose = false;
			list( $status, $again ) = $this->confirm( $order, $token );
		} finally {
			remove_filter( 'http_response', $wire, 10 );
			wp_using_ext_object_cache( $cache );
			wp_cache_flush();
		}
		$this->assertSame( 200, $status, wp_json_encode( $again ) );
		$this->assertSame( 'refunded', $again['data']['status'] );
		$this->assertCount( 2, $sent );
		$this->assertSame( $sent[0], $sent[1], 'the same Idempotency-Key both times' );
		$payment = Refunder_Client::configured()->call( 'GET', '/v1/payments/' . wc_get_order( $order->get_id() )->get_meta( Refunder_Payments::META ) );
		$this->assertSame( 10000, $payment['refunded']['value'], 'one refund at the service' );
		$this->assertCount( 1, wc_get_order( $order->get_id() )->get_refunds() );
		$this->assertEquals( 100.0, wc_get_order( $order->get_id() )->get_total_refunded() );
	}

	public function test_declined_refund_shows_the_providers_reason_and_records_nothing() {
		$order = $this->order( array(), 'wp-decline-0001-decline' );
		list( $status, $confirm ) = $this->refund( $order, array( 'mode' => 'amount', 'amount' => '100', 'reason' => 'Cancelled' ) );
		$this->assertSame( 'failed', $confirm['data']['status'] );
		$this->assertStringContainsString( "card issuer declined the refund", $confirm['data']['message'] );
		$this->assertCount( 0, wc_get_order( $order->get_id() )->get_refunds() );
	}

	public function test_processing_refund_is_followed_until_refunded() {
		$order = $this->order( array(), 'wp-async-0001-async' );
		list( , $confirm ) = $this->refund( $order, array( 'mode' => 'amount', 'amount' => '200', 'reason' => 'Cancelled' ) );
		$this->assertSame( 'processing', $confirm['data']['status'] );
		$this->assertCount( 0, wc_get_order( $order->get_id() )->get_refunds() );
		$this->assertTrue( Refunder_Store::anything_unsettled() );
		$this->assertNotEmpty( as_get_scheduled_actions( array( 'hook' => Refunder_Follow_Up::FOLLOW_UP, 'group' => 'refunder', 'status' => ActionScheduler_Store::STATUS_PENDING ), 'ids' ) );
		sleep( 3 );
		$args = array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'refund_id' => $confirm['data']['id'] );
		$this->assertSame( 'refunded', $this->ajax( 'refunder_status', $args )[1]['data']['status'] );
		$this->assertSame( 'refunded', $this->ajax( 'refunder_status', $args )[1]['data']['status'] );
		$this->assertCount( 1, wc_get_order( $order->get_id() )->get_refunds() );
		$entry = Refunder_Store::get( $confirm['data']['id'] );
		$this->assertSame( array( 'refunded', 'recorded' ), array( $entry['status'], $entry['record_state'] ) );
		$this->assertSame( $confirm['data']['id'], wc_get_order( $entry['wc_refund_id'] )->get_meta( '_refunder_refund_id' ) );
	}

	public function test_unknown_outcome_is_settled_by_the_follow_up_job() {
		$order = $this->order( array(), 'wp-timeout-0001-timeout' );
		list( , $confirm ) = $this->refund( $order, array( 'mode' => 'amount', 'amount' => '150', 'reason' => 'Cancelled' ) );
		$this->assertSame( 'unknown', $confirm['data']['status'] );
		$this->assertStringContainsString( 'do not refund again', $confirm['data']['message'] );
		$this->assertSame( 'unknown', Refunder_Follow_Up::run() >= 0 ? Refunder_Store::get( $confirm['data']['id'] )['status'] : '' );
		Refunder_Client::configured()->call( 'POST', '/v1/refunds/' . $confirm['data']['id'] . '/refresh' ); // the service settles it (its own follow-up would, within seconds)
		$this->assertGreaterThanOrEqual( 1, Refunder_Follow_Up::run() );
		$order = wc_get_order( $order->get_id() );
		$this->assertSame( 'refunded', Refunder_Store::get( $confirm['data']['id'] )['status'] );
		$this->assertEquals( 150.0, $order->get_total_refunded() );
	}

	public function test_service_down_is_a_clear_message_not_a_crash() {
		update_option( 'refunder_settings', array( 'url' => 'http://127.0.0.1:9', 'secret' => getenv( 'REFUNDER_TEST_SIDECAR_SECRET' ) ) );
		$order = $this->simulated_order();
		list( $status, $json ) = $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'full', 'reason' => 'x' ) );
		$this->assertSame( 502, $status );
		$this->assertStringContainsString( 'could not be reached', $json['data']['message'] );
		ob_start();
		Refunder_Order_Panel::render( $order ); // asks no one: shows what it knows and fills in later
		$this->assertStringContainsString( 'Asking the Refunder service about this payment', ob_get_clean() );
	}

	public function test_wrong_secret_and_missing_settings() {
		update_option( 'refunder_settings', array( 'url' => getenv( 'REFUNDER_TEST_SIDECAR_URL' ), 'secret' => str_repeat( 'x', 40 ) ) );
		$result = Refunder_Client::configured()->call( 'GET', '/v1/ping' );
		$this->assertSame( 'signature_invalid', $result->get_error_code() );
		$this->assertStringContainsString( 'shared secret', $result->get_error_message() );
		update_option( 'refunder_settings', array() );
		$order = $this->order();
		list( $status, $json ) = $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'full', 'reason' => 'x' ) );
		$this->assertSame( 503, $status );
		$this->assertStringContainsString( 'Settings → Refunder', $json['data']['message'] );
	}
}
