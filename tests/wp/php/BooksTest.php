<?php
/**
 * WooCommerce's books: a failed record is shown and retried with backoff until it succeeds; an older answer
 * never overwrites a newer one; a stale claim is taken over; a record made by a process that died is found by
 * its key; refunded-then-failed is reversed; the old order meta moves into the table; WooCommerce's own refunds
 * count at the service, and Refunder never offers more than WooCommerce shows left; an order set to Refunded
 * first records Refunder's refunds and refuses WooCommerce's automatic refund while one is in flight, and the rest
 * held back then is booked by one process only.
 */
class BooksTest extends Refunder_TestCase {

	private static $next = 0;

	private static function on_the_double(): bool {
		return function_exists( 'wc_double_create_order' );
	}

	private function simulated( string $suffix = '' ): WC_Order {
		return $this->order( array(), sprintf( 'wp-books-%04d', self::$next++ ) . $suffix );
	}

	/** A refund paid back by bank transfer, through the panel (refunded at once). */
	private function bank_refund( WC_Order $order, string $amount = '100' ): array {
		list( $status, $confirm ) = $this->refund( $order, array( 'mode' => 'amount', 'amount' => $amount, 'reason' => 'Cancelled', 'bank_reference' => 'NO-' . $order->get_id() ) );
		$this->assertSame( 200, $status, wp_json_encode( $confirm ) );
		return $confirm['data'];
	}

	/** A refund made at the service directly: WordPress has not heard of it. */
	private function refund_at_the_service( WC_Order $order, int $minor ): array {
		$client  = Refunder_Client::configured();
		$payment = Refunder_Payments::summary( $order, $client );
		$refund  = $client->call( 'POST', '/v1/payments/' . $payment['id'] . '/refunds', array( 'amount' => array( 'value' => $minor, 'currency' => 'NOK' ), 'reason' => 'Made elsewhere', 'actor' => array( 'id' => '1', 'name' => 'admin' ) ), array( 'Idempotency-Key' => wp_generate_uuid4() ) );
		$this->assertIsArray( $refund, is_wp_error( $refund ) ? $refund->get_error_message() : '' );
		return $refund;
	}

	private function notes( int $order_id ): array {
		return self::plain( wp_list_pluck( wc_get_order_notes( array( 'order_id' => $order_id ) ), 'content' ) );
	}

	private function refunds( int $order_id ): array {
		return wc_get_order( $order_id )->get_refunds();
	}

	/** Runs $work while the service does not answer (Refunder's settings name a closed port), then connects again. */
	private static function while_the_service_is_away( callable $work ) {
		$settings = get_option( 'refunder_settings' );
		update_option( 'refunder_settings', array( 'url' => 'http://127.0.0.1:9', 'secret' => $settings['secret'] ) );
		try {
			return $work();
		} finally {
			update_option( 'refunder_settings', $settings );
		}
	}

	/** Runs $work while WooCommerce refuses to record Refunder's refunds (the database says no). */
	private static function while_records_are_refused( callable $work ) {
		$refuse = function ( $refund, $args ) {
			if ( ! empty( $args['refunder_refund_id'] ) ) {
				throw new Exception( 'Injected: the database said no' );
			}
		};
		add_action( 'woocommerce_create_refund', $refuse, 20, 2 );
		try {
			return $work();
		} finally {
			remove_action( 'woocommerce_create_refund', $refuse, 20 );
		}
	}

	private static function due( string $refund_id ): void {
		global $wpdb;
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . Refunder_Store::table() . ' SET retry_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE refund_id = %s', $refund_id ) );
	}

	private function payment( WC_Order $order ): array {
		return Refunder_Client::configured()->call( 'GET', '/v1/payments/' . wc_get_order( $order->get_id() )->get_meta( Refunder_Payments::META ) );
	}

	public function test_a_failed_record_is_shown_and_retried_with_backoff_until_it_succeeds() {
		$order = $this->order();
		$done  = self::while_records_are_refused( fn() => $this->bank_refund( $order ) );
		$id    = $done['id'];
		$entry = Refunder_Store::get( $id );
		$this->assertSame( array( 'refunded', 'failed', 1, 'Injected: the database said no' ), array( $entry['status'], $entry['record_state'], $entry['attempts'], $entry['last_error'] ) );
		$this->assertCount( 0, $this->refunds( $order->get_id() ) );
		$this->assertContains( "Refunder: 100,00 kr was refunded through Bank transfer (manual), but WooCommerce did not record it: Injected: the database said no. Refunder tries again in the background until it is recorded.", $this->notes( $order->get_id() ) );
		$next = as_next_scheduled_action( Refunder_Follow_Up::RECORD, array( $id ), Refunder_Follow_Up::GROUP );
		$this->assertEqualsWithDelta( time() + 60, $next, 10 );
		$this->assertStringContainsString( 'WooCommerce has not recorded it yet: Injected: the database said no. Refunder tries again in the background', self::plain( Refunder_Notices::unrecorded( $order->get_id() )[0] ) );
		$this->assertStringContainsString( 'WooCommerce has not recorded it yet (Injected: the database said no)', Refunder_Ajax::present( $entry )['message'] );

		as_unschedule_all_actions( Refunder_Follow_Up::RECORD, array( $id ), Refunder_Follow_Up::GROUP ); // taken by the runner
		do_action( Refunder_Follow_Up::RECORD, $id ); // not due yet on the database's clock: put off to its time
		$this->assertSame( 1, Refunder_Store::get( $id )['attempts'] );
		$this->assertEqualsWithDelta( time() + 60, as_next_scheduled_action( Refunder_Follow_Up::RECORD, array( $id ), Refunder_Follow_Up::GROUP ), 10 );

		self::due( $id );
		self::while_records_are_refused( fn() => do_action( Refunder_Follow_Up::RECORD, $id ) );
		$this->assertSame( array( 'failed', 2 ), array( Refunder_Store::get( $id )['record_state'], Refunder_Store::get( $id )['attempts'] ) );
		$this->assertEqualsWithDelta( time() + 120, as_next_scheduled_action( Refunder_Follow_Up::RECORD, array( $id ), Refunder_Follow_Up::GROUP ), 10 );
		$this->assertCount( 1, array_filter( $this->notes( $order->get_id() ), fn( $n ) => false !== strpos( $n, 'did not record it' ) ), 'one note, not one per attempt' );

		self::due( $id );
		wp_set_current_user( 0 ); // Action Scheduler: no one is logged in
		do_action( Refunder_Follow_Up::RECORD, $id );
		wp_set_current_user( 1 );
		$entry   = Refunder_Store::get( $id );
		$refunds = $this->refunds( $order->get_id() );
		$this->assertSame( array( 'recorded', 1 ), array( $entry['record_state'], count( $refunds ) ) );
		$this->assertSame( array( $id, $entry['wc_refund_id'] ), array( $refunds[0]->get_meta( '_refunder_refund_id' ), $refunds[0]->get_id() ) );
		$recorded = 'Refunder: 100,00 kr refunded through Bank transfer (manual) by admin (reference NO-' . $order->get_id() . '). Reason: Cancelled WooCommerce has now recorded it.';
		$this->assertContains( $recorded, $this->notes( $order->get_id() ) );
		$note = current( array_filter( wc_get_order_notes( array( 'order_id' => $order->get_id() ) ), fn( $n ) => self::plain( $n->content ) === $recorded ) );
		$this->assertSame( '1', get_comment( $note->id )->user_id, 'the note is by the staff member who refunded' );
		$this->assertSame( array(), Refunder_Notices::unrecorded( $order->get_id() ) );
	}

	public function test_an_older_answer_never_overwrites_a_newer_one() {
		$order  = $this->order();
		$done   = $this->bank_refund( $order );
		$answer = Refunder_Client::configured()->call( 'GET', '/v1/refunds/' . $done['id'] );
		Refunder_Books::remember( $order, array_merge( $answer, array( 'status' => 'pending', 'updated_at' => '2020-01-01T00:00:00+00:00' ) ) );
		$entry = Refunder_Store::get( $done['id'] );
		$this->assertSame( array( 'refunded', 'recorded' ), array( $entry['status'], $entry['record_state'] ) );
		$this->assertCount( 1, $this->refunds( $order->get_id() ) );
	}

	public function test_two_refunds_made_within_one_second_are_listed_in_the_order_they_were_made() {
		$order = $this->simulated();
		$made  = fn( $id, $at ) => array( 'id' => $id, 'status' => 'refunded', 'amount' => array( 'value' => 1000, 'currency' => 'NOK', 'exponent' => 2 ), 'reason' => 'x', 'created_at' => $at, 'updated_at' => $at );
		Refunder_Store::save( $order->get_id(), $made( 'rf_b_made_first', '2026-11-30T05:00:00.100000+00:00' ) );
		Refunder_Store::save( $order->get_id(), $made( 'rf_a_made_second', '2026-11-30T05:00:00.900000+00:00' ) );
		$this->assertSame( array( 'rf_b_made_first', 'rf_a_made_second' ), array_keys( Refunder_Store::for_order( $order->get_id() ) ) ); // Stripe's meta follows the newest
	}

	public function test_a_stale_claim_is_taken_over_and_a_fresh_one_is_left_alone() {
		global $wpdb;
		$order  = $this->simulated();
		$refund = $this->refund_at_the_service( $order, 20000 );
		Refunder_Store::save( $order->get_id(), $refund );
		$claim = fn( $ago ) => $wpdb->query( $wpdb->prepare( 'UPDATE ' . Refunder_Store::table() . " SET record_state = 'claimed', claim = 'other', claimed_at = UTC_TIMESTAMP() - INTERVAL %d SECOND WHERE refund_id = %s", $ago, $refund['id'] ) );
		$claim( 60 ); // another process is creating it right now
		Refunder_Books::settle( Refunder_Store::get( $refund['id'] ) );
		$this->assertCount( 0, $this->refunds( $order->get_id() ) );
		$claim( Refunder_Store::STALE + 60 ); // that process died ten minutes ago
		Refunder_Books::settle( Refunder_Store::get( $refund['id'] ) );
		$this->assertCount( 1, $this->refunds( $order->get_id() ) );
		$this->assertSame( 'recorded', Refunder_Store::get( $refund['id'] )['record_state'] );
	}

	public function test_a_record_made_by_a_process_that_died_is_found_by_its_key() {
		$order  = $this->simulated();
		$refund = $this->refund_at_the_service( $order, 20000 );
		Refunder_Store::save( $order->get_id(), $refund );
		$made = wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '200.00', 'reason' => 'x', 'refund_payment' => false, 'refunder_refund_id' => $refund['id'] ) );
		wp_cache_flush();
		Refunder_Books::settle( Refunder_Store::get( $refund['id'] ) );
		$this->assertSame( array( $made->get_id() ), array_map( fn( $r ) => $r->get_id(), $this->refunds( $order->get_id() ) ) );
		$this->assertSame( array( 'recorded', $made->get_id() ), array( Refunder_Store::get( $refund['id'] )['record_state'], Refunder_Store::get( $refund['id'] )['wc_refund_id'] ) );
	}

	public function test_a_refund_that_fails_after_it_was_refunded_is_reversed() {
		$order  = $this->order();
		$done   = $this->bank_refund( $order, '250' );
		$answer = Refunder_Client::configured()->call( 'GET', '/v1/refunds/' . $done['id'] );
		$failed = array_merge( $answer, array( 'status' => 'failed', 'failure' => array( 'code' => 'bounced', 'message' => 'The receiving bank returned the transfer.' ), 'updated_at' => gmdate( 'Y-m-d\TH:i:s.u\Z', time() + 5 ) ) );
		Refunder_Books::remember( $order, $failed );
		Refunder_Books::remember( $order, $failed );
		$entry = Refunder_Store::get( $done['id'] );
		$this->assertSame( array( 'failed', 'reversed' ), array( $entry['status'], $entry['record_state'] ) );
		$this->assertCount( 0, $this->refunds( $order->get_id() ) );
		$reversed = array_filter( $this->notes( $order->get_id() ), fn( $n ) => false !== strpos( $n, 'failed after it had been refunded' ) );
		$this->assertSame( array( 'Refunder: the refund of 250,00 kr through Bank transfer (manual) failed after it had been refunded (The receiving bank returned the transfer). Its WooCommerce refund was removed: the customer did not get this money back. Refund again, or by bank transfer.' ), array_values( $reversed ) );
		$this->assertStringContainsString( 'failed after it had been refunded', Refunder_Ajax::present( $entry )['message'] );
	}

	public function test_a_refunder_refund_in_woocommerce_stays_when_someone_deletes_it() {
		$order = $this->order();
		$done  = $this->bank_refund( $order );
		$this->assertFalse( $this->refunds( $order->get_id() )[0]->delete( true ) );
		$this->assertCount( 1, $this->refunds( $order->get_id() ) );
		$this->assertStringContainsString( 'Refunder kept WooCommerce refund', $this->notes( $order->get_id() )[0] );
		$this->assertSame( 'recorded', Refunder_Store::get( $done['id'] )['record_state'] );
	}

	public function test_the_old_order_meta_moves_into_the_table_once() {
		$order = $this->order();
		$old   = array( 'status' => 'refunded', 'amount' => 5000, 'currency' => 'NOK', 'reason' => 'Old', 'actor' => 'Kari', 'provider_reference' => 'sim_x', 'failure' => '', 'created_at' => '2026-01-02T03:04:05+00:00', 'lines' => array() );
		$order->update_meta_data( '_refunder_refunds', array( 'rf_old1_' . $order->get_id() => $old + array( 'id' => 'rf_old1_' . $order->get_id(), 'wc_refund_id' => 77 ), 'rf_old2_' . $order->get_id() => array_merge( $old, array( 'id' => 'rf_old2_' . $order->get_id(), 'status' => 'processing' ) ) ) );
		$order->update_meta_data( '_refunder_pending', 'yes' );
		$order->save();
		update_option( 'refunder_pending_orders', array( $order->get_id() ) );
		delete_option( 'refunder_db_version' );
		Refunder_Store::maybe_install();
		$rows = Refunder_Store::for_order( $order->get_id() );
		$this->assertSame(
			array( array( 'refunded', 'recorded', 77, 5000 ), array( 'processing', 'none', 0, 5000 ) ),
			array_values( array_map( fn( $e ) => array( $e['status'], $e['record_state'], $e['wc_refund_id'], $e['amount'] ), $rows ) )
		);
		$this->assertSame( array( '', '', false, Refunder_Store::DB_VERSION ), array( wc_get_order( $order->get_id() )->get_meta( '_refunder_refunds' ), wc_get_order( $order->get_id() )->get_meta( '_refunder_pending' ), get_option( 'refunder_pending_orders' ), get_option( 'refunder_db_version' ) ) );
		global $wpdb;
		$wpdb->query( $wpdb->prepare( 'DELETE FROM ' . Refunder_Store::table() . ' WHERE order_id = %d', $order->get_id() ) ); // not real refunds
	}

	public function test_woocommerces_own_refunds_count_and_refunder_never_offers_more_than_woocommerce_shows_left() {
		$order = $this->simulated();
		Refunder_Payments::summary( $order, Refunder_Client::configured() );
		$review = fn() => self::plain( $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'full', 'reason' => 'x' ) )[1]['data']['amount'] );

		$by_hand = wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '500.00', 'reason' => 'Paid back in the shop', 'refund_payment' => false ) );
		$this->assertSame( array( 50000, 100000 ), array( $this->payment( $order )['refunded']['value'], $this->payment( $order )['refundable']['value'] ) );
		$this->assertNotSame( '', wc_get_order( $by_hand->get_id() )->get_meta( Refunder_WooCommerce_Refunds::REPORTED ) );
		$this->assertSame( '1 000,00 kr', $review() );

		wc_get_order( $by_hand->get_id() )->delete( true ); // a booking no gateway paid: it no longer counts
		$this->assertSame( 150000, $this->payment( $order )['refundable']['value'] );

		$while_away = self::while_the_service_is_away( fn() => wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '300.00', 'reason' => 'Paid back in the shop', 'refund_payment' => false ) ) );
		$this->assertEqualsWithDelta( time() + 60, as_next_scheduled_action( Refunder_Follow_Up::REPORT, array( $while_away->get_id(), 'created', 2, '' ), Refunder_Follow_Up::GROUP ), 10 );
		$this->assertSame( 150000, $this->payment( $order )['refundable']['value'] );
		$this->assertSame( '1 200,00 kr', $review(), 'never more than WooCommerce shows left' );
		do_action( Refunder_Follow_Up::REPORT, $while_away->get_id(), 'created', 2, '' );
		$this->assertSame( 120000, $this->payment( $order )['refundable']['value'] );
	}

	/**
	 * Runs the waiting action as Action Scheduler's queue runner does (in progress while it runs), in the store
	 * a live shop has: there a "unique" action is one per hook whatever its args, and the running one counts.
	 */
	private function run_action( string $hook, array $args ): void {
		$ids = as_get_scheduled_actions( array( 'hook' => $hook, 'args' => $args, 'group' => Refunder_Follow_Up::GROUP, 'status' => ActionScheduler_Store::STATUS_PENDING ), 'ids' );
		$this->assertCount( 1, $ids, "$hook " . wp_json_encode( $args ) . ' is waiting' );
		if ( self::on_the_double() ) {
			do_action_ref_array( $hook, $args );
			return;
		}
		$this->assertInstanceOf( ActionScheduler_DBStore::class, ActionScheduler_Store::instance(), "a live shop's store" );
		ActionScheduler::runner()->process_action( (int) $ids[0], 'PHPUnit' );
	}

	public function test_a_record_whose_process_died_inside_woocommerce_is_made_once_in_full() {
		$order = $this->order();
		$die   = function ( $refund, $args ) { // after WooCommerce's first save of the refund, before its last
			if ( ! empty( $args['refunder_refund_id'] ) ) {
				throw new Error( 'Injected: the process was killed' ); // not an Exception: wc_create_refund leaves the refund, as a kill does
			}
		};
		add_action( 'woocommerce_create_refund', $die, 7, 2 );
		try {
			$id = $this->bank_refund( $order )['id'];
		} finally {
			remove_action( 'woocommerce_create_refund', $die, 7 );
		}
		self::due( $id );
		do_action( Refunder_Follow_Up::RECORD, $id );
		$refunds = $this->refunds( $order->get_id() );
		$this->assertSame( 'recorded', Refunder_Store::get( $id )['record_state'] );
		$this->assertSame( array( array( '100.00', $id, '' ) ), array_map( fn( $r ) => array( wc_format_decimal( $r->get_amount(), 2 ), (string) $r->get_meta( Refunder_Books::REFUND_KEY ), (string) $r->get_meta( Refunder_Books::INCOMPLETE ) ), $refunds ) );
		$this->assertSame( '100.00', wc_format_decimal( wc_get_order( $order->get_id() )->get_total_refunded(), 2 ) );
	}

	public function test_each_failed_record_has_its_own_retry_until_it_is_recorded() {
		$ids = self::while_records_are_refused(
			function () {
				$ids = array( $this->bank_refund( $this->order() )['id'], $this->bank_refund( $this->order() )['id'] );
				foreach ( $ids as $id ) { // each has its own retry, and a retry that fails again schedules the next
					self::due( $id );
					$this->run_action( Refunder_Follow_Up::RECORD, array( $id ) );
					$this->assertSame( 2, Refunder_Store::get( $id )['attempts'] );
				}
				return $ids;
			}
		);
		foreach ( $ids as $id ) {
			self::due( $id );
			$this->run_action( Refunder_Follow_Up::RECORD, array( $id ) );
			$this->assertSame( 'recorded', Refunder_Store::get( $id )['record_state'] );
		}
	}

	public function test_every_refund_made_in_woocommerce_while_the_service_is_away_is_reported_later() {
		$orders = array( $this->simulated(), $this->simulated() );
		foreach ( $orders as $order ) {
			Refunder_Payments::summary( $order, Refunder_Client::configured() );
		}
		$away = self::while_the_service_is_away(
			function () use ( $orders ) {
				$away = array_map( fn( $o ) => wc_create_refund( array( 'order_id' => $o->get_id(), 'amount' => '300.00', 'reason' => 'Paid back in the shop', 'refund_payment' => false ) ), $orders );
				foreach ( $away as $refund ) { // still away: each report's retry schedules the next
					$this->run_action( Refunder_Follow_Up::REPORT, array( $refund->get_id(), 'created', 2, '' ) );
				}
				return $away;
			}
		);
		foreach ( $away as $refund ) {
			$this->run_action( Refunder_Follow_Up::REPORT, array( $refund->get_id(), 'created', 3, '' ) );
		}
		$this->assertSame( array( 120000, 120000 ), array_map( fn( $o ) => $this->payment( $o )['refundable']['value'], $orders ) );
	}

	public function test_a_gateways_refund_reported_later_is_still_the_gateways() {
		$order = $this->simulated();
		Refunder_Payments::summary( $order, Refunder_Client::configured() );
		$webhook = 'woocommerce_api_mollie_wc_gateway_creditcard';
		$book    = function () use ( $order, &$refund ) { // Mollie's webhook books a refund Mollie has made
			$refund = wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '300.00', 'reason' => 'Refunded at Mollie', 'refund_payment' => false ) );
		};
		add_action( $webhook, $book );
		wp_set_current_user( 0 ); // a webhook: no one is logged in (WooCommerce writes user 1 as refunded_by)
		self::while_the_service_is_away( fn() => do_action( $webhook ) );
		remove_action( $webhook, $book );
		wp_set_current_user( 1 );
		$this->run_action( Refunder_Follow_Up::REPORT, array( $refund->get_id(), 'created', 2, '' ) ); // no webhook now, and the admin logged in
		$this->assertSame( 120000, $this->payment( $order )['refundable']['value'] );
		$reported = Refunder_Client::configured()->call( 'GET', '/v1/refunds?order_id=' . $order->get_id() )['refunds'];
		$this->assertSame( array( array( 'id' => 'system', 'name' => 'WordPress' ) ), array_column( $reported, 'actor' ), 'not the admin, user 1' );
		wc_get_order( $refund->get_id() )->delete( true );
		$this->assertSame( 120000, $this->payment( $order )['refundable']['value'], 'money a gateway moved keeps counting when its booking goes' );
	}

	/** Runs $work in a stand-in of Mollie's webhook (since Mollie 8.0.6 a REST route), as no one logged in. */
	private static function mollie_rest_webhook( callable $work ): WP_REST_Response {
		$callback = function () use ( $work ) {
			$work();
			return new WP_REST_Response( null, 200 );
		};
		$register = fn() => register_rest_route( 'mollie/v1', '/webhook', array( 'methods' => 'POST', 'callback' => $callback, 'permission_callback' => '__return_true' ), true );
		if ( did_action( 'rest_api_init' ) ) {
			$register();
		} else {
			add_action( 'rest_api_init', $register );
		}
		wp_set_current_user( 0 );
		try {
			return rest_do_request( new WP_REST_Request( 'POST', '/mollie/v1/webhook' ) );
		} finally {
			wp_set_current_user( 1 );
			remove_action( 'rest_api_init', $register );
			$GLOBALS['wp_rest_server'] = null; // the stand-in route goes with the server
		}
	}

	public function test_a_refund_booked_during_mollies_rest_webhook_is_the_gateways() {
		$order = $this->simulated();
		Refunder_Payments::summary( $order, Refunder_Client::configured() );
		$answer = self::mollie_rest_webhook( // it books a refund Mollie made
			fn() => wc_create_refund( array( 'order_id' => $order->get_id(), 'amount' => '300.00', 'reason' => 'Refunded at Mollie', 'refund_payment' => false ) )
		);
		$this->assertSame( 200, $answer->get_status() );
		$reported = Refunder_Client::configured()->call( 'GET', '/v1/refunds?order_id=' . $order->get_id() )['refunds'];
		$this->assertSame( array( array( 'woocommerce', 'provider', 30000 ) ), array_map( fn( $r ) => array( $r['kind'], $r['via'], $r['amount']['value'] ), $reported ), 'Mollie moved the money: no bank transfer' );
	}

	public function test_the_hourly_sync_is_scheduled_again_when_it_stopped() {
		$scheduled = fn() => as_has_scheduled_action( Refunder_Follow_Up::SYNC, null, Refunder_Follow_Up::GROUP );
		as_unschedule_all_actions( Refunder_Follow_Up::SYNC, array(), Refunder_Follow_Up::GROUP ); // cancelled, or its run died
		update_option( Refunder_Follow_Up::SYNC_SEEN, 'yes' ); // as the previous version left it: never looked at again
		Refunder_Follow_Up::schedule_sync();
		$this->assertTrue( $scheduled() );

		as_unschedule_all_actions( Refunder_Follow_Up::SYNC, array(), Refunder_Follow_Up::GROUP );
		update_option( Refunder_Follow_Up::SYNC_SEEN, time() - 60 );
		Refunder_Follow_Up::schedule_sync();
		$this->assertFalse( $scheduled(), 'looked at once an hour, not on every page' );
		update_option( Refunder_Follow_Up::SYNC_SEEN, time() - HOUR_IN_SECONDS - 1 );
		Refunder_Follow_Up::schedule_sync();
		$this->assertTrue( $scheduled() );
	}

	public function test_an_order_set_to_refunded_records_refunders_refunds_first() {
		if ( self::on_the_double() ) {
			$this->markTestSkipped( "WooCommerce's status change refunds need a real WooCommerce" );
		}
		$order  = $this->simulated();
		$refund = $this->refund_at_the_service( $order, 20000 ); // WordPress has not heard of it yet
		wc_get_order( $order->get_id() )->update_status( 'refunded' );
		$refunds = array_map( fn( $r ) => array( wc_format_decimal( $r->get_amount(), 2 ), (string) $r->get_meta( '_refunder_refund_id' ) ), $this->refunds( $order->get_id() ) );
		sort( $refunds );
		$this->assertSame( array( array( '200.00', $refund['id'] ), array( '1300.00', '' ) ), $refunds );
		$this->assertSame( 0, $this->payment( $order )['refundable']['value'], "WooCommerce's 1 300,00 kr counts at the service" );
	}

	/** A refund of 200,00 kr through the panel that the simulator is still processing: its id. */
	private function refund_in_flight( WC_Order $order ): string {
		list( , $confirm ) = $this->refund( $order, array( 'mode' => 'amount', 'amount' => '200', 'reason' => 'Cancelled' ) );
		$this->assertSame( 'processing', $confirm['data']['status'] );
		return $confirm['data']['id'];
	}

	/** The simulator settles it (a few seconds on), the service reads it back, and the follow-up runs. */
	private static function settled( string $refund_id ): void {
		sleep( 3 );
		Refunder_Client::configured()->call( 'POST', '/v1/refunds/' . $refund_id . '/refresh' );
		Refunder_Follow_Up::run();
	}

	public function test_while_a_refund_is_in_flight_woocommerce_does_not_refund_the_rest_by_itself() {
		if ( self::on_the_double() ) {
			$this->markTestSkipped( "WooCommerce's status change refunds need a real WooCommerce" );
		}
		$order     = $this->simulated( '-async' );
		$refund_id = $this->refund_in_flight( $order );
		wc_get_order( $order->get_id() )->update_status( 'refunded' );
		$this->assertCount( 0, $this->refunds( $order->get_id() ) );
		$held = 'Refunder stopped WooCommerce from refunding 1 500,00 kr automatically when the order status changed: Refunder is still refunding 200,00 kr through Simulated card provider. Nothing more was refunded.';
		$this->assertStringContainsString( $held, implode( "\n", $this->notes( $order->get_id() ) ) );
		$this->assertStringContainsString( $held, self::plain( implode( "\n", get_transient( 'refunder_notices_1' ) ) ) );
		self::settled( $refund_id );
		$this->assertSame( array( '200.00' ), array_map( fn( $r ) => $r->get_amount(), $this->refunds( $order->get_id() ) ) );
		delete_transient( 'refunder_notices_1' );
	}

	public function test_mollie_refunding_the_rest_during_a_refund_in_flight_is_booked_once_it_is_settled() {
		if ( self::on_the_double() ) {
			$this->markTestSkipped( "WooCommerce's status change refunds need a real WooCommerce" );
		}
		$order     = $this->simulated( '-async' );
		$refund_id = $this->refund_in_flight( $order );
		$answer = self::mollie_rest_webhook( fn() => wc_get_order( $order->get_id() )->update_status( 'refunded' ) ); // Mollie: refunded in full
		$this->assertSame( 200, $answer->get_status() );
		$this->assertCount( 0, $this->refunds( $order->get_id() ), "core's 1 500,00 kr would count Refunder's 200,00 kr twice" );
		$this->assertStringContainsString( 'Mollie shows the payment refunded, but WooCommerce did not record 1 500,00 kr as refunded now: Refunder is still refunding 200,00 kr', implode( "\n", $this->notes( $order->get_id() ) ) );
		$other = wc_get_order( $order->get_id() ); // a second process that read the hold before the first took it
		$this->assertIsArray( $other->get_meta( Refunder_Held_Rest::META ) );
		self::settled( $refund_id );
		$amounts = array_map( fn( $r ) => wc_format_decimal( $r->get_amount(), 2 ), $this->refunds( $order->get_id() ) );
		sort( $amounts );
		$this->assertSame( array( '200.00', '1300.00' ), $amounts, "Refunder's refund, and the rest Mollie refunded" );
		$reported = Refunder_Client::configured()->call( 'GET', '/v1/refunds?order_id=' . $order->get_id() )['refunds'];
		$this->assertContains( array( 'woocommerce', 'provider', 130000 ), array_map( fn( $r ) => array( $r['kind'], $r['via'], $r['amount']['value'] ), $reported ), "Mollie's money, not a bank transfer" );
		Refunder_Follow_Up::run();
		$this->assertCount( 2, $this->refunds( $order->get_id() ), 'booked once' );
		$claim = new ReflectionMethod( Refunder_Held_Rest::class, 'claim' );
		$claim->setAccessible( true );
		$this->assertFalse( $claim->invoke( null, $other ), 'the second process finds the hold taken, though its order object still shows it' );
		delete_transient( 'refunder_notices_1' );
	}
}
