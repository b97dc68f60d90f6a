<?php
/**
 * Everything the Refunder service can answer (tests/vectors/problems.json, written from the sidecar's code)
 * reads in the admin's language; money through wc_price; unknown codes show the service's English.
 */
class MessagesTest extends Refunder_TestCase {

	private static $next = 0;

	private static function problems(): array {
		return json_decode( file_get_contents( dirname( __DIR__, 2 ) . '/vectors/problems.json' ), true )['problems'];
	}

	/** A param the sentence shows as the service sent it, money and dates aside. */
	private static function plain_params( array $params ): bool {
		foreach ( $params as $value ) {
			if ( is_array( $value ) || ( is_string( $value ) && preg_match( '/^\d{4}-\d{2}-\d{2}T/', $value ) ) ) {
				return false;
			}
		}
		return true;
	}

	public function test_a_norwegian_admin_reads_no_english_sentence_for_any_code_of_the_service() {
		$english = array();
		foreach ( self::problems() as $p ) {
			$english[ $p['code'] ] = Refunder_Messages::message( $p['code'], $p['params'], $p['detail'] );
			if ( self::plain_params( $p['params'] ) ) { // the plugin's English is the service's, word for word.
				$this->assertSame( $p['detail'], $english[ $p['code'] ], $p['code'] );
			}
		}
		$templates = Refunder_Messages::table();
		$checked   = $this->as_norwegian_admin(
			function () use ( $english, $templates ) {
				$this->assertSame( 'nb_NO', determine_locale() );
				$norwegian = Refunder_Messages::table();
				foreach ( self::problems() as $p ) {
					$code = $p['code'];
					$this->assertArrayHasKey( $code, $norwegian, "Refunder_Messages has no sentence for $code" );
					if ( '%1$s' !== $templates[ $code ][0] ) { // provider_cannot_refund is its reason's sentence.
						$this->assertNotSame( $templates[ $code ][0], $norwegian[ $code ][0], "$code: no translation in refunder-nb_NO.mo" );
					}
					$said = Refunder_Messages::message( $code, $p['params'], $p['detail'] );
					$this->assertNotSame( $p['detail'], $said, $code );
					$this->assertNotSame( $english[ $code ], $said, $code );
					$this->assertStringNotContainsString( $p['detail'], $said, $code );
					$this->assertDoesNotMatchRegularExpression( '/%\d\$s/', $said, $code );
				}
				return count( self::problems() );
			}
		);
		$this->assertGreaterThan( 100, $checked );
	}

	public function test_money_dates_and_nested_reasons_read_as_the_admin_reads_them() {
		$vectors = array_column( self::problems(), null, 'code' );
		$said    = $this->as_norwegian_admin(
			fn() => array(
				Refunder_Messages::of( $vectors['exceeds_refundable'] ),
				Refunder_Messages::of( $vectors['refund_window_expired'] ),
				Refunder_Messages::of( $vectors['provider_refused_permanently'] ),
				Refunder_Money::text( 75000, 'NOK', 2 ),
				wp_date( get_option( 'date_format' ), strtotime( '2026-11-20T09:00:00+00:00' ) ),
			)
		);
		list( $exceeds, $expired, $refused, $amount, $date ) = $said;
		$this->assertStringStartsWith( 'Du kan refundere høyst ' . $amount . ':', $exceeds );
		$this->assertSame( Refunder_Money::woocommerce_text( '750.00', 'NOK' ), $amount ); // wc_price, the store's own format.
		$this->assertStringContainsString( "til $date;", $expired );
		$this->assertSame( 'Stripe avviste den siste refusjonen av en grunn som ikke vil endre seg: Stripe kunne ikke refundere: kundens kort er utløpt eller sperret. Refunder kunden med bankoverføring i stedet.', $refused );
		$yen = self::plain( Refunder_Money::text( 1500, 'JPY', 0 ) );
		$this->assertStringStartsWith( '1 500', $yen );
		$this->assertStringNotContainsString( ',', $yen ); // its exponent: no decimals
	}

	public function test_a_code_the_plugin_does_not_know_shows_the_services_english() {
		$this->as_norwegian_admin(
			function () {
				$this->assertSame( 'A newer service says this.', Refunder_Messages::of( array( 'code' => 'from_a_newer_service', 'params' => array(), 'detail' => 'A newer service says this.' ) ) );
				$this->assertSame( 'Not all params.', Refunder_Messages::of( array( 'code' => 'exceeds_refundable', 'params' => array(), 'detail' => 'Not all params.' ) ) );
				$this->assertSame( 'Kept as said.', Refunder_Messages::of( array( 'code' => 'vipps_6150', 'message' => 'Kept as said.' ) ) ); // a failure stored before params
			}
		);
		add_filter( 'refunder_localized_messages', fn( $table ) => array( 'from_a_newer_service' => array( 'Now known: %1$s.', array( 'what' ) ) ) + $table );
		$this->assertSame( 'Now known: it.', Refunder_Messages::of( array( 'code' => 'from_a_newer_service', 'params' => array( 'what' => 'it' ), 'detail' => 'x' ) ) );
		remove_all_filters( 'refunder_localized_messages' );
	}

	/** A refusal from the real service: a WP_Error in Norwegian, with the service's code, status and problem. */
	public function test_the_client_turns_a_refusal_into_the_admins_language() {
		$order  = $this->order( array(), sprintf( 'wp-msg-%04d', self::$next++ ) );
		$client = Refunder_Client::configured();
		$paid   = Refunder_Payments::summary( $order, $client );
		$body   = array( 'amount' => array( 'value' => 999999, 'currency' => 'NOK' ), 'reason' => 'x', 'actor' => array( 'id' => '1', 'name' => 'admin' ) );
		$error  = $this->as_norwegian_admin( fn() => $client->call( 'POST', '/v1/payments/' . $paid['id'] . '/refunds', $body, array( 'Idempotency-Key' => wp_generate_uuid4() ) ) );
		$this->assertSame( 'exceeds_refundable', $error->get_error_code() );
		$this->assertSame( 422, $error->get_error_data()['status'] );
		$this->assertSame( 150000, $error->get_error_data()['problem']['params']['refundable']['value'] );
		$this->assertStringStartsWith( 'Du kan refundere høyst 1 500,00', self::plain( $error->get_error_message() ) );
		$this->assertSame( 422, Refunder_Client::status( $error ) );
	}

	/** admin-ajax answers a refusal with its own status (422), not 502; outages stay 502/503/504. */
	public function test_a_refusal_is_answered_with_its_own_status() {
		$order = $this->order( array(), sprintf( 'wp-msg-%04d', self::$next++ ) );
		list( , $review ) = $this->ajax( 'refunder_review', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'mode' => 'full', 'reason' => 'Closed' ) );
		$paid = Refunder_Payments::summary( $order, Refunder_Client::configured() );
		$body = array( 'amount' => array( 'value' => 100, 'currency' => 'NOK' ), 'reason' => 'elsewhere', 'actor' => array( 'id' => '1', 'name' => 'admin' ) );
		Refunder_Client::configured()->call( 'POST', '/v1/payments/' . $paid['id'] . '/refunds', $body, array( 'Idempotency-Key' => wp_generate_uuid4() ) );
		list( $status, $json ) = $this->ajax( 'refunder_confirm', array( 'order_id' => $order->get_id(), 'nonce' => $this->nonce( $order ), 'token' => $review['data']['token'] ) );
		$this->assertSame( 422, $status, wp_json_encode( $json ) );
		$this->assertStringStartsWith( 'At most ' . Refunder_Money::text( 149900, 'NOK', 2 ) . ' can be refunded: ', $json['data']['message'] );
		$this->assertSame( 502, Refunder_Client::status( new WP_Error( 'signature_invalid', 'x', array( 'status' => 401 ) ) ) );
		$this->assertSame( 504, Refunder_Client::status( new WP_Error( 'provider_unreachable', 'x', array( 'status' => 504 ) ) ) );
		$this->assertSame( 503, Refunder_Client::status( new WP_Error( 'refunder_not_configured', 'x' ) ) );
	}
}
