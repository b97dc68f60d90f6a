<?php
/** The plugin signs exactly like the sidecar verifies (shared vectors), and reads money without floats. */
class SignerAndMoneyTest extends Refunder_TestCase {

	private static function vectors(): array {
		return json_decode( file_get_contents( dirname( __DIR__, 2 ) . '/vectors/signature.json' ), true );
	}

	public function test_signature_vectors() {
		$doc = self::vectors();
		foreach ( $doc['vectors'] as $v ) {
			$this->assertSame( $v['string_to_sign'], Refunder_Signer::string_to_sign( $v['method'], $v['target'], $v['timestamp'], $v['nonce'], $v['content_type'], $v['idempotency_key'], $v['body'] ), $v['name'] );
			$this->assertSame( $v['signature'], Refunder_Signer::sign( $doc['secret'], $v['method'], $v['target'], $v['timestamp'], $v['nonce'], $v['content_type'], $v['idempotency_key'], $v['body'] ), $v['name'] );
		}
	}

	public function test_tampered_vectors_do_not_match() {
		$doc     = self::vectors();
		$checked = array();
		foreach ( $doc['rejections'] as $r ) {
			if ( 'signature_invalid' !== $r['error'] || 0 !== strpos( $r['signature'], 'v2=' ) || 'short' === $r['nonce'] ) {
				continue;
			}
			$this->assertNotSame( $r['signature'], Refunder_Signer::sign( $doc['secret'], $r['method'], $r['target'], $r['timestamp'], $r['nonce'], $r['content_type'], $r['idempotency_key'], $r['body'] ), $r['name'] );
			$checked[] = $r['name'];
		}
		$this->assertContains( 'Idempotency-Key swapped after signing', $checked );
		$this->assertContains( 'Content-Type changed after signing', $checked );
	}

	public function test_headers_carry_a_fresh_nonce_each_time() {
		$a = Refunder_Signer::headers( 'secret', 'GET', '/v1/ping', '', array(), 1763812800 );
		$b = Refunder_Signer::headers( 'secret', 'GET', '/v1/ping', '', array(), 1763812800 );
		$this->assertMatchesRegularExpression( '/^[A-Za-z0-9_-]{16,64}$/', $a['X-Refunder-Nonce'] );
		$this->assertNotSame( $a['X-Refunder-Nonce'], $b['X-Refunder-Nonce'] );
		$this->assertSame( '1763812800', $a['X-Refunder-Timestamp'] );
	}

	/** What the client puts on the wire: v2, over the Content-Type and Idempotency-Key it really sends. */
	public function test_the_client_signs_the_idempotency_key_it_sends() {
		$sent = null;
		add_filter(
			'pre_http_request',
			function ( $pre, $args, $url ) use ( &$sent ) {
				$sent = $args + array( 'url' => $url );
				return array( 'headers' => array(), 'body' => '{"id":"rf_1"}', 'response' => array( 'code' => 201, 'message' => 'Created' ), 'cookies' => array(), 'filename' => null );
			},
			10,
			3
		);
		$client = new Refunder_Client( 'http://sidecar.invalid', 'client-test-secret-0123456789-abcdef' );
		$client->call( 'POST', '/v1/payments/pay_1/refunds', array( 'amount' => array( 'value' => 100, 'currency' => 'NOK' ) ), array( 'Idempotency-Key' => 'review-key-1' ) );
		$h = $sent['headers'];
		$this->assertSame( 'review-key-1', $h['Idempotency-Key'] );
		$this->assertSame( 'application/json', $h['Content-Type'] );
		$text     = implode( "\n", array( 'v2', 'POST', '/v1/payments/pay_1/refunds', $h['X-Refunder-Timestamp'], $h['X-Refunder-Nonce'], 'application/json', 'review-key-1', hash( 'sha256', $sent['body'] ) ) );
		$expected = 'v2=' . hash_hmac( 'sha256', $text, 'client-test-secret-0123456789-abcdef' );
		$this->assertSame( $expected, $h['X-Refunder-Signature'] );
	}

	/** @dataProvider amounts */
	public function test_to_minor_with_the_digits_the_service_gave( $text, $exponent, $minor ) {
		$this->assertSame( $minor, Refunder_Money::to_minor( $text, $exponent ) );
	}

	public function amounts() {
		return array(
			array( '250', 2, 25000 ), array( '250,50', 2, 25050 ), array( '1 234.5', 2, 123450 ), array( '0.01', 2, 1 ),
			array( '1500', 0, 1500 ), array( '1.234', 3, 1234 ), array( '1,2345', 4, 12345 ), array( '10.00', 0, 10 ),
			array( '10.001', 2, null ), array( '1.5', 0, null ), array( '-5', 2, null ), array( 'abc', 2, null ),
			array( '', 2, null ), array( '1e3', 2, null ),
		);
	}

	public function test_stored_amounts_round_half_up_and_shares_add_up() {
		$this->assertSame( 6000, Refunder_Money::round_to_minor( '59.999999', 2 ) );
		$this->assertSame( 1250, Refunder_Money::round_to_minor( 12.5, 2 ) );
		$this->assertSame( 1, Refunder_Money::round_to_minor( '0.005', 2 ) );
		$this->assertSame( -1250, Refunder_Money::round_to_minor( '-12.5', 2 ) );
		$this->assertSame( 1501, Refunder_Money::round_to_minor( '1500.50', 0 ) );
		$this->assertSame( 12346, Refunder_Money::round_to_minor( '1.23456', 4 ) );
		$this->assertSame( 3333, Refunder_Money::share( 10000, 1, 3 ) );
		$this->assertSame( 6667, Refunder_Money::share( 10000, 2, 3 ) );
		$this->assertSame( 10000, Refunder_Money::share( 10000, 3, 3 ) );
	}

	public function test_to_decimal_and_text() {
		$this->assertSame( '1234.50', Refunder_Money::to_decimal( 123450, 2 ) );
		$this->assertSame( '0.05', Refunder_Money::to_decimal( 5, 2 ) );
		$this->assertSame( '1500', Refunder_Money::to_decimal( 1500, 0 ) );
		$this->assertSame( '1.0001', Refunder_Money::to_decimal( 10001, 4 ) );
		$this->assertStringNotContainsString( '&', Refunder_Money::text( 123450, 'NOK', 2 ) );
	}

	public function test_woocommerces_amounts_go_to_the_service_as_woocommerce_wrote_them() {
		$this->assertSame( array( 'decimal' => '1500', 'currency' => 'JPY' ), Refunder_Money::decimal( '1500', 'JPY' ) );
		$this->assertSame( array( 'decimal' => '12.5', 'currency' => 'NOK' ), Refunder_Money::decimal( 12.5, 'NOK' ) );
		$this->assertSame( array( 'decimal' => '12.3456', 'currency' => 'CLF' ), Refunder_Money::decimal( '12.3456', 'CLF' ) );
	}
}
